// overlay-boot status [NAME]: what systemd reports about a subhost (state,
// since, main PID, tasks, memory, CPU), its config and the addresses
// inside; without NAME every subhost, as `list` shows them (list.ts).
import { existsSync, readdirSync } from 'node:fs';
import { adoptedRecord } from '../../lib/legacy16.js';
import { parseArgs } from '../../lib/args.js';
import { UsageError, EXIT_NOT_RUNNING } from '../../lib/errors.js';
import { connectSystemd, listSubhostUnits, RUNNING_STATES, type ListedUnit } from '../support/dbus.js';
import { configOf } from '../support/conf.js';
import { checkName } from '../support/check-name.js';
import { statusFrom, addressesOfMany, unitRecords, renderTable, renderOne, isRunning, type SubhostStatus } from '../support/status.js';
import { readSubhostsConf, confName } from '../../lib/registry.js';
import { RUNTIME_REGISTRY } from '../../lib/paths.js';
import { nameProblem } from '../../lib/config/name.js';
import { locksOf } from '../../lib/storage/owner.js';
import type { SystemdManager } from '../../lib/systemd.js';
import { loadConfig } from '../../lib/config/load.js';
import { rangeText, recordedRange } from '../../lib/idrange.js';

export const FIELDS = `Fields (--json: an object per subhost): name, unit, load, state
(ActiveState), subState, result, since (ISO 8601, when it entered its
state), mainPid (its PID 1 as the host sees it), tasks, memory (bytes),
cpuNsec, config, configFrom, addresses ([{ifname, family, address}],
loopback left out); with NAME also containment (the config's CONTAINMENT)
and ids (the recorded host id range BASE-LAST of CONTAINMENT=private-users,
null if none), locks ([{role, dir, lock}]: its UPPER, WORK and LIVE,
locked while it starts and runs). Counters are null when unknown (no accounting), else
numbers (decimal strings above 2^53).
adopted16: true while a subhost that overlay-boot 1.6 started runs adopted.
`;

export const usage = `Usage: overlay-boot status [--json] [NAME]

Shows subhost NAME as systemd sees it; without NAME, every subhost (as list).
${FIELDS}Exit status: 0 if NAME is running (active), 3 if not; 2 bad usage.
`;

/**
 * The records of `names` (sorted as given): batched D-Bus calls for the
 * units (unitRecords), the addresses of the running ones in one helper
 * process (addressesOfMany), read while D-Bus answers.
 */
export async function collectMany(sm: SystemdManager, names: string[], listed?: Map<string, ListedUnit>): Promise<SubhostStatus[]> {
  // Started with the D-Bus calls: a name listed as not running is not asked.
  const maybeRunning = names.filter((n) => !listed || RUNNING_STATES.includes(listed.get(n)?.active ?? 'unknown'));
  const [records, addresses] = await Promise.all([unitRecords(sm, names, listed), addressesOfMany(maybeRunning, sm)]);
  return names.map((n) => {
    const { unit, service } = records.get(n)!;
    const env = Array.isArray(service.Environment) ? (service.Environment as unknown[]).map(String) : [];
    const running = RUNNING_STATES.includes(String(unit.ActiveState));
    const s = statusFrom(n, unit, service, configOf(n, env), running ? (addresses.get(n) ?? []) : []);
    if (running && existsSync(adoptedRecord(n))) s.adopted16 = true;
    return s;
  });
}

/** One subhost, with its containment level and recorded host id range. */
export async function collect(sm: SystemdManager, name: string): Promise<SubhostStatus> {
  const s = (await collectMany(sm, [name]))[0]!;
  let containment: string | null = null;
  if (s.config) {
    try {
      containment = (await loadConfig(s.config, { checkFs: false })).partial.CONTAINMENT ?? null;
    } catch {
      /* unreadable: check says why */
    }
  }
  const range = recordedRange(name);
  const locks = locksOf(name).map(({ role, dir, lock }) => ({ role, dir, lock }));
  return { ...s, containment, ids: range ? rangeText(range) : null, locks };
}

/**
 * Subhosts known but not loaded in systemd: those of /etc/subhosts.conf
 * (each config read for its NAME) and of the /run registry.
 */
function unloadedNames(listed: Map<string, ListedUnit>): string[] {
  const names = new Set<string>();
  for (const l of readSubhostsConf()) {
    try {
      names.add(confName(l.path));
    } catch {
      /* unreadable config: the generator reports it */
    }
  }
  try {
    for (const f of readdirSync(RUNTIME_REGISTRY)) if (f.endsWith('.conf') && !f.startsWith('.')) names.add(f.slice(0, -5));
  } catch {
    /* nothing registered this boot */
  }
  return [...names].filter((n) => !listed.has(n) && valid(n));
}

// Only what can be a unit instance (a stray file in the registry cannot break the list).
const valid = (n: string) => nameProblem(n) === undefined;
const byName = (a: SubhostStatus, b: SubhostStatus) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Every subhost known: loaded units (running, or with a config), /etc/subhosts.conf, the /run registry. */
export async function showAll(sm: SystemdManager, json: boolean): Promise<void> {
  const listed = new Map((await listSubhostUnits(sm)).map((u) => [u.name, u]));
  const loaded = collectMany(sm, [...listed.keys()].filter(valid), listed);
  loaded.catch(() => {}); // awaited below; not "unhandled" while the configs are read
  // The calls for the loaded units go out first; the configs are read
  // (synchronously) while systemd and subhost-addrs answer.
  await new Promise((r) => setImmediate(r));
  const others = unloadedNames(listed);
  // A unit left failed or inactive by a start of a NAME that has no
  // config (a mistyped name) is no subhost: shown only while it runs.
  const rows = [...(await loaded).filter((s) => s.config !== null || isRunning(s)), ...(await collectMany(sm, others))].sort(byName);
  process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : rows.length ? renderTable(rows) : 'no subhosts\n');
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: ['--json'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length > 1) throw new UsageError('status takes at most one NAME');
  const json = a.flags.has('--json');
  const name = a.positionals[0] === undefined ? undefined : checkName(a.positionals[0]);
  const sm = await connectSystemd({ jobs: false });
  try {
    if (name === undefined) {
      await showAll(sm, json);
      return 0;
    }
    const s = await collect(sm, name);
    process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : renderOne(s));
    return s.state === 'active' || s.state === 'reloading' ? 0 : EXIT_NOT_RUNNING;
  } finally {
    sm.close();
  }
}
