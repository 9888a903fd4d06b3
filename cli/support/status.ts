// `overlay-boot status` and `list`: one record per subhost made of what
// systemd reports (unit and service properties over D-Bus), its config
// and the addresses inside its network namespace (native/subhost-addrs);
// shown as a table or as JSON with the same fields.
import { u64, usecToIso, formatBytes, formatNsec, formatTime, renderColumns, terminalText } from './format.js';
import { subhostUnit, RUNNING_STATES, unitsByNames, type ListedUnit } from './dbus.js';
import { type SystemdManager, UNIT_IFACE, SERVICE_IFACE, DEFAULT_CALL_TIMEOUT_MS, NO_AUTO_START } from '../../lib/systemd.js';
import type { ConfOf } from '../../lib/registry.js';
import { libDir } from '../../lib/paths.js';

export interface Address {
  ifname: string;
  family: 'inet' | 'inet6' | string;
  /** address/prefixlen */
  address: string;
}

export interface SubhostStatus {
  name: string;
  unit: string;
  /** LoadState: loaded, not-found, masked... */
  load: string;
  /** ActiveState: active, inactive, failed, activating, deactivating */
  state: string;
  subState: string;
  /** Started by overlay-boot 1.6 and adopted by the package (runtime/adopt16.ts): runs under 1.6 until it stops. */
  adopted16?: boolean;
  /** The service's Result: success, exit-code, signal, timeout... */
  result: string;
  /** When it entered its present state (ISO 8601), null if never. */
  since: string | null;
  /** The subhost's PID 1 (the reaper) as the host sees it; null when not running. */
  mainPid: number | null;
  /** null when unknown (no accounting); counters are numbers, or decimal strings above 2^53. */
  tasks: number | string | null;
  memory: number | string | null;
  cpuNsec: number | string | null;
  config: string | null;
  /** Where the config was found (generator drop-in, /run registry, /etc/subhosts.conf). */
  configFrom: string | null;
  /** Addresses inside (loopback left out); empty when not running. */
  addresses: Address[];
  /** `status NAME` only: the config's CONTAINMENT (null: no config readable). */
  containment?: string | null;
  /** `status NAME` only: the recorded host id range "BASE-LAST" (null: none recorded). */
  ids?: string | null;
  /** status NAME only: the directories it holds locked (native/lock.c), UPPER, WORK, LIVE. */
  locks?: { role: string; dir: string; lock: string }[];
}

/** The Unit property systemctl shows as the time an ActiveState was entered. */
function sinceKey(activeState: unknown): string {
  const key: Record<string, string> = {
    active: 'ActiveEnterTimestamp',
    reloading: 'ActiveEnterTimestamp',
    inactive: 'InactiveEnterTimestamp',
    failed: 'InactiveEnterTimestamp',
    activating: 'InactiveExitTimestamp',
    deactivating: 'ActiveExitTimestamp',
  };
  return key[String(activeState)] ?? 'StateChangeTimestamp';
}

/** The timestamp systemctl shows for a state: when it was entered. */
function sinceOf(unit: Record<string, unknown>): string | null {
  return usecToIso(unit[sinceKey(unit.ActiveState)]) ?? usecToIso(unit.StateChangeTimestamp);
}

/** The Service properties a record is made of (statusFrom), for every unit. */
const SERVICE_PROPS = ['Result', 'Environment'];
/**
 * And for a unit with processes only: an inactive or failed unit has no
 * main PID and no counters (systemd answers 0 and "unknown", 2^64-1).
 */
const RUNNING_PROPS = ['MainPID', 'TasksCurrent', 'MemoryCurrent', 'CPUUsageNSec'];

/**
 * The properties statusFrom needs of subhost@NAME.service for each of
 * `names`, and no others: a few property reads per unit, many at once
 * (SystemdManager.getProperties), rather than GetAll of two interfaces
 * (hundreds of properties each). States and paths come from `listed`
 * (ListUnitsByPatterns) where the unit is loaded; other units are loaded
 * and listed by ListUnitsByNames.
 */
export async function unitRecords(
  sm: SystemdManager,
  names: string[],
  listed: Map<string, ListedUnit> = new Map(),
): Promise<Map<string, { unit: Record<string, unknown>; service: Record<string, unknown> }>> {
  const value = (v: unknown) => (v instanceof Error ? undefined : v);
  const units = new Map<string, { path: string; unit: Record<string, unknown> }>();
  const unlisted: string[] = [];
  for (const n of names) {
    const l = listed.get(n);
    if (l) units.set(n, { path: l.path, unit: { LoadState: l.load, ActiveState: l.active, SubState: l.sub } });
    else unlisted.push(n);
  }
  if (unlisted.length) {
    // ListUnitsByNames loads them (as LoadUnit does; inactive units too)
    // and says path and state of all in one call.
    for (const u of await unitsByNames(sm, unlisted.map(subhostUnit))) {
      units.set(u.name, { path: u.path, unit: { LoadState: u.load, ActiveState: u.active, SubState: u.sub } });
    }
    const missing = unlisted.find((n) => !units.has(n));
    if (missing) throw new Error(`systemd did not list ${subhostUnit(missing)}`);
  }
  // Per unit: its state's timestamp, then its service properties; a
  // message per property (the bus's cost is per message: no more than needed).
  const asked = names.map((n) => {
    const { path, unit } = units.get(n)!;
    const service = RUNNING_STATES.includes(String(unit.ActiveState)) ? [...SERVICE_PROPS, ...RUNNING_PROPS] : SERVICE_PROPS;
    return { path, unit, service };
  });
  const values = await sm.getProperties(
    asked.flatMap(({ path, unit, service }) => [
      { path, iface: UNIT_IFACE, name: sinceKey(unit.ActiveState) },
      ...service.map((name) => ({ path, iface: SERVICE_IFACE, name })),
    ]),
  );
  const out = new Map<string, { unit: Record<string, unknown>; service: Record<string, unknown> }>();
  let at = 0;
  names.forEach((n, i) => {
    const { unit, service: props } = asked[i]!;
    unit[sinceKey(unit.ActiveState)] = value(values[at++]);
    const service: Record<string, unknown> = {};
    for (const p of props) service[p] = value(values[at++]);
    out.set(n, { unit, service });
  });
  // StateChangeTimestamp only where the state's own timestamp is unset
  // (never entered since boot): sinceOf falls back to it.
  const unset = asked.filter(({ unit }) => !unit[sinceKey(unit.ActiveState)]);
  if (unset.length) {
    const changed = await sm.getProperties(unset.map(({ path }) => ({ path, iface: UNIT_IFACE, name: 'StateChangeTimestamp' })));
    unset.forEach(({ unit }, i) => {
      unit.StateChangeTimestamp = value(changed[i]);
    });
  }
  return out;
}

/** A status record from the properties (pure: unit-tested). */
export function statusFrom(
  name: string,
  unit: Record<string, unknown>,
  service: Record<string, unknown>,
  conf: ConfOf | undefined,
  addresses: Address[],
): SubhostStatus {
  const pid = Number(service.MainPID ?? 0);
  return {
    name,
    unit: subhostUnit(name),
    load: String(unit.LoadState ?? ''),
    state: String(unit.ActiveState ?? ''),
    subState: String(unit.SubState ?? ''),
    result: String(service.Result ?? ''),
    since: sinceOf(unit),
    mainPid: pid > 0 ? pid : null,
    tasks: u64(service.TasksCurrent),
    memory: u64(service.MemoryCurrent),
    cpuNsec: u64(service.CPUUsageNSec),
    config: conf?.conf ?? null,
    configFrom: conf?.where ?? null,
    addresses,
  };
}

export function isRunning(s: SubhostStatus): boolean {
  return RUNNING_STATES.includes(s.state);
}

/** subhost-addrs output (native/subhost-addrs.c) -> addresses per NAME; a NAME it could not read maps to an error text. */
export function parseSubhostAddrs(text: string): Map<string, Address[] | string> {
  const out = new Map<string, Address[] | string>();
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f.length < 2) continue;
    const [name, what] = f as [string, string];
    if (what === 'ok' && f.length === 2) out.set(name, []);
    else if (what === 'error') out.set(name, f.slice(2).join('\t'));
    else if (f.length === 4) {
      const got = out.get(name);
      if (Array.isArray(got)) got.push({ ifname: what, family: f[2]!, address: f[3]! });
    }
  }
  return out;
}

/**
 * Addresses inside the network namespaces /run/netns/NAME of `names`
 * (loopback left out; [] if none or no netns): native/subhost-addrs reads
 * them all in one process. Entering a namespace needs root: for anyone
 * else, what systemd-machined tells every user about the machine NAME
 * (its addresses without interface names and prefix lengths), when it
 * has it.
 */
export async function addressesOfMany(names: string[], sm?: SystemdManager): Promise<Map<string, Address[]>> {
  const out = new Map<string, Address[]>();
  if (names.length === 0) return out;
  const { execa } = await import('execa');
  const r = await execa(`${libDir()}/subhost-addrs`, names, { timeout: 10_000, maxBuffer: 64 << 20, stdin: 'ignore', reject: false });
  const stdout = r.failed ? undefined : r.stdout;
  const read = stdout === undefined ? new Map<string, Address[] | string>() : parseSubhostAddrs(stdout);
  const asMachined = sm && process.geteuid?.() !== 0;
  const ask: string[] = [];
  for (const n of names) {
    const a = read.get(n);
    if (Array.isArray(a)) out.set(n, a);
    else if (asMachined) ask.push(n);
    else out.set(n, []);
  }
  // A few machined calls at a time: the bus refuses more than 128 waiting replies per connection.
  let next = 0;
  const worker = async () => {
    while (next < ask.length) {
      const n = ask[next++]!;
      out.set(n, await machineAddresses(sm!, n));
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, ask.length) }, worker));
  return out;
}

/** org.freedesktop.machine1 GetMachineAddresses: a(iay), family and raw bytes; [] without machined or machine. */
export async function machineAddresses(sm: SystemdManager, name: string): Promise<Address[]> {
  try {
    const [reply] = await sm.call(
      '/org/freedesktop/machine1',
      'org.freedesktop.machine1.Manager',
      'GetMachineAddresses',
      's',
      [name],
      'org.freedesktop.machine1',
      DEFAULT_CALL_TIMEOUT_MS,
      // Never start machined just to be told it knows nothing.
      NO_AUTO_START,
    );
    const list = (reply ?? []) as Array<[number, Buffer | number[]]>;
    return list
      .flatMap(([family, raw]): Address[] => {
        const b = [...raw];
        if (family === 2 && b.length === 4) return [{ ifname: '', family: 'inet', address: b.join('.') }];
        if (family === 10 && b.length === 16) {
          const words = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
          return [{ ifname: '', family: 'inet6', address: words.join(':') }];
        }
        return [];
      })
      .filter((a) => a.address !== '127.0.0.1' && a.address !== '0:0:0:0:0:0:0:1');
  } catch {
    return [];
  }
}

// Interface names and addresses are chosen inside the subhost: escaped.
const addressText = (a: Address): string => terminalText(a.ifname ? `${a.ifname} ${a.address}` : a.address);

function stateText(s: SubhostStatus): string {
  if (s.load !== 'loaded' && s.load !== '') return s.load;
  const state = s.subState && s.subState !== s.state ? `${s.state} (${s.subState})` : s.state;
  return s.adopted16 ? `${state} under overlay-boot 1.6` : state;
}

/** `overlay-boot list`: one row per subhost. */
export function renderTable(rows: SubhostStatus[]): string {
  return renderColumns(
    ['NAME', 'STATE', 'SINCE', 'PID', 'TASKS', 'MEMORY', 'CPU', 'CONFIG', 'ADDRESSES'],
    rows.map((s) => [
      terminalText(s.name),
      stateText(s),
      formatTime(s.since),
      s.mainPid === null ? '-' : String(s.mainPid),
      s.tasks === null ? '-' : String(s.tasks),
      formatBytes(s.memory),
      formatNsec(s.cpuNsec),
      s.config === null ? '-' : terminalText(s.config),
      s.addresses.map(addressText).join(', ') || '-',
    ]),
  );
}

/**
 * Why systemd has no figure (status NAME says it beside the "-"): a
 * subhost that is not running has no processes to count; a running one
 * lacks a counter when its accounting is off (TasksAccounting=,
 * MemoryAccounting=) or the kernel's cgroup controller is
 * not there (in a container, often not delegated).
 */
function missing(s: SubhostStatus, what: 'pid' | 'pids' | 'memory'): string {
  if (!isRunning(s)) return ' (not running)';
  if (what === 'pid') return ' (systemd knows no main process)';
  const key = { pids: 'TasksAccounting', memory: 'MemoryAccounting' }[what];
  return ` (systemd has no figure: ${key}= is off for ${s.unit}, or the cgroup "${what}" controller is not available here)`;
}

/** `overlay-boot status NAME`: the same fields, one per line. */
export function renderOne(s: SubhostStatus): string {
  const rows: [string, string][] = [
    ['Name', terminalText(s.name)],
    ['Unit', s.unit],
    ['State', `${stateText(s)}${s.result && s.result !== 'success' ? `, result ${s.result}` : ''}`],
    ['Since', formatTime(s.since)],
    ['Main PID', s.mainPid === null ? `-${missing(s, 'pid')}` : `${s.mainPid} (the subhost's PID 1)`],
    ['Tasks', s.tasks === null ? `-${missing(s, 'pids')}` : String(s.tasks)],
    ['Memory', s.memory === null ? `-${missing(s, 'memory')}` : formatBytes(s.memory)],
    ['CPU', formatNsec(s.cpuNsec)],
    ['Config', s.config ? terminalText(`${s.config}  (from ${s.configFrom})`) : '- (not registered)'],
    ['Addresses', s.addresses.map(addressText).join(', ') || '-'],
  ];
  if (s.containment !== undefined) rows.push(['Level', s.containment ?? '-']); // CONTAINMENT (short: the labels' column stays as wide)
  if (s.ids !== undefined) rows.push(['Host ids', s.ids ?? '- (none recorded)']);
  if (s.locks) {
    rows.push([
      'Locks',
      s.locks.length
        ? s.locks.map((l) => `${l.role} ${l.dir}`).join(', ') +
          ` (held for the unit by systemd: ${s.locks[0]!.lock.replace(/\/[^/]*$/, '/')})`
        : '-',
    ]);
  }
  const w = Math.max(...rows.map(([k]) => k.length)) + 1;
  return `${rows.map(([k, v]) => `${`${k}:`.padEnd(w)} ${v}`).join('\n')}\n`;
}
