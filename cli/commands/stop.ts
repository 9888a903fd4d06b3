// overlay-boot stop NAME|CONF, and overlay-stop (the 1.6 command): stop
// subhost@NAME.service through systemd and wait until it and its network
// namespace are gone. The START services stop in reverse order (the
// reaper does that on SIGTERM, see units/subhost@.service.in).
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure } from '../../lib/errors.js';
import { connectSystemd, subhostUnit, activeState, RUNNING_STATES } from '../support/dbus.js';
import { nameFromArg, stopUnitOrExplain } from '../support/subhost.js';

export function stopUsage(prog: string): string {
  return `Usage: ${prog} NAME|CONF

Stops subhost NAME (subhost@NAME.service) through systemd and waits until
it has stopped, its network namespace included. With CONF (a path with a
"/" or ending in .conf), NAME is the config's NAME= (else its file name
less .conf).
Exit status: 0 stopped, 1 not running or failed, 2 bad usage, 77 not allowed
(polkit refused; see overlay-boot(8)).
`;
}

export const usage = stopUsage('overlay-boot stop');

export async function stop(args: string[], prog: string): Promise<number> {
  const a = parseArgs(args);
  if (a.help) {
    process.stdout.write(stopUsage(prog));
    return 0;
  }
  if (a.rest) throw new UsageError('stop takes no command');
  if (a.positionals.length !== 1) throw new UsageError('needs one NAME or CONF');
  const name = nameFromArg(a.positionals[0]!);
  const sm = await connectSystemd();
  try {
    if (!RUNNING_STATES.includes(await activeState(sm, subhostUnit(name)))) throw new Failure(`${name} is not running`);
    await stopUnitOrExplain(sm, name);
    return 0;
  } finally {
    sm.close();
  }
}

export const run = (args: string[]): Promise<number> => stop(args, 'overlay-boot stop');
