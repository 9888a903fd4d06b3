// overlay-boot list: every subhost known (loaded units, /etc/subhosts.conf,
// the /run registry) as status shows them; a table, or --json.
import { parseArgs } from '../../lib/args.js';
import { UsageError } from '../../lib/errors.js';
import { connectSystemd } from '../support/dbus.js';
import { FIELDS, showAll } from './status.js';

export const usage = `Usage: overlay-boot list [--json]

Lists the subhosts: those running, those listed in /etc/subhosts.conf
and those registered for this boot (a unit that failed for a NAME
without a config is left out).
${FIELDS}`;

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: ['--json'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length) throw new UsageError('list takes no arguments');
  const sm = await connectSystemd({ jobs: false });
  try {
    await showAll(sm, a.flags.has('--json'));
    return 0;
  } finally {
    sm.close();
  }
}
