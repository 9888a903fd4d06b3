// The commands' D-Bus client: the subhost units as the commands see them
// through systemd's D-Bus API (on top of lib/systemd.ts): state and
// properties, listing, jobs, attaching processes, and the journal tail
// shown when a job fails.
// Never pgrep/ps: systemd knows every subhost's main PID and cgroup.
import {
  systemd,
  systemBusAddress,
  type SystemdManager,
  type JobResult,
  withTimeout,
  UNIT_IFACE,
  SERVICE_IFACE,
} from '../../lib/systemd.js';
import { Failure, errorText } from '../../lib/errors.js';
import { terminalText } from './format.js';

export const subhostUnit = (name: string): string => `subhost@${name}.service`;
export const netnsUnit = (name: string): string => `subhost-netns@${name}.service`;

/** NAME of a subhost@NAME.service unit name, or undefined. */
export function nameOfUnit(unit: string): string | undefined {
  return /^subhost@(.+)\.service$/.exec(unit)?.[1];
}

/** Active states in which a subhost has (or is getting, or still has) a main process. */
export const RUNNING_STATES = ['active', 'activating', 'deactivating', 'reloading'];

/** The system bus; a failure becomes one clear line. `jobs: false` for commands that only read (status, list). */
export async function connectSystemd(opts: { jobs?: boolean } = {}): Promise<SystemdManager> {
  try {
    return await systemd(opts);
  } catch (e) {
    throw new Failure(`cannot talk to systemd on the system bus (${systemBusAddress()}): ${errorText(e)}`);
  }
}

export interface UnitProps {
  path: string;
  unit: Record<string, unknown>;
  service: Record<string, unknown>;
}

/** The Unit and Service properties of subhost@NAME.service (loaded if needed: LoadUnit works for inactive units). */
export async function subhostProps(sm: SystemdManager, name: string): Promise<UnitProps> {
  const path = await sm.unitPath(subhostUnit(name));
  const [unit, service] = await Promise.all([sm.getAll(path, UNIT_IFACE), sm.getAll(path, SERVICE_IFACE)]);
  return { path, unit, service };
}

export async function activeState(sm: SystemdManager, unit: string): Promise<string> {
  return String(await sm.unitProperty(unit, UNIT_IFACE, 'ActiveState'));
}

export interface ListedUnit {
  name: string;
  unit: string;
  /** Its D-Bus object path. */
  path: string;
  load: string;
  active: string;
  sub: string;
}

/** subhost@*.service units systemd has loaded, in the given active states (none given: all). */
export async function listSubhostUnits(sm: SystemdManager, states: string[] = []): Promise<ListedUnit[]> {
  const [units] = await sm.callManager('ListUnitsByPatterns', 'asas', [states, ['subhost@*.service']]);
  return listedUnits(units);
}

/**
 * The subhost units named, loaded first if they are not (systemd's
 * ListUnitsByNames, one call for all; an inactive unit is listed too).
 */
export async function unitsByNames(sm: SystemdManager, units: string[]): Promise<ListedUnit[]> {
  if (units.length === 0) return [];
  const [listed] = await sm.callManager('ListUnitsByNames', 'as', [units]);
  return listedUnits(listed);
}

/** ListUnits* replies, a(ssssssouso), as subhost units by name. */
function listedUnits(units: unknown): ListedUnit[] {
  const out: ListedUnit[] = [];
  for (const u of units as unknown[][]) {
    const unit = String(u[0]);
    const name = nameOfUnit(unit);
    if (name) out.push({ name, unit, path: String(u[6]), load: String(u[2]), active: String(u[3]), sub: String(u[4]) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Waits for the job queued for `unit`, if there is one (e.g. the netns unit stopping after its subhost). */
export async function waitPendingJob(sm: SystemdManager, unit: string, timeoutMs = 30_000): Promise<JobResult | undefined> {
  const job = (await sm.unitProperty(unit, UNIT_IFACE, 'Job')) as [number, string] | undefined;
  if (!job || job[1] === '/') return undefined;
  try {
    return await sm.waitJob(job[1], timeoutMs);
  } catch (e) {
    // The job finished between the two calls and its JobRemoved went by
    // before anyone asked: it is done either way.
    if (((await sm.unitProperty(unit, UNIT_IFACE, 'Job')) as [number, string])[1] === '/') return 'done';
    throw e;
  }
}

/**
 * Moves processes into the cgroup of a running unit (systemd >= 238). systemd
 * allows it only for units with Delegate=yes.
 */
export async function attachProcesses(sm: SystemdManager, unit: string, pids: number[]): Promise<void> {
  await sm.callManager('AttachProcessesToUnit', 'ssau', [unit, '/', pids]);
}

/**
 * The last journal lines of a unit (its own output and systemd's messages
 * about it), at most `lines`, only those logged at or after `sinceMs` when
 * given. Best effort: a user who may not read the journal gets journalctl's
 * own hint.
 */
export async function journalTail(unit: string, lines = 20, sinceMs?: number): Promise<string[]> {
  const args = ['-u', unit, '-n', String(lines), '--no-pager', '-o', 'cat', '-q'];
  if (sinceMs !== undefined) args.push(`--since=@${(sinceMs / 1000).toFixed(3)}`);
  // Loaded here, on a failure's path: status and list never need execa.
  const { execa } = await import('execa');
  const r = await execa('journalctl', args, { reject: false, timeout: 10_000, stdin: 'ignore' });
  // The subhost's own output: escaped before it reaches a terminal.
  return `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(terminalText);
}

/**
 * The explanation of a failed job: the units' Result and their journal
 * lines since `sinceMs`. `dependency` means the netns unit failed.
 */
export async function explainFailure(sm: SystemdManager, name: string, sinceMs: number): Promise<string> {
  const results: [string, string][] = [];
  for (const unit of [netnsUnit(name), subhostUnit(name)]) {
    let result = 'unknown';
    try {
      result = String(await sm.unitProperty(unit, SERVICE_IFACE, 'Result'));
    } catch {
      /* unit gone */
    }
    results.push([unit, result]);
  }
  // The units that failed (the netns unit for a "dependency" job result),
  // else the subhost's own (a timeout or a canceled job).
  let show = results.filter(([, r]) => r !== 'success');
  if (show.length === 0) show = results.slice(1);
  const parts: string[] = [];
  for (const [unit, result] of show) {
    const log = await withTimeout(journalTail(unit, 20, sinceMs), 15_000, `journalctl -u ${unit}`).catch(() => []);
    parts.push(`${unit}: result ${result}${log.length ? `; its journal:\n${log.map((l) => `  ${l}`).join('\n')}` : ''}`);
  }
  return parts.join('\n');
}
