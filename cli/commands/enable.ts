// overlay-boot enable CONF: add a config to /etc/subhosts.conf
// (atomically: comments and other lines kept, no duplicates), then
// daemon-reload so that the generator turns the list into units. Does not
// start anything. Its undo is disable.ts.
import { rmSync } from 'node:fs';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText } from '../../lib/errors.js';
import { connectSystemd, subhostUnit, subhostProps } from '../support/dbus.js';
import { addConfLine, editSubhostsConf, listedName, sameFile } from '../support/conf.js';
import { validateConf, confPath, prepareStart, startUnitOrExplain } from '../support/subhost.js';
import { runtimeDropin } from '../support/fence.js';
import { readSubhostsConf } from '../../lib/registry.js';
import { SUBHOSTS_CONF } from '../../lib/paths.js';
import { notListable, shown } from '../../lib/config/one-line.js';
import type { SystemdManager } from '../../lib/systemd.js';
import { isRoot, runAsRoot } from '../../lib/privilege.js';

export const usage = `Usage: overlay-boot enable CONF

Checks config CONF, adds its absolute path to ${SUBHOSTS_CONF} (unless
listed already) and reloads systemd, which makes subhost@NAME.service
start at boot (as part of subhosts.target). Does not start it now:
overlay-boot start NAME does.
`;

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args);
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length !== 1) throw new UsageError('enable needs one CONF');
  const bad = notListable(a.positionals[0]!);
  if (bad) throw new Failure(`cannot enable ${shown(a.positionals[0]!)}: ${bad}`);
  const conf = confPath(a.positionals[0]!);
  // /etc/subhosts.conf is root's: again through pkexec, or one line saying how.
  if (!isRoot())
    return runAsRoot('org.overlay-boot.enable', `enabling ${a.positionals[0]} (writing /etc/subhosts.conf)`, 'overlay-boot', [
      'enable',
      conf,
    ]);
  const { name } = await validateConf(conf, 'enabling');
  // Connected first: a bus failure then changes nothing.
  const sm = await connectSystemd();
  try {
    await enableConf(sm, conf, name);
    return 0;
  } finally {
    sm.close();
  }
}

/** Lists CONF (a valid config of subhost NAME) in /etc/subhosts.conf and reloads systemd; says what it did. */
export async function enableConf(sm: SystemdManager, conf: string, name: string): Promise<void> {
  const bad = notListable(conf);
  if (bad) throw new Failure(`cannot enable ${shown(conf)}: ${bad}`);
  for (const l of readSubhostsConf()) {
    if (!sameFile(l.path, conf) && listedName(l.path) === name) {
      throw new Failure(`NAME ${name} is already used by ${l.path} (${SUBHOSTS_CONF}:${l.line}); give ${conf} another NAME=`);
    }
  }
  const changed = await editSubhostsConf(sm, (text) => {
    const r = addConfLine(text, conf, (t) => sameFile(t, conf));
    // From now on the generator's drop-in carries the settings: the
    // runtime one of an earlier start by path goes with the same reload.
    if (r.changed) rmSync(runtimeDropin(name), { force: true });
    return r.changed ? r.text : undefined;
  });
  process.stdout.write(
    changed
      ? `enabled subhost ${name}: ${conf} added to ${SUBHOSTS_CONF}\n`
      : `subhost ${name} is already enabled (${conf} is listed in ${SUBHOSTS_CONF})\n`,
  );
}

/**
 * What `create` and `import` do once they made subhost NAME (config CONF):
 * `--enable` lists it in /etc/subhosts.conf, `--now` starts it, each
 * saying so with SAY. A failure then leaves it made and says how to go on
 * or back (UNDO).
 */
export async function enableAndStart(
  name: string,
  conf: string,
  flags: { enable: boolean; now: boolean },
  undo: string,
  say: (line: string) => void,
): Promise<void> {
  if (!flags.enable && !flags.now) return;
  const sm = await connectSystemd().catch((e: unknown) => {
    throw new Failure(`${errorText(e)}\n${undo}`);
  });
  try {
    if (flags.enable) await enableConf(sm, conf, name);
    if (flags.now) {
      await prepareStart(sm, conf);
      await startUnitOrExplain(sm, name);
      const pid = Number((await subhostProps(sm, name)).service.MainPID ?? 0);
      say(`started subhost ${name} (${subhostUnit(name)}, PID ${pid})`);
    }
  } catch (e) {
    throw new Failure(`${errorText(e)}\n${undo}`);
  } finally {
    sm.close();
  }
}
