// overlay-boot start NAME|CONF (and the 1.6 form `overlay-boot CONF`):
// start subhost@NAME.service through systemd and wait for the job.
import { parseArgs } from '../../lib/args.js';
import { UsageError } from '../../lib/errors.js';
import { connectSystemd, subhostUnit, activeState } from '../support/dbus.js';
import { startReport } from '../support/start-report.js';
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
Success means the unit is active with a live main process (the reaper,
after it reported readiness). A START entry that failed, or that ran longer
than START_TIMEOUT and was stopped, is named in one warning line each (the
subhost runs on, as in 1.6); its result is in the unit's journal too.
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
    const { since, pid } = await startUnitOrExplain(sm, t.name);
    if (t.reportedStart?.length) {
      // The subhost runs on when START entries fail (as in 1.6): say which.
      const rep = await startReport(sm, t.name, t.reportedStart, since);
      for (const f of rep.failures) {
        process.stderr.write(`overlay-boot: warning: START entry ${f.entry} of subhost ${t.name} failed (${f.why}); the subhost runs on\n`);
      }
      if (!rep.complete) {
        process.stderr.write(
          `overlay-boot: warning: could not read the results of the START entries from the journal; see journalctl -u ${unit}\n`,
        );
      }
    }
    process.stdout.write(`started subhost ${t.name} (${unit}, PID ${pid}); its log: journalctl -u ${unit}\n`);
    return 0;
  } finally {
    sm.close();
  }
}
