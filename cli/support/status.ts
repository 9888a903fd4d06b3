// `overlay-boot status` and `list`: one record per subhost made of what
// systemd reports (unit and service properties over D-Bus), its config
// and the addresses inside its network namespace; shown as a table or as
// JSON with the same fields.
import { execa } from 'execa';
import dbus from 'dbus-next';
import type { MessageBus } from 'dbus-next';
import { u64, usecToIso, formatBytes, formatNsec, formatTime, renderColumns } from './format.js';
import { subhostUnit, RUNNING_STATES } from './dbus.js';
import type { ConfOf } from '../../lib/registry.js';

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
}

/** The timestamp systemctl shows for a state: when it was entered. */
function sinceOf(unit: Record<string, unknown>): string | null {
  const key: Record<string, string> = {
    active: 'ActiveEnterTimestamp',
    reloading: 'ActiveEnterTimestamp',
    inactive: 'InactiveEnterTimestamp',
    failed: 'InactiveEnterTimestamp',
    activating: 'InactiveExitTimestamp',
    deactivating: 'ActiveExitTimestamp',
  };
  const k = key[String(unit.ActiveState)] ?? 'StateChangeTimestamp';
  return usecToIso(unit[k]) ?? usecToIso(unit.StateChangeTimestamp);
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

/** `ip -j addr` output (an array of links with addr_info) -> addresses, loopback left out. */
export function parseIpAddr(json: string): Address[] {
  let links: unknown;
  try {
    links = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  const out: Address[] = [];
  for (const l of links as { ifname?: string; flags?: string[]; addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[]) {
    if (!l.ifname || l.flags?.includes('LOOPBACK')) continue;
    for (const a of l.addr_info ?? []) {
      if (a.local) out.push({ ifname: l.ifname, family: a.family ?? '', address: `${a.local}/${a.prefixlen}` });
    }
  }
  return out;
}

/**
 * Addresses inside the subhost's network namespace /run/netns/NAME (ip -n
 * NAME), [] if none or no netns. Entering it needs root: for anyone else,
 * what systemd-machined tells every user about the machine NAME (its
 * addresses without interface names and prefix lengths), when it has it.
 */
export async function addressesOf(name: string, bus?: MessageBus): Promise<Address[]> {
  const r = await execa('ip', ['-j', '-n', name, 'addr', 'show'], { reject: false, timeout: 5000, stdin: 'ignore' });
  if (r.exitCode === 0) return parseIpAddr(String(r.stdout));
  return bus && process.geteuid?.() !== 0 ? machineAddresses(bus, name) : [];
}

/** org.freedesktop.machine1 GetMachineAddresses: a(iay), family and raw bytes; [] without machined or machine. */
export async function machineAddresses(bus: MessageBus, name: string): Promise<Address[]> {
  const msg = new dbus.Message({
    destination: 'org.freedesktop.machine1',
    path: '/org/freedesktop/machine1',
    interface: 'org.freedesktop.machine1.Manager',
    member: 'GetMachineAddresses',
    signature: 's',
    body: [name],
    // Never start machined just to be told it knows nothing.
    flags: dbus.MessageFlag.NO_AUTO_START,
  });
  try {
    const reply = await bus.call(msg);
    const list = (reply?.body?.[0] ?? []) as Array<[number, Buffer | number[]]>;
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

const addressText = (a: Address): string => (a.ifname ? `${a.ifname} ${a.address}` : a.address);

function stateText(s: SubhostStatus): string {
  if (s.load !== 'loaded' && s.load !== '') return s.load;
  return s.subState && s.subState !== s.state ? `${s.state} (${s.subState})` : s.state;
}

/** `overlay-boot list`: one row per subhost. */
export function renderTable(rows: SubhostStatus[]): string {
  return renderColumns(
    ['NAME', 'STATE', 'SINCE', 'PID', 'TASKS', 'MEMORY', 'CPU', 'CONFIG', 'ADDRESSES'],
    rows.map((s) => [
      s.name,
      stateText(s),
      formatTime(s.since),
      s.mainPid === null ? '-' : String(s.mainPid),
      s.tasks === null ? '-' : String(s.tasks),
      formatBytes(s.memory),
      formatNsec(s.cpuNsec),
      s.config ?? '-',
      s.addresses.map(addressText).join(', ') || '-',
    ]),
  );
}

/** `overlay-boot status NAME`: the same fields, one per line. */
export function renderOne(s: SubhostStatus): string {
  const rows: [string, string][] = [
    ['Name', s.name],
    ['Unit', s.unit],
    ['State', `${stateText(s)}${s.result && s.result !== 'success' ? `, result ${s.result}` : ''}`],
    ['Since', formatTime(s.since)],
    ['Main PID', s.mainPid === null ? '-' : `${s.mainPid} (the subhost's PID 1)`],
    ['Tasks', s.tasks === null ? '-' : String(s.tasks)],
    ['Memory', formatBytes(s.memory)],
    ['CPU', formatNsec(s.cpuNsec)],
    ['Config', s.config ? `${s.config}  (from ${s.configFrom})` : '- (not registered)'],
    ['Addresses', s.addresses.map(addressText).join(', ') || '-'],
  ];
  const w = Math.max(...rows.map(([k]) => k.length)) + 1;
  return `${rows.map(([k, v]) => `${`${k}:`.padEnd(w)} ${v}`).join('\n')}\n`;
}
