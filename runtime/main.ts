// overlay-boot-runtime: what the units run.
//   start NAME       ExecStart of subhost@NAME.service
//   netns-up NAME    ExecStart of subhost-netns@NAME.service
//   adopt-16, adopt NAME, netns-adopt NAME, stop-16 NAME, adopted-gone NAME:
//                    running overlay-boot 1.6 subhosts (adopt16.ts)
// Errors are one line each, to the journal, and a non-zero exit.
import { loadSubhost } from './load.js';
import { start } from './start.js';
import { runNetnsPlan } from './netns-up.js';
import { adopt, adoptAll, adoptedGone, netnsAdopt, stop16 } from './adopt16.js';
import { netnsPlanLines, writeNetnsPlan } from '../lib/plan/netns.js';
import { keepNetnsPlan, keepStartPlan, planSig } from '../lib/plan/keep.js';
import { findConf, legacyInstanceHint } from '../lib/registry.js';
import { loadConfig } from '../lib/config/load.js';
import { NameSchema } from '../lib/config/fields.js';
import { Failure, UsageError } from '../lib/errors.js';
import { parseArgs } from '../lib/args.js';
import { runMain } from '../lib/run-main.js';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Made by netns-up beside its state when it found no config (the netns has no cables). */
const noConfMark = (name: string) => `/run/subhost-netns/${name}/noconf`;

/**
 * The start plan of a config that runs no `!command`, kept for the subhost
 * unit, as its runtime would keep it (runtime/start.ts), when the config
 * has no problem: with one, nothing is kept and the subhost unit reports
 * it. This unit's OVERLAY_BOOT_CONF is the subhost unit's (both come from
 * the generator's drop-ins); were it not, the plan's check-env fails there
 * and the subhost unit computes its own.
 */
async function keepStartPlanOf(name: string, conf: string, sig: string[][]): Promise<void> {
  try {
    const r = await loadConfig(conf);
    if (r.config && r.config.NAME === name && r.problems.length === 0) keepStartPlan(r.config, sig);
  } catch {
    /* the subhost unit computes it and says what is wrong */
  }
}

/** What subhost-netns takes as a netns name (native/subhost-netns.c, netns_name_ok). */
const netnsNameOk = (name: string) => name.length <= 64 && !name.includes('/') && name !== '.' && name !== '..';

/** netns-up without a config: the netns without cables, and a mark saying so (see netns-up below). */
async function emptyNetns(name: string, rundir: string, why: string): Promise<number> {
  process.stderr.write(`${why} (subhost@${name}.service reports it)\n`);
  const plan = `${rundir}/plan`;
  writeNetnsPlan(plan, [], netnsPlanLines(name, []));
  writeFileSync(noConfMark(name), '');
  await runNetnsPlan(name, `${rundir}/state`, plan);
  return 0;
}

const usage =
  'Usage: overlay-boot-runtime start|netns-up|adopt|netns-adopt|stop-16|adopted-gone NAME\n       overlay-boot-runtime adopt-16\n';

async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  const [cmd, name, ...extra] = a.positionals;
  // The package's postinst, over a running overlay-boot 1.6 (adopt16.ts).
  if (cmd === 'adopt-16' && !name && !a.rest) return adoptAll();
  if (!name || extra.length || a.rest) throw new UsageError(name ? 'too many arguments' : 'missing NAME');
  const rundir = process.env.RUNTIME_DIRECTORY;
  if (!rundir) throw new Failure('RUNTIME_DIRECTORY is not set: run this from its systemd unit');
  if (!NameSchema.safeParse(name).success) {
    const why = `"${name}" is not a subhost NAME: use subhost@NAME with NAME exactly as in its config (no systemd-escape)${legacyInstanceHint(name)}`;
    // As for an unknown NAME below: an empty netns lets subhost@ fail with this reason itself.
    if (cmd === 'netns-up' && netnsNameOk(name)) return emptyNetns(name, rundir, why);
    throw new Failure(why);
  }
  switch (cmd) {
    case 'start': {
      // An unknown NAME: the netns unit made an empty netns so that this
      // unit fails with the reason in its own status (see netns-up).
      const found = findConf(name);
      if ('error' in found) throw new Failure(found.error + legacyInstanceHint(name));
      if (existsSync(noConfMark(name))) {
        throw new Failure(
          `subhost@${name}: its config (${found.conf}) was registered while it was starting, after its network namespace was made without cables: start it again`,
        );
      }
      process.stderr.write(`no valid start plan for ${name}: computing one\n`);
      const { config, commands } = await loadSubhost(name);
      await start(config, `${rundir}/pid`, commands.length === 0);
      return 0;
    }
    case 'netns-up': {
      // No config for NAME: systemd would only report "a dependency job
      // failed" for subhost@NAME, with the reason here, in this unit's
      // journal. So make an empty netns (recorded in the state like any
      // other, removed when the subhost fails) and succeed: the subhost
      // unit starts, looks the config up itself and fails with the reason
      // in its own status. A mark tells it this netns has no cables.
      const found = findConf(name);
      if ('error' in found) return emptyNetns(name, rundir, found.error);
      process.stderr.write(`no valid netns plan for ${name}: computing one\n`);
      const envConf = process.env.OVERLAY_BOOT_CONF;
      // Signed before the config is read: an edit while it is read makes the plans stale, never wrong.
      const conf = resolve(found.conf); // its CONFIG, as the runtime's start signs it
      const sig = planSig(name, conf, envConf);
      const { config, commands, deferred } = await loadSubhost(name, ['CABLES']);
      const level = config.CONTAINMENT ?? 'private-users';
      let plan: string;
      if (commands.some((k) => k === 'CABLES' || k === 'BASE')) {
        plan = `${rundir}/plan`;
        writeNetnsPlan(plan, [], netnsPlanLines(name, config.CABLES ?? [], level));
      } else {
        // Kept for later starts unless CABLES (or BASE) came from a command.
        plan = keepNetnsPlan(name, config.CABLES ?? [], sig, level);
        // The subhost unit starts right after this one: keep its start
        // plan too, so that after an edit the runtime runs once, not twice.
        if (!commands.length && !deferred.length) await keepStartPlanOf(name, conf, sig);
      }
      await runNetnsPlan(name, `${rundir}/state`, plan);
      return 0;
    }
    // A subhost that runs under overlay-boot 1.6, adopted (adopt16.ts).
    case 'adopt':
      return adopt(name, rundir);
    case 'netns-adopt':
      return netnsAdopt(name, rundir);
    case 'stop-16':
      return stop16(name);
    case 'adopted-gone':
      return adoptedGone(name);
    default:
      throw new UsageError(`unknown command ${cmd}`);
  }
}

runMain('overlay-boot-runtime', { usage, run });
