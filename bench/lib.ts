// Helpers of the benchmark (bench/bench.ts): clocks, statistics, polling,
// unit properties, PSS of a cgroup, and how busy the rest of the machine is.
//
// Clock: process.hrtime.bigint() is CLOCK_MONOTONIC (libuv), and so are
// systemd's *TimestampMonotonic properties; the sandbox has no time
// namespace, so both can be subtracted from each other directly.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Sandbox } from '../test/sandbox/sandbox.js';
import { hostCgroup2Mount, CGROUP_PREFIX } from '../test/sandbox/cgroup.js';

/** CLOCK_MONOTONIC in milliseconds (float). */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A systemd *TimestampMonotonic (µs, uint64 as BigInt or number) in ms; undefined when unset (0). */
export const usToMs = (v: unknown): number | undefined => {
  const n = Number(v ?? 0);
  return n > 0 ? n / 1000 : undefined;
};

export interface Stat {
  n: number;
  min: number;
  median: number;
  max: number;
}

export function stat(xs: number[]): Stat {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, min: NaN, median: NaN, max: NaN };
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { n: s.length, min: s[0]!, median, max: s[s.length - 1]! };
}

// ---------------------------------------------------------------- units

const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
export const UNIT_IFACE = 'org.freedesktop.systemd1.Unit';
export const SERVICE_IFACE = 'org.freedesktop.systemd1.Service';

const paths = new Map<string, string>();
async function unitPath(sb: Sandbox, unit: string): Promise<string> {
  let p = paths.get(unit);
  if (!p) {
    p = await sb.systemd.unitPath(unit);
    paths.set(unit, p);
  }
  return p;
}

/** All properties of one interface of a unit (one D-Bus round trip once the path is known). */
export async function unitProps(sb: Sandbox, unit: string, iface: string): Promise<Record<string, unknown>> {
  const [dict] = await sb.systemd.call(await unitPath(sb, unit), PROPS_IFACE, 'GetAll', 's', [iface]);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dict as Record<string, { value: unknown }>)) out[k] = v.value;
  return out;
}

const refs = new Set<string>();
/**
 * Unit.Ref: keeps the unit loaded while this connection lives. An inactive
 * unit nothing else references is unloaded at once, and its timestamps
 * (InactiveEnterTimestamp...) with it.
 */
export async function refUnit(sb: Sandbox, unit: string): Promise<void> {
  if (refs.has(unit)) return;
  await sb.systemd.call(await unitPath(sb, unit), UNIT_IFACE, 'Ref');
  refs.add(unit);
}

/**
 * Unit.Unref: lets systemd unload the units again. Every Ref costs systemd
 * one D-Bus match rule (it tracks the referencing client per unit), and so
 * does every job a client waits for; dbus-daemon allows systemd's connection
 * 512 (its limit of match rules per connection) and systemd drops off the bus when it
 * cannot add one. So only main units are referenced (a unit they BindsTo=
 * stays loaded with them), and each test drops its references when done.
 */
export async function unrefUnits(sb: Sandbox, units: string[]): Promise<void> {
  for (const u of units) {
    if (!refs.delete(u)) continue;
    await sb.systemd.call(await unitPath(sb, u), UNIT_IFACE, 'Unref');
  }
}

export async function activeState(sb: Sandbox, unit: string): Promise<string> {
  return String(await sb.systemd.getProperty(await unitPath(sb, unit), UNIT_IFACE, 'ActiveState'));
}

/** Waits (polling every 2 ms) until the unit is inactive or failed; returns systemd's InactiveEnterTimestamp (ms). */
export async function waitInactive(sb: Sandbox, unit: string, timeoutMs = 60_000): Promise<{ state: string; at?: number }> {
  const end = nowMs() + timeoutMs;
  for (;;) {
    const s = await activeState(sb, unit);
    if (s === 'inactive' || s === 'failed') {
      const p = await unitProps(sb, unit, UNIT_IFACE);
      return { state: s, at: usToMs(p.InactiveEnterTimestampMonotonic) };
    }
    if (nowMs() > end) throw new Error(`${unit} still ${s} after ${timeoutMs} ms`);
    await sleep(2);
  }
}

// ---------------------------------------------------------------- memory

export interface ProcMem {
  pid: number;
  comm: string;
  pssKiB: number;
  rssKiB: number;
}

/** Host PIDs of every process in a cgroup dir (host path) and below it. */
export function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids = readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) pids.push(...cgroupPids(`${dir}/${e.name}`));
  }
  return pids;
}

/** PSS and RSS (kB, from /proc/PID/smaps_rollup) of one process; undefined if it is gone. */
export function procMem(pid: number): ProcMem | undefined {
  try {
    const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(roll)?.[1] ?? 0);
    return { pid, comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), pssKiB: kb('Pss'), rssKiB: kb('Rss') };
  } catch {
    return undefined;
  }
}

export function cgroupMem(dir: string): ProcMem[] {
  return cgroupPids(dir)
    .map(procMem)
    .filter((m): m is ProcMem => m !== undefined);
}

/** Sum per process name (comm). */
export function byComm(procs: ProcMem[]): Map<string, { count: number; pssKiB: number; rssKiB: number }> {
  const m = new Map<string, { count: number; pssKiB: number; rssKiB: number }>();
  for (const p of procs) {
    const e = m.get(p.comm) ?? { count: 0, pssKiB: 0, rssKiB: 0 };
    e.count++;
    e.pssKiB += p.pssKiB;
    e.rssKiB += p.rssKiB;
    m.set(p.comm, e);
  }
  return m;
}

/**
 * CPU time (ms, cgroup v2 cpu.stat usage_usec) of the sandbox's cgroups that
 * work on the instances' behalf: systemd (init.scope), each service and each
 * slice of template instances under system.slice (summed over the slice),
 * subhost.slice,
 * and the whole sandbox. ROOT: host path of the sandbox's /sys/fs/cgroup.
 */
export function cgroupCpu(root: string): Record<string, number> {
  const usage = (dir: string): number | undefined => {
    try {
      const m = /^usage_usec (\d+)$/m.exec(readFileSync(`${dir}/cpu.stat`, 'utf8'));
      return m ? Number(m[1]) / 1000 : undefined;
    } catch {
      return undefined;
    }
  };
  const out: Record<string, number> = {};
  const add = (label: string, dir: string) => {
    const u = usage(dir);
    if (u !== undefined) out[label] = u;
  };
  add('the whole sandbox', root);
  add('systemd (PID 1, init.scope)', `${root}/init.scope`);
  add('system.slice (all services, stopped ones too)', `${root}/system.slice`);
  // subhost@ instances run in a slice of their own (units/subhost.slice).
  add('subhost.slice', `${root}/subhost.slice`);
  try {
    for (const e of readdirSync(`${root}/system.slice`, { withFileTypes: true })) {
      if (e.isDirectory()) add(e.name, `${root}/system.slice/${e.name}`);
    }
  } catch {
    /* no system.slice */
  }
  return out;
}

/** B minus A per key (keys of B), dropping what did not change. */
export function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) {
    const d = v - (a[k] ?? 0);
    if (d > 0.05) out[k] = d;
  }
  return out;
}

/** /proc/meminfo fields in kB (host-wide). */
export function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(l);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

// ---------------------------------------------------------------- noise

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface CpuSnap {
  t: number;
  busyUs: number;
  sandboxUs: number;
  selfUs: number;
}

/**
 * Watches how much CPU the rest of the machine uses: all busy CPU time
 * (/proc/stat) less the sandbox's cgroup (everything the benchmark runs
 * inside it) less this process. What remains is other people's work
 * (their test runs), the noise of these figures.
 */
export class CpuWatch {
  private constructor(
    private readonly sandboxCg: string,
    readonly cgroupRoot: string,
  ) {}

  static async create(sb: Sandbox): Promise<CpuWatch> {
    const root = await hostCgroup2Mount();
    const line = readFileSync(`/proc/${sb.pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))!;
    const top = line.slice(3).split('/').filter(Boolean)[0]!;
    return new CpuWatch(`${root}/${top}`, root);
  }

  snap(): CpuSnap {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    const usage = /usage_usec (\d+)/.exec(readFileSync(`${this.sandboxCg}/cpu.stat`, 'utf8'))?.[1];
    const u = process.cpuUsage();
    return { t: nowMs(), busyUs: (busy * 1e6) / CLK_TCK, sandboxUs: Number(usage ?? 0), selfUs: u.user + u.system };
  }

  /** Average number of cores busy with others' work between two snapshots. */
  static others(a: CpuSnap, b: CpuSnap): number {
    const wallUs = (b.t - a.t) * 1000;
    if (wallUs <= 0) return 0;
    const o = b.busyUs - a.busyUs - (b.sandboxUs - a.sandboxUs) - (b.selfUs - a.selfUs);
    return Math.max(0, o / wallUs);
  }

  /** Average number of cores busy with the benchmark (its sandbox and itself). */
  static ours(a: CpuSnap, b: CpuSnap): number {
    const wallUs = (b.t - a.t) * 1000;
    return wallUs > 0 ? (b.sandboxUs - a.sandboxUs + b.selfUs - a.selfUs) / wallUs : 0;
  }

  /** Other sandboxes (other people's test runs) on this machine right now. */
  otherSandboxes(): number {
    const mine = this.sandboxCg.split('/').pop();
    return readdirSync(this.cgroupRoot).filter(
      (d) => d.startsWith(CGROUP_PREFIX) && d !== mine && statSync(`${this.cgroupRoot}/${d}`).isDirectory(),
    ).length;
  }
}

export const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
