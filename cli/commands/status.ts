// overlay-boot status [NAME]: what systemd reports about a subhost (state,
// since, main PID, tasks, memory, CPU), its config and the addresses
// inside; without NAME every subhost, as `list` shows them (list.ts).
import { readdirSync } from 'node:fs';
import { parseArgs } from '../../lib/args.js';
import { UsageError, EXIT_NOT_RUNNING } from '../../lib/errors.js';
import { connectSystemd, subhostProps, listSubhostUnits, RUNNING_STATES } from '../support/dbus.js';
import { configOf } from '../support/conf.js';
import { checkName } from '../support/subhost.js';
import { statusFrom, addressesOf, renderTable, renderOne, type SubhostStatus } from '../support/status.js';
import { readSubhostsConf, confName } from '../../lib/registry.js';
import { RUNTIME_REGISTRY } from '../../lib/paths.js';
import { NameSchema } from '../../lib/config/fields.js';
import type { SystemdManager } from '../../lib/systemd.js';

export const FIELDS = `Fields (--json: an object per subhost): name, unit, load, state
(ActiveState), subState, result, since (ISO 8601, when it entered its
state), mainPid (its PID 1 as the host sees it), tasks, memory (bytes),
cpuNsec, config, configFrom, addresses ([{ifname, family, address}],
loopback left out). Counters are null when unknown (no accounting), else
numbers (decimal strings above 2^53).
`;

export const usage = `Usage: overlay-boot status [--json] [NAME]

Shows subhost NAME as systemd sees it; without NAME, every subhost (as list).
${FIELDS}Exit status: 0 if NAME is running (active), 3 if not; 2 bad usage.
`;

export async function collect(sm: SystemdManager, name: string): Promise<SubhostStatus> {
  const { unit, service } = await subhostProps(sm, name);
  const env = Array.isArray(service.Environment) ? (service.Environment as unknown[]).map(String) : [];
  const running = RUNNING_STATES.includes(String(unit.ActiveState));
  return statusFrom(name, unit, service, configOf(name, env), running ? await addressesOf(name, sm.bus) : []);
}

/** Every subhost known: loaded units, /etc/subhosts.conf, the /run registry. */
async function allNames(sm: SystemdManager): Promise<string[]> {
  const names = new Set((await listSubhostUnits(sm)).map((u) => u.name));
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
  // Only what can be a unit instance (a stray file in the registry cannot break the list).
  return [...names].filter((n) => NameSchema.safeParse(n).success).sort();
}

export async function showAll(sm: SystemdManager, json: boolean): Promise<void> {
  const rows: SubhostStatus[] = [];
  for (const n of await allNames(sm)) rows.push(await collect(sm, n));
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
  const sm = await connectSystemd();
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
