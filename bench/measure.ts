// The measurements: start (StartUnit to JobRemoved), stop (StopUnit to
// nothing left), resident memory of idle instances.
import { existsSync } from 'node:fs';
import type { Sandbox } from '../test/sandbox/sandbox.js';
import type { Tool } from './tools.js';
import {
  nowMs,
  sleep,
  usToMs,
  unitProps,
  waitInactive,
  refUnit,
  cgroupMem,
  byComm,
  cgroupPids,
  procMem,
  UNIT_IFACE,
  SERVICE_IFACE,
  type ProcMem,
} from './lib.js';

export interface StartSample {
  name: string;
  /** StartUnit call to JobRemoved (result done) received. */
  ms: number;
  /** StartUnit call to systemd's ActiveEnterTimestamp of the unit. */
  activeMs: number;
  /** CPU time charged to the unit(s) by the time it is active (CPUUsageNSec). */
  cpuMs: number;
  /** Phases (ms), see phaseNames. */
  phases: Record<string, number>;
  /** The unit's cgroup (inside path), for memory and the stop conditions. */
  cgroup: string;
}

export interface StopSample {
  name: string;
  /** StopUnit call to the last of the conditions below becoming true. */
  ms: number;
  /** StopUnit call to JobRemoved of the stop job. */
  jobMs: number;
  /** When (ms after StopUnit) each condition became true. */
  conds: Record<string, number>;
  /** The condition that became true last. */
  last: string;
}

export interface ManyResult<T> {
  /** From the first call to the last instance done. */
  wallMs: number;
  samples: T[];
}

/** Host-side path of a path inside the sandbox (no absolute symlinks on these paths). */
const hp = (sb: Sandbox, p: string): string => `${sb.root}${p}`;

/**
 * At most this many StartUnit/StopUnit calls await their reply at once:
 * dbus-daemon refuses more than 128 pending replies per connection (its
 * default limit). systemd replies as soon as it has queued the
 * job, so the calls still go out back to back and all jobs run together.
 */
const MAX_PENDING_CALLS = 64;

/**
 * One job per unit (StartUnit or StopUnit, mode replace), all issued
 * together; resolves with each job's result and when its JobRemoved came
 * (also passed to onDone as it comes).
 */
async function jobsAtOnce(
  sb: Sandbox,
  member: 'StartUnit' | 'StopUnit',
  units: string[],
  onDone?: (i: number, t: number) => void,
): Promise<Array<{ r: string; t: number }>> {
  let next = 0;
  let failed: unknown;
  const waits: Array<Promise<{ r: string; t: number }>> = [];
  const issue = async (): Promise<void> => {
    while (next < units.length && failed === undefined) {
      const i = next++;
      try {
        const [job] = await sb.systemd.callManager(member, 'ss', [units[i]!, 'replace']);
        waits[i] = sb.systemd.waitJob(job as string).then((r) => {
          const t = nowMs();
          onDone?.(i, t);
          return { r, t };
        });
        waits[i]!.catch(() => undefined); // handled below; not an unhandled rejection meanwhile
      } catch (e) {
        failed ??= new Error(`${member} ${units[i]} (call ${i + 1} of ${units.length}): ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PENDING_CALLS, units.length) }, issue));
  if (failed !== undefined) throw failed;
  return Promise.all(waits);
}

/** Starts the instances at once; throws (with the journal) if any job is not done or a veth is missing. */
export async function startMany(sb: Sandbox, tool: Tool, names: string[], onAllDone?: () => void): Promise<ManyResult<StartSample>> {
  const t0 = nowMs();
  const jobs = await jobsAtOnce(sb, 'StartUnit', names.map(tool.unit));
  // Before the many property reads below, which keep systemd busy too.
  onAllDone?.();
  const wallMs = Math.max(...jobs.map((j) => j.t)) - t0;
  const bad = names.filter((_, i) => jobs[i]!.r !== 'done');
  if (bad.length) {
    const n = bad[0]!;
    const logs = await Promise.all(tool.units(n).map((u) => sb.journal(u, 30)));
    throw new Error(
      `${tool.label}: start of ${bad.length} instance(s) failed (${bad.join(' ')}): ${jobs[names.indexOf(n)]!.r}\n${logs.join('\n')}`,
    );
  }
  const samples: StartSample[] = [];
  for (const [i, n] of names.entries()) samples.push(await startSample(sb, tool, n, t0, jobs[i]!.t));
  return { wallMs, samples };
}

/**
 * One instance's start, from systemd's unit timestamps: T0 is when the start
 * was asked for (StartUnit, or the command's start), DONE when it was seen
 * done (JobRemoved, or the command's exit). FROM names T0 in the phases.
 */
export async function startSample(sb: Sandbox, tool: Tool, n: string, t0: number, done: number, from = 'StartUnit'): Promise<StartSample> {
  // The main unit only: see unrefUnits().
  await refUnit(sb, tool.unit(n));
  const main = await unitProps(sb, tool.unit(n), UNIT_IFACE);
  const mainSvc = await unitProps(sb, tool.unit(n), SERVICE_IFACE);
  const rel = (v: unknown) => (usToMs(v) ?? NaN) - t0;
  let cpuNs = Number(mainSvc.CPUUsageNSec ?? 0);
  const phases: Record<string, number> = {};
  if (tool.key === 'ob') {
    const netns = await unitProps(sb, tool.units(n)[1]!, UNIT_IFACE);
    const netnsSvc = await unitProps(sb, tool.units(n)[1]!, SERVICE_IFACE);
    cpuNs += Number(netnsSvc.CPUUsageNSec ?? 0);
    phases[`${from} → netns unit activating`] = rel(netns.InactiveExitTimestampMonotonic);
    phases['netns unit: ExecStart run (fork to exit)'] =
      (usToMs(netnsSvc.ExecMainExitTimestampMonotonic) ?? NaN) - (usToMs(netnsSvc.ExecMainStartTimestampMonotonic) ?? NaN);
    phases['netns unit active → subhost unit activating'] =
      (usToMs(main.InactiveExitTimestampMonotonic) ?? NaN) - (usToMs(netns.ActiveEnterTimestampMonotonic) ?? NaN);
    phases['subhost unit: ExecStart until active'] =
      (usToMs(main.ActiveEnterTimestampMonotonic) ?? NaN) - (usToMs(main.InactiveExitTimestampMonotonic) ?? NaN);
  } else {
    phases[`${from} → unit activating`] = rel(main.InactiveExitTimestampMonotonic);
    phases['nspawn until READY=1 (active)'] =
      (usToMs(main.ActiveEnterTimestampMonotonic) ?? NaN) - (usToMs(main.InactiveExitTimestampMonotonic) ?? NaN);
  }
  phases[from === 'StartUnit' ? 'active → JobRemoved received' : `active → ${from.replace(/ start$/, '')} exited`] =
    done - (usToMs(main.ActiveEnterTimestampMonotonic) ?? NaN);
  const vethOk = existsSync(hp(sb, `/sys/class/net/${tool.veth(n)}`));
  if (!vethOk) throw new Error(`${tool.label} ${n}: active, but host veth ${tool.veth(n)} is missing`);
  return {
    name: n,
    ms: done - t0,
    activeMs: rel(main.ActiveEnterTimestampMonotonic),
    cpuMs: cpuNs / 1e6,
    phases,
    cgroup: String(mainSvc.ControlGroup ?? ''),
  };
}

/** CLOCK_REALTIME minus CLOCK_MONOTONIC (ms), to place bash's $EPOCHREALTIME on the monotonic clock. */
export const realMinusMono = (): number => performance.timeOrigin + performance.now() - nowMs();

/** The installed command, as an admin types it (/usr/sbin/overlay-boot, a link to its bundle). */
export const CLI = '/usr/sbin/overlay-boot';

export interface CommandStart {
  sample: StartSample;
  /** `overlay-boot --help` timed just before, in the same shell: the command's own start-up (Node.js, its bundle). */
  helpMs: number;
}

/**
 * `overlay-boot CONF` for a config never started (not registered, no plan),
 * timed inside the sandbox with bash's $EPOCHREALTIME until the command
 * returns; right before it, `overlay-boot --help` (the same bundle loaded,
 * usage printed, exit). Then the units' timestamps show where the time went.
 */
export async function startByCommand(sb: Sandbox, tool: Tool, name: string, conf: string): Promise<CommandStart> {
  const script = `s=$EPOCHREALTIME; "$1" --help >/dev/null; e=$EPOCHREALTIME; echo "help $s $e"
s=$EPOCHREALTIME; "$1" "$2" >&2; rc=$?; e=$EPOCHREALTIME; echo "start $s $e $rc"`;
  const off = realMinusMono();
  const r = await sb.run(['bash', '-c', script, 'bench', CLI, conf]);
  const get = (k: string) =>
    r.stdout
      .split('\n')
      .find((l) => l.startsWith(`${k} `))
      ?.split(' ') ?? [];
  const [, hs, he] = get('help');
  const [, s, e, rc] = get('start');
  if (rc !== '0') throw new Error(`${CLI} ${conf}: exit status ${rc ?? '?'}\n${r.stderr}`);
  const mono = (x: string | undefined) => Number(x) * 1000 - off;
  const sample = await startSample(sb, tool, name, mono(s), mono(e), 'command start');
  return { sample, helpMs: (Number(he) - Number(hs)) * 1000 };
}

/**
 * Commands timed inside the sandbox, RUNS times each in turn (bash
 * $EPOCHREALTIME around each, output discarded as a terminal would show
 * it). A command that fails is an error: a timing of an error message
 * would mean nothing.
 */
export async function timeCommands(sb: Sandbox, cmds: Record<string, string[]>, runs: number): Promise<Record<string, number[]>> {
  const keys = Object.keys(cmds);
  const body = keys
    .map((k, i) => {
      const argv = cmds[k]!.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
      return `s=$EPOCHREALTIME; ${argv} >/dev/null 2>/tmp/bench-cmd.err || { echo "fail ${i} $?"; cat /tmp/bench-cmd.err >&2; exit 1; }; e=$EPOCHREALTIME; echo "${i} $s $e"`;
    })
    .join('\n');
  const r = await sb.run(['bash', '-c', `for i in $(seq "$1"); do\n${body}\ndone`, 'bench', String(runs)]);
  if (r.exitCode !== 0) {
    const f = /^fail (\d+) (\d+)/m.exec(r.stdout);
    throw new Error(
      `timed command ${f ? cmds[keys[Number(f[1])]!]!.join(' ') : '?'} failed (exit status ${f?.[2] ?? r.exitCode}): ${r.stderr}`,
    );
  }
  const out: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, [] as number[]]));
  for (const l of r.stdout.split('\n').filter(Boolean)) {
    const [i, s, e] = l.split(' ');
    out[keys[Number(i)]!]!.push((Number(e) - Number(s)) * 1000);
  }
  return out;
}

/**
 * Stops the instances at once and waits until nothing is left of any of
 * them: the stop job done (JobRemoved), every unit inactive (systemd's
 * InactiveEnterTimestamp; for overlay-boot the netns unit too), the host
 * veth gone, the named netns gone (overlay-boot), the unit's cgroup gone.
 * File conditions are polled every 2 ms from this process (no process is
 * started for it): each is timed at the first poll that sees it true.
 */
export async function stopMany(
  sb: Sandbox,
  tool: Tool,
  items: Array<{ name: string; cgroup: string }>,
  onAllDone?: () => void,
): Promise<ManyResult<StopSample>> {
  type Cond = { i: number; what: string; path: string; at?: number };
  const conds: Cond[] = [];
  items.forEach(({ name, cgroup }, i) => {
    conds.push({ i, what: 'host veth gone', path: hp(sb, `/sys/class/net/${tool.veth(name)}`) });
    if (tool.netnsFile) conds.push({ i, what: 'netns gone (/run/netns/NAME)', path: hp(sb, tool.netnsFile(name)) });
    if (cgroup) conds.push({ i, what: 'unit cgroup gone', path: hp(sb, `/sys/fs/cgroup${cgroup}`) });
  });
  for (const c of conds) {
    if (!existsSync(c.path)) throw new Error(`before stop: ${c.path} does not exist`);
  }
  const t0 = nowMs();
  const jobTimes: Array<number | undefined> = items.map(() => undefined);
  const jobs = jobsAtOnce(
    sb,
    'StopUnit',
    items.map(({ name }) => tool.unit(name)),
    (i, t) => {
      jobTimes[i] = t;
    },
  ).then((js) => js.map((j) => j.r));
  let jobsFailed: unknown;
  jobs.catch((e: unknown) => {
    jobsFailed = e;
  });
  for (;;) {
    const t = nowMs();
    for (const c of conds) if (c.at === undefined && !existsSync(c.path)) c.at = t;
    if (jobsFailed !== undefined) throw jobsFailed;
    if (jobTimes.every((x) => x !== undefined) && conds.every((c) => c.at !== undefined)) {
      onAllDone?.();
      break;
    }
    if (t - t0 > 120_000)
      throw new Error(
        `${tool.label}: not stopped after 120 s: ${conds
          .filter((c) => c.at === undefined)
          .map((c) => c.path)
          .join(' ')}`,
      );
    await sleep(2);
  }
  const results = await jobs;
  const samples: StopSample[] = [];
  for (const [i, { name }] of items.entries()) {
    if (results[i] !== 'done') throw new Error(`${tool.label} ${name}: stop job ${results[i]}`);
    const c: Record<string, number> = { 'stop job done (JobRemoved)': jobTimes[i]! - t0 };
    for (const u of tool.units(name)) {
      const w = await waitInactive(sb, u);
      if (w.state !== 'inactive') throw new Error(`${u} ended ${w.state}:\n${await sb.journal(u, 20)}`);
      c[u.startsWith('subhost-netns@') ? 'netns unit inactive' : 'unit inactive'] = (w.at ?? NaN) - t0;
    }
    for (const k of conds.filter((x) => x.i === i)) c[k.what] = k.at! - t0;
    const [last, ms] = Object.entries(c).reduce((a, b) => (b[1] > a[1] ? b : a));
    samples.push({ name, ms, jobMs: jobTimes[i]! - t0, conds: c, last });
  }
  return { wallMs: Math.max(...samples.map((s) => s.ms)), samples };
}

export interface MemSample {
  /** Total PSS (KiB) of every process in the unit cgroups measured. */
  pssKiB: number;
  rssKiB: number;
  procs: number;
  /** Per process name: count, PSS, RSS (KiB). */
  byComm: Record<string, { count: number; pssKiB: number; rssKiB: number }>;
  /** Processes that appeared elsewhere in the sandbox since the baseline (on the instances' behalf). */
  outside: Record<string, { count: number; pssKiB: number; rssKiB: number }>;
}

/** Host path of the sandbox's cgroup root (its /sys/fs/cgroup). */
const cgRoot = (sb: Sandbox) => hp(sb, '/sys/fs/cgroup');

/** PIDs of every process in the sandbox (its cgroup tree), for the "outside" baseline. */
export function sandboxPids(sb: Sandbox): Set<number> {
  return new Set(cgroupPids(cgRoot(sb)));
}

/** PSS of everything in the given unit cgroups, and of new processes outside them. */
export async function memOf(
  sb: Sandbox,
  tool: Tool,
  items: Array<{ name: string; cgroup: string }>,
  baseline: Set<number>,
): Promise<MemSample> {
  const procs: ProcMem[] = [];
  const inUnits = new Set<number>();
  for (const { cgroup } of items) {
    for (const m of cgroupMem(hp(sb, `/sys/fs/cgroup${cgroup}`))) {
      procs.push(m);
      inUnits.add(m.pid);
    }
  }
  // Also the other units of the instance (overlay-boot's netns unit: a
  // oneshot with RemainAfterExit, no process expected).
  for (const { name } of items) {
    for (const u of tool.units(name).slice(1)) {
      const cg = String((await unitProps(sb, u, SERVICE_IFACE)).ControlGroup ?? '');
      if (!cg) continue;
      for (const m of cgroupMem(hp(sb, `/sys/fs/cgroup${cg}`))) {
        procs.push(m);
        inUnits.add(m.pid);
      }
    }
  }
  const outside = [...sandboxPids(sb)]
    .filter((p) => !baseline.has(p) && !inUnits.has(p))
    .map(procMem)
    .filter((m): m is ProcMem => m !== undefined);
  return {
    pssKiB: procs.reduce((a, p) => a + p.pssKiB, 0),
    rssKiB: procs.reduce((a, p) => a + p.rssKiB, 0),
    procs: procs.length,
    byComm: Object.fromEntries(byComm(procs)),
    outside: Object.fromEntries(byComm(outside)),
  };
}

/** RSS (KiB) of the sandbox's own system processes (systemd, journald, dbus-daemon): what they hold grows with the units they track. */
export function systemRss(sb: Sandbox): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [label, cg] of [
    ['systemd (PID 1)', '/init.scope'],
    ['systemd-journald', '/system.slice/systemd-journald.service'],
    ['dbus-daemon', '/system.slice/dbus.service'],
  ] as const) {
    out[label] = cgroupMem(hp(sb, `/sys/fs/cgroup${cg}`)).reduce((a, p) => a + p.rssKiB, 0);
  }
  return out;
}

/** The journal of some units, from monotonic time `sinceMs` on (short-monotonic lines). */
export async function journalSince(sb: Sandbox, units: string[], sinceMs: number, lines = 80): Promise<string[]> {
  const r = await sb.run(['journalctl', '--no-pager', '-o', 'short-monotonic', '-n', String(lines), ...units.flatMap((u) => ['-u', u])]);
  return r.stdout.split('\n').filter((l) => {
    const m = /^\[\s*(\d+\.\d+)\]/.exec(l);
    return m !== null && Number(m[1]) * 1000 >= sinceMs - 1;
  });
}

/** System calls counted by straceCounts(), grouped as RESULTS.md shows them. */
export const COUNTED: Array<[string, string[]]> = [
  ['programs run (execve)', ['execve']],
  ['processes and threads made (clone, clone3, vfork, fork)', ['clone', 'clone3', 'vfork', 'fork']],
  ['namespace entries (setns)', ['setns']],
  ['socket connects (connect: D-Bus and others)', ['connect']],
  ['writes (write, writev, sendmsg: D-Bus messages among them)', ['write', 'writev', 'sendmsg']],
  ['files opened (openat)', ['openat']],
];

export interface StraceCount {
  /** Wall time under strace (strace slows system calls: only the counts are the point). */
  ms: number;
  /** Calls per group of COUNTED. */
  calls: Record<string, number>;
}

/**
 * One run of ARGV inside the sandbox under `strace -f -c`: how many programs,
 * processes, namespace entries, connects, writes and opened files the
 * command costs (what a command's time at scale is spent on, counted).
 */
export async function straceCounts(sb: Sandbox, argv: string[]): Promise<StraceCount> {
  const syscalls = COUNTED.flatMap(([, s]) => s).join(',');
  const script = `f=$(mktemp); s=$EPOCHREALTIME; strace -f -qq -c -o "$f" -e trace=${syscalls} "$@" >/dev/null 2>&1; rc=$?; e=$EPOCHREALTIME
echo "t $s $e $rc"; cat "$f"; rm -f "$f"`;
  const r = await sb.run(['bash', '-c', script, 'bench', ...argv]);
  const [, s, e, rc] =
    r.stdout
      .split('\n')
      .find((l) => l.startsWith('t '))
      ?.split(' ') ?? [];
  if (rc !== '0') throw new Error(`${argv.join(' ')} under strace: exit status ${rc ?? '?'}: ${r.stderr}`);
  const per: Record<string, number> = {};
  for (const l of r.stdout.split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length >= 5 && /^\d+$/.test(f[3]!) && /^[a-z_0-9]+$/.test(f.at(-1)!) && f.at(-1) !== 'total') per[f.at(-1)!] = Number(f[3]);
  }
  const calls = Object.fromEntries(COUNTED.map(([k, names]) => [k, names.reduce((a, n) => a + (per[n] ?? 0), 0)]));
  return { ms: (Number(e) - Number(s)) * 1000, calls };
}
