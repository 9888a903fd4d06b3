// Where the start time goes: commands timed alone, and single starts with
// the units' own ExecStart= run under strace (drop-ins in /run that
// prefix the installed ExecStart= line; runtime/ and units/ untouched).
import { utimesSync } from 'node:fs';
import type { Sandbox } from '../test/sandbox/sandbox.js';
import { LIBDIR } from '../test/e2e/kit.js';
import type { Tool } from './tools.js';
import { nowMs, usToMs, unitProps, UNIT_IFACE, SERVICE_IFACE } from './lib.js';
import { stopMany, journalSince } from './measure.js';

/** Commands timed alone inside the sandbox (bash $EPOCHREALTIME around each, no extra process). */
export const MICRO: Array<[string, string]> = [
  ['`node -e 0`', 'node -e 0'],
  [
    '`overlay-boot-runtime.cjs` without arguments: Node.js start-up + loading the runtime bundle, then a usage error',
    `${LIBDIR}/overlay-boot-runtime.cjs`,
  ],
  ['`sh -c true`', 'sh -c true'],
  ['`ip link show lo`: one ip(8) run', 'ip link show lo'],
];

export async function microStartup(sb: Sandbox, runs: number): Promise<Record<string, number[]>> {
  const body = MICRO.map(([, cmd], i) => `s=$EPOCHREALTIME; ${cmd} >/dev/null 2>&1; e=$EPOCHREALTIME; echo "${i} $s $e"`).join('\n');
  const r = await sb.run(['bash', '-c', `for i in $(seq "$1"); do\n${body}\ndone`, 'bench', String(runs)]);
  if (r.exitCode !== 0) throw new Error(`micro timings: ${r.stderr}`);
  const out: Record<string, number[]> = Object.fromEntries(MICRO.map(([k]) => [k, [] as number[]]));
  for (const l of r.stdout.split('\n').filter(Boolean)) {
    const [i, s, e] = l.split(' ');
    out[MICRO[Number(i)]![0]]!.push((Number(e) - Number(s)) * 1000);
  }
  return out;
}

// ------------------------------------------------------------------ strace

export interface Proc {
  pid: number;
  ppid: number;
  depth: number;
  /** Programs exec'd, in order ("" for a fork that did not exec). */
  argv: string[];
  /** ms after StartUnit */
  start: number;
  exec?: number;
  end?: number;
}

export interface SlowCall {
  who: string;
  /** ms after StartUnit */
  t: number;
  call: string;
  durMs: number;
}

export interface StraceSummary {
  unit: string;
  procs: Proc[];
  slow: SlowCall[];
  /** ms after StartUnit: the Node.js runtime exec'd, and its bundle opened, if it ran. */
  nodeExec?: number;
  bundleOpen?: number;
}

const short = (s: string, n = 90) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A process by its last program (basename and arguments), or "fork of PARENT" when it exec'd nothing. */
export function procName(procs: Map<number, Proc> | Proc[], pid: number, n = 60): string {
  const get = (x: number) => (Array.isArray(procs) ? procs.find((p) => p.pid === x) : procs.get(x));
  const p = get(pid);
  if (!p) return '?';
  const a = p.argv.at(-1);
  if (a)
    return short(
      a
        .split(' ')
        .map((w, i) => (i === 0 ? w.split('/').pop()! : w))
        .join(' '),
      n,
    );
  return `fork of ${p.ppid ? procName(procs, p.ppid, n) : '?'}`;
}

/** Parses `strace -f -T --timestamps=unix,us` output; times in ms relative to t0 (monotonic ms). */
export function parseStrace(unit: string, text: string, realMinusMono: number, t0: number): StraceSummary {
  const rel = (unix: string) => Number(unix) * 1000 - realMinusMono - t0;
  const procs = new Map<number, Proc>();
  const threadOf = new Map<number, number>(); // tid -> pid of its process
  const pending = new Map<number, { t: number; text: string }>();
  const calls: Array<{ pid: number; t: number; call: string; text: string; dur: number }> = [];
  const s: StraceSummary = { unit, procs: [], slow: [] };
  const owner = (tid: number) => threadOf.get(tid) ?? tid;
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const tid = Number(m[1]);
    let t = rel(m[2]!);
    let rest = m[3]!;
    if (rest.endsWith('<unfinished ...>')) {
      pending.set(tid, { t, text: rest.slice(0, -'<unfinished ...>'.length) });
      continue;
    }
    const res = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (res) {
      const p = pending.get(tid);
      pending.delete(tid);
      if (p) {
        t = p.t;
        rest = p.text + res[2]!;
      } else rest = `${res[1]}(${res[2]}`;
    }
    const pid = owner(tid);
    if (procs.size === 0 && rest.startsWith('execve(')) procs.set(pid, { pid, ppid: 0, depth: 0, argv: [], start: t });
    const proc = procs.get(pid);
    if (rest.startsWith('+++ ')) {
      if (proc && tid === pid) proc.end ??= t;
      continue;
    }
    if (rest.startsWith('--- SIGCHLD')) {
      const c = procs.get(Number(/si_pid=(\d+)/.exec(rest)?.[1]));
      if (c) c.end ??= t;
      continue;
    }
    const call = /^(\w+)\(/.exec(rest)?.[1];
    if (!call) continue;
    const ret = /\)\s+=\s+(-?\d+|\?)/.exec(rest)?.[1];
    const dur = Number(/<(\d+\.\d+)>$/.exec(rest)?.[1] ?? NaN) * 1000;
    if (['clone', 'clone3', 'fork', 'vfork'].includes(call) && ret && Number(ret) > 0) {
      const child = Number(ret);
      if (/CLONE_THREAD/.test(rest)) threadOf.set(child, pid);
      else if (proc) procs.set(child, { pid: child, ppid: pid, depth: proc.depth + 1, argv: [], start: t });
    }
    if (call === 'execve' && proc) {
      const a = /^execve\("([^"]*)", \[(.*?)\]/.exec(rest);
      const argv = a
        ? a[2]!
            .split(/", "/)
            .map((x) => x.replace(/^"|"$/g, ''))
            .join(' ')
            .replace(/"?\.\.\.$/, '…')
        : '?';
      if (!rest.includes('= -1')) {
        proc.argv.push(argv);
        proc.exec ??= t;
        if (/overlay-boot-runtime\.cjs/.test(a?.[1] ?? argv)) s.nodeExec ??= t;
      }
    }
    if (call === 'wait4' && ret && Number(ret) > 0) {
      const c = procs.get(Number(ret));
      if (c) c.end ??= t;
    }
    if (call === 'openat' && /overlay-boot-runtime\.cjs/.test(rest) && s.nodeExec !== undefined) s.bundleOpen ??= t;
    if (Number.isFinite(dur) && !['wait4', 'exit_group', 'read'].includes(call)) calls.push({ pid, t, call, text: rest, dur });
  }
  // Depth-first, children by start time: each process right below its parent.
  const kids = new Map<number, Proc[]>();
  for (const p of procs.values()) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p]);
  const walk = (ppid: number): Proc[] => (kids.get(ppid) ?? []).sort((a, b) => a.start - b.start).flatMap((p) => [p, ...walk(p.pid)]);
  s.procs = walk(0);
  s.slow = calls
    .sort((a, b) => b.dur - a.dur)
    .slice(0, 12)
    .map((c) => ({ who: procName(procs, c.pid), t: c.t, call: short(c.text.replace(/\s+=\s+[^=]*$/, ''), 110), durMs: c.dur }));
  return s;
}

export interface StraceProfile {
  label: string;
  /** StartUnit to JobRemoved, under strace. */
  startMs: number;
  /** Per unit: activating / ExecStart exited / active, ms after StartUnit. */
  units: Record<string, Record<string, number>>;
  strace: StraceSummary[];
  journal: string[];
}

export interface StraceOptions {
  label: string;
  /** Touch this config (host path) first: every plan made from it becomes stale. */
  touch?: string;
}

/**
 * One start of instance NAME with each of its units' ExecStart= run under
 * strace. The forking and notify units get `-b execve` (strace lets go of a
 * process when it execs something else), or strace would stay attached to
 * the container's processes and never exit.
 */
export async function straceStart(sb: Sandbox, tool: Tool, name: string, o: StraceOptions): Promise<StraceProfile> {
  const dropins: string[] = [];
  const files: Record<string, string> = {};
  for (const u of tool.units(name)) {
    const fragment = String((await unitProps(sb, u, UNIT_IFACE)).FragmentPath ?? '');
    const exec = (await sb.readFile(fragment)).split('\n').find((l) => /^ExecStart=\S/.test(l));
    if (!exec) throw new Error(`no ExecStart= in ${fragment}`);
    const type = String((await unitProps(sb, u, SERVICE_IFACE)).Type ?? '');
    const file = `${sb.dataDir}/profile-${u.replace(/[@.]/g, '-')}.strace`;
    files[u] = file;
    const [, prefix, cmd] = /^ExecStart=([-@:+!]*)(.*)$/.exec(exec)!;
    // -b execve is incompatible with --seccomp-bpf (which spares the untraced system calls a stop).
    const detach = type === 'oneshot' ? ' --seccomp-bpf' : ' -b execve';
    // A notify unit's main process is now strace: nspawn's READY=1 comes from
    // its child, and stop must signal nspawn too (its payload then dies of
    // SIGTERM rather than being stopped by the stub init: exit status 255, or 1
    // when nspawn itself got SIGTERM first).
    const extra = type === 'notify' ? '\nNotifyAccess=all\nKillMode=control-group\nSuccessExitStatus=1 255' : '';
    const path = `/run/systemd/system/${u}.d/90-bench-strace.conf`;
    await sb.writeFile(
      path,
      `[Service]\nExecStart=\nExecStart=${prefix}/usr/bin/strace -f -T -s 256${detach} --timestamps=unix,us ` +
        `-e trace=execve,clone,clone3,vfork,fork,wait4,exit_group,openat,unshare,setns,mount,umount2,pivot_root,sendmsg -o ${file} ${cmd}${extra}\n`,
    );
    dropins.push(path);
  }
  await sb.daemonReload();
  try {
    if (o.touch) {
      const now = new Date();
      utimesSync(o.touch, now, now);
    }
    const realMinusMono = performance.timeOrigin + performance.now() - nowMs();
    const t0 = nowMs();
    const r = await sb.startUnit(tool.unit(name));
    const done = nowMs();
    if (r !== 'done') throw new Error(`straced start: ${r}\n${await sb.journal(tool.unit(name), 30)}`);
    const units: Record<string, Record<string, number>> = {};
    for (const u of tool.units(name)) {
      const p = await unitProps(sb, u, UNIT_IFACE);
      const sv = await unitProps(sb, u, SERVICE_IFACE);
      const rel = (v: unknown) => (usToMs(v) ?? NaN) - t0;
      units[u] = {
        activating: rel(p.InactiveExitTimestampMonotonic),
        'ExecStart exited': rel(sv.ExecMainExitTimestampMonotonic),
        active: rel(p.ActiveEnterTimestampMonotonic),
      };
      if (String(sv.Type) !== 'oneshot') delete units[u]!['ExecStart exited'];
    }
    const cg = String((await unitProps(sb, tool.unit(name), SERVICE_IFACE)).ControlGroup ?? '');
    await stopMany(sb, tool, [{ name, cgroup: cg }]);
    const journal = await journalSince(sb, tool.units(name), t0);
    const strace: StraceSummary[] = [];
    for (const u of tool.units(name)) strace.push(parseStrace(u, await sb.readFile(files[u]!), realMinusMono, t0));
    return { label: o.label, startMs: done - t0, units, strace, journal };
  } finally {
    await sb.run(['rm', '-f', ...dropins, ...Object.values(files)]);
    await sb.daemonReload();
  }
}
