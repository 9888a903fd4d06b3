// overlay-boot-runtime: what the units run.
//   start NAME       ExecStart of subhost@NAME.service
//   netns-up NAME    ExecStart of subhost-netns@NAME.service
// Errors are one line each, to the journal, and a non-zero exit.
import { loadSubhost, RuntimeError } from './load.js';
import { start } from './start.js';
import { netnsPlanLines, writeNetnsPlan, runNetnsPlan } from './netns.js';
import { sigOps } from '../lib/plan-sig.js';
import { RUNTIME_REGISTRY, SUBHOSTS_CONF, PLAN_DIR } from '../lib/paths.js';
import { NameSchema } from '../lib/config/fields.js';
import { findConf } from '../lib/registry.js';
import { existsSync, writeFileSync } from 'node:fs';

/** Made by netns-up beside its state when it found no config (the netns has no cables). */
const noConfMark = (name: string) => `/run/subhost-netns/${name}/noconf`;

async function main(argv: string[]): Promise<void> {
  const [cmd, name] = argv;
  if (!name) throw new RuntimeError('usage: overlay-boot-runtime start|netns-up NAME');
  if (!NameSchema.safeParse(name).success) {
    throw new RuntimeError(`"${name}" is not a subhost NAME: use subhost@NAME with NAME exactly as in its config (no systemd-escape)`);
  }
  const rundir = process.env.RUNTIME_DIRECTORY;
  if (!rundir) throw new RuntimeError('RUNTIME_DIRECTORY is not set: run this from its systemd unit');
  switch (cmd) {
    case 'start': {
      // An unknown NAME: the netns unit made an empty netns so that this
      // unit fails with the reason in its own status (see netns-up).
      const found = findConf(name);
      if ('error' in found) throw new RuntimeError(found.error);
      if (existsSync(noConfMark(name))) {
        throw new RuntimeError(
          `subhost@${name}: its config (${found.conf}) was registered while it was starting, after its network namespace was made without cables: start it again`,
        );
      }
      process.stderr.write(`no valid start plan for ${name}: computing one\n`);
      const { config, commands } = await loadSubhost(name);
      return start(config, `${rundir}/pid`, commands.length === 0);
    }
    case 'netns-up': {
      // No config for NAME: systemd would only report "a dependency job
      // failed" for subhost@NAME, with the reason here, in this unit's
      // journal. So make an empty netns (recorded in the state like any
      // other, removed when the subhost fails) and succeed: the subhost
      // unit starts, looks the config up itself and fails with the reason
      // in its own status. A mark tells it this netns has no cables.
      const found = findConf(name);
      if ('error' in found) {
        process.stderr.write(`${found.error} (subhost@${name}.service reports it)\n`);
        const plan = `${rundir}/plan`;
        writeNetnsPlan(plan, [], netnsPlanLines(name, []));
        writeFileSync(noConfMark(name), '');
        return runNetnsPlan(name, `${rundir}/state`, plan);
      }
      const { config, commands } = await loadSubhost(name, ['CABLES']);
      const lines = netnsPlanLines(name, config.CABLES ?? []);
      const sig = sigOps(config.CONFIG!, process.env.OVERLAY_BOOT_CONF, [`${RUNTIME_REGISTRY}/${name}.conf`, SUBHOSTS_CONF]);
      const cached = `${PLAN_DIR}/${name}.netns`;
      // Kept for later starts unless CABLES (or BASE) came from a command.
      const plan = commands.some((k) => k === 'CABLES' || k === 'BASE') ? `${rundir}/plan` : cached;
      writeNetnsPlan(plan, plan === cached ? sig : [], lines);
      return runNetnsPlan(name, `${rundir}/state`, plan);
    }
    default:
      throw new RuntimeError(`unknown command ${cmd}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    if (!(e instanceof RuntimeError)) process.stderr.write(`internal error: ${(e as Error).stack}\n`);
    else if (e.message) process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
);
