// overlay-boot start NAME|CONF (and the 1.6 form `overlay-boot CONF`):
// start subhost@NAME.service through systemd and wait for the job.
import { parseArgs } from '../../lib/args.js';
import { UsageError } from '../../lib/errors.js';
import { connectSystemd, subhostUnit, activeState, subhostProps } from '../support/dbus.js';
import { prepareStart, startUnitOrExplain, looksLikeConf, confPath } from '../support/subhost.js';
import { isRoot, runAsRoot } from '../../lib/privilege.js';

export const usage = `Usage:
  overlay-boot start NAME|CONF
  overlay-boot CONF                  (the 1.6 form)

Starts subhost NAME (subhost@NAME.service) through systemd and waits until
it runs or has failed. CONF is a config file path (it has a "/" or ends in
.conf); NAME is a subhost whose config is listed in /etc/subhosts.conf or
was started by its path before during this boot.
The config is checked first (as overlay-boot check does); its problems are
printed one per line. A config that is not listed in /etc/subhosts.conf is
registered for this boot only, as the symlink
/run/overlay-boot/registry/NAME.conf (no daemon-reload needed); to start it
at every boot use overlay-boot enable CONF.
On failure, prints the job result and the units' last journal lines.
Exit status: 0 running, 1 failed, 2 bad usage, 77 not allowed (see NON-ROOT USE in
overlay-boot(8)).
`;

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args);
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest) throw new UsageError('start takes no command');
  if (a.positionals.length !== 1) throw new UsageError('start needs one NAME or CONF');
  // Checking the config, registering it for this boot and matching the
  // unit's fence write root's files: again through pkexec, or one line saying how.
  if (!isRoot()) {
    const arg = a.positionals[0]!;
    return runAsRoot('org.overlay-boot.manage', `starting subhost ${arg}`, 'overlay-boot', [
      'start',
      looksLikeConf(arg) ? confPath(arg) : arg,
    ]);
  }
  const sm = await connectSystemd();
  try {
    const t = await prepareStart(sm, a.positionals[0]!);
    const unit = subhostUnit(t.name);
    if ((await activeState(sm, unit)) === 'active') {
      process.stdout.write(`subhost ${t.name} is already running (${unit})\n`);
      return 0;
    }
    await startUnitOrExplain(sm, t.name);
    const pid = Number((await subhostProps(sm, t.name)).service.MainPID ?? 0);
    process.stdout.write(`started subhost ${t.name} (${unit}, PID ${pid}); its log: journalctl -u ${unit}\n`);
    return 0;
  } finally {
    sm.close();
  }
}
