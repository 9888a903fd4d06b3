// The command-side operations on one subhost shared by several commands:
// which subhost an argument means (NAME or CONF), validating its config,
// starting and stopping it through systemd jobs.
import { lstatSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { loadConfig, type LoadResult } from '../../lib/config/load.js';
import { formatProblem, reportLines } from '../../lib/config/problem.js';
import { NameSchema } from '../../lib/config/fields.js';
import { checkName } from './check-name.js';
import { confName } from '../../lib/registry.js';
import { SUBHOSTS_CONF } from '../../lib/paths.js';
import { type SystemdManager, SERVICE_IFACE, UNIT_IFACE } from '../../lib/systemd.js';
import { Failure, isPolkitDenial, refusal, EXIT_NOPERM } from '../../lib/errors.js';
import { configOf, registerForBoot, sameFile, type ConfOf } from './conf.js';
import { ensureSettings } from './fence.js';
import { processAlive } from './start-report.js';
import { keepPlansForStart } from './plans.js';
import { subhostUnit, netnsUnit, subhostProps, waitPendingJob, explainFailure, activeState, RUNNING_STATES } from './dbus.js';

// Where the other commands have always found it.
export { checkName };

/**
 * Whether a command argument names a config file rather than a subhost:
 * it has a "/" or ends in .conf (as 1.6's `overlay-stop tiny.conf`), or it
 * is an existing file in the current directory.
 */
export function looksLikeConf(arg: string): boolean {
  if (arg.includes('/') || arg.endsWith('.conf')) return true;
  try {
    return statSync(arg).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of a CONF argument; it must exist. */
export function confPath(arg: string): string {
  const p = resolve(arg);
  // lstat: a dangling or looping symlink is there, and loading it says why it is refused.
  try {
    lstatSync(p);
  } catch {
    throw new Failure(`${arg}: no such config file`);
  }
  return p;
}

/** NAME of a NAME-or-CONF argument without running anything (a CONF's NAME= line, else its file name less .conf). */
export function nameFromArg(arg: string): string {
  if (!looksLikeConf(arg)) return checkName(arg);
  try {
    return checkName(confName(arg));
  } catch (e) {
    if (e instanceof Failure) throw e;
    // A config that is gone: its file name is still the subhost's NAME (as in 1.6).
    return checkName(basename(arg).replace(/\.conf$/, ''));
  }
}

/** The unit's Environment= entries (the generator's drop-in sets OVERLAY_BOOT_CONF there). */
export async function unitEnvironment(sm: SystemdManager, name: string): Promise<string[]> {
  const env = await sm.unitProperty(subhostUnit(name), SERVICE_IFACE, 'Environment');
  return Array.isArray(env) ? env.map(String) : [];
}

/**
 * Loads a config as check does (no `!cmd` is run) and writes its warnings
 * (`warning: ...`) and problems (one line each) to stderr. Returns the
 * result and its NAME; throws when there are problems.
 */
export async function validateConf(conf: string, what: string): Promise<{ r: LoadResult; name: string }> {
  const r = await loadConfig(conf);
  const literal = r.resolved.NAME?.value;
  const name = r.partial.NAME ?? (literal !== undefined && NameSchema.safeParse(literal).success ? literal : undefined);
  // A file refused before it was read (a FIFO, a device, not root's...): one line.
  if (r.problems.length === 1 && r.warnings.length === 0) {
    throw new Failure(`not ${what}${name ? ` ${name}` : ''}: ${formatProblem(r.problems[0]!)}`);
  }
  for (const line of reportLines(r.file, r.problems, r.warnings)) process.stderr.write(`${line}\n`);
  if (r.problems.length) {
    const n = r.problems.length;
    throw new Failure(`not ${what}${name ? ` ${name}` : ''}: ${r.file} has ${n} problem${n > 1 ? 's' : ''} (above)`);
  }
  if (!name) throw new Failure(`${r.file}: no valid NAME`);
  return { r, name };
}

export interface StartTarget {
  name: string;
  conf: string;
  /** How the unit will find the config. */
  found: ConfOf;
  /** Set when this call registered the config for this boot. */
  registeredAt?: string;
  /** START entries whose results the default init script logs; undefined: not known (a custom INIT, a !command). */
  reportedStart?: string[];
}

/** The START entries the default init script will report on, when the config uses it and START is known. */
function reportedStart(r: LoadResult): string[] | undefined {
  const c = r.partial;
  if (!c.START || !c.INIT || !('builtin' in c.INIT)) return undefined;
  return c.START;
}

/**
 * Finds the config of a NAME-or-CONF argument, validates it, and for a
 * CONF that systemd would not find, registers it for this boot (the
 * /run/overlay-boot/registry/NAME.conf symlink; no daemon-reload needed).
 */
export async function prepareStart(sm: SystemdManager, arg: string): Promise<StartTarget> {
  if (!looksLikeConf(arg)) {
    const name = checkName(arg);
    const found = configOf(name, await unitEnvironment(sm, name));
    if (!found) {
      throw new Failure(
        `no config for subhost ${name}: none listed in ${SUBHOSTS_CONF} has NAME ${name}, and none is registered for this boot; ` +
          `start it by its config file (overlay-boot start /path/to/${name}.conf) or list it (overlay-boot enable CONF)`,
      );
    }
    const { r } = await validateConf(found.conf, 'starting');
    await ensureSettings(sm, name, r, found.how === 'generator');
    return { name, conf: found.conf, found, reportedStart: reportedStart(r) };
  }
  const conf = confPath(arg);
  const { name, r } = await validateConf(conf, 'starting');
  const found = configOf(name, await unitEnvironment(sm, name));
  if (found && sameFile(found.conf, conf)) {
    await ensureSettings(sm, name, r, found.how === 'generator');
    return { name, conf, found, reportedStart: reportedStart(r) };
  }
  if (found && found.how !== 'registry') {
    throw new Failure(`NAME ${name} is taken: subhost@${name}.service uses ${found.conf} (${found.where}); give ${conf} another NAME=`);
  }
  if (found && RUNNING_STATES.includes(await activeState(sm, subhostUnit(name)))) {
    throw new Failure(`subhost ${name} is running with ${found.conf}; stop it first (overlay-stop ${name})`);
  }
  let link: string;
  try {
    link = registerForBoot(name, conf);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Failure(
      `cannot register ${conf} for this boot (${code ?? (e as Error).message})` +
        (code === 'EACCES' || code === 'EPERM' ? '; run as root, or list it in /etc/subhosts.conf (overlay-boot enable)' : ''),
    );
  }
  await ensureSettings(sm, name, r, false);
  return { name, conf, found: configOf(name, [])!, registeredAt: link, reportedStart: reportedStart(r) };
}

/** systemd's "Interactive authentication required." as the one line saying what to do. */
const denied =
  (what: string) =>
  (e: unknown): never => {
    throw isPolkitDenial(e) ? new Failure(refusal(what), EXIT_NOPERM) : e;
  };

/**
 * StartUnit and wait; the start succeeded only when the unit is active
 * with a live main process (the reaper, after its readiness). On failure,
 * the job result, the units' results and their journal lines. Returns
 * when the start began (for the journal lines of this start) and the main PID.
 */
export async function startUnitOrExplain(sm: SystemdManager, name: string): Promise<{ since: number; pid: number }> {
  // The units then start natively, without the Node.js runtime; should
  // this fail, they compute the plans themselves, as without it.
  await keepPlansForStart(sm, name).catch(() => undefined);
  const since = Date.now();
  const unit = subhostUnit(name);
  // TimeoutStartSec (90 s unless TIMEOUT_START) ends the job before this, unless longer.
  const timeout = await sm.unitProperty(unit, SERVICE_IFACE, 'TimeoutStartUSec').catch(() => undefined);
  const jobMs = typeof timeout === 'bigint' && timeout < 10n ** 12n ? Number(timeout / 1000n) + 60_000 : 24 * 3600_000;
  const result = await sm
    .unitJob('StartUnit', unit, { timeoutMs: Math.max(jobMs, 150_000), interactive: true })
    .catch(denied(`starting subhost ${name}`));
  if (result === 'done') {
    // Three properties, not GetAll of two interfaces (hundreds of values to unmarshal).
    const [active, sub, mainPid] = await Promise.all([
      sm.unitProperty(unit, UNIT_IFACE, 'ActiveState'),
      sm.unitProperty(unit, UNIT_IFACE, 'SubState'),
      sm.unitProperty(unit, SERVICE_IFACE, 'MainPID'),
    ]);
    const pid = Number(mainPid ?? 0);
    if (active === 'active' && sub === 'running' && processAlive(pid)) return { since, pid };
    const why = await explainFailure(sm, name, since);
    throw new Failure(
      `subhost ${name} is not running after its start (${unit}: ${String(active)}/${String(sub)}, main PID ${pid || 'none'})` +
        `${why ? `\n${why}` : ''}`,
    );
  }
  const why = await explainFailure(sm, name, since);
  throw new Failure(`starting ${unit} failed (job result: ${result})${why ? `\n${why}` : ''}`);
}

/** StopUnit and wait, also for the netns unit that stops right after it. */
export async function stopUnitOrExplain(sm: SystemdManager, name: string): Promise<void> {
  const since = Date.now();
  const result = await sm
    .unitJob('StopUnit', subhostUnit(name), { timeoutMs: 60_000, interactive: true })
    .catch(denied(`stopping subhost ${name}`));
  await waitPendingJob(sm, netnsUnit(name)).catch(() => undefined);
  if (result === 'done') return;
  const why = await explainFailure(sm, name, since);
  throw new Failure(`stopping subhost@${name}.service failed (job result: ${result})${why ? `\n${why}` : ''}`);
}

/** The main PID of a running subhost (its PID 1), or a "not running" error. */
export async function runningPid(sm: SystemdManager, name: string): Promise<number> {
  const { unit, service } = await subhostProps(sm, name);
  const state = String(unit.ActiveState);
  const pid = Number(service.MainPID ?? 0);
  if (state !== 'active' || pid <= 0) {
    throw new Failure(`${name} is not running${state === 'activating' ? ' yet (still starting)' : ''}`);
  }
  return pid;
}
