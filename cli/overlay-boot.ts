// overlay-boot: start subhosts (1.6: `overlay-boot CONF`), and the
// overlay-boot 2 subcommands. Each subcommand is a module of cli/commands/
// exporting its usage and run.
import { UsageError, EXIT_USAGE } from '../lib/errors.js';
import { runMain, type Program } from '../lib/run-main.js';
import { looksLikeConf } from './support/subhost.js';
import * as start from './commands/start.js';
import * as stop from './commands/stop.js';
import * as status from './commands/status.js';
import * as list from './commands/list.js';
import * as enable from './commands/enable.js';
import * as disable from './commands/disable.js';
import * as check from './commands/check.js';

const usage = `Usage:
  overlay-boot CONF                       start the subhost of CONF (the 1.6 form)
  overlay-boot start NAME|CONF            start a subhost and wait until it runs
  overlay-boot stop NAME|CONF             stop a subhost (as overlay-stop)
  overlay-boot status [--json] [NAME]     state, PID, tasks, memory, CPU, config, addresses
  overlay-boot list [--json]              all subhosts, as a table
  overlay-boot enable CONF                start it at boot: add it to /etc/subhosts.conf
  overlay-boot disable CONF|NAME          remove it from /etc/subhosts.conf
  overlay-boot check [--json] CONF...     show the resolved config, or its errors
  overlay-boot COMMAND --help             more about one command
Related: overlay-go NAME (a shell inside), overlay-share DIR NAME, overlay-stop NAME.
`;

const COMMANDS: Record<string, Program> = { start, stop, status, list, enable, disable, check };

/** Runs a subcommand; its usage errors show its own usage. */
async function sub(c: Program, args: string[]): Promise<number> {
  try {
    return await c.run(args);
  } catch (e) {
    if (e instanceof UsageError) e.usage ??= c.usage;
    throw e;
  }
}

async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd === undefined ? process.stderr : process.stdout).write(usage);
    return cmd === undefined ? EXIT_USAGE : 0;
  }
  const c = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (c) return sub(c, rest);
  if (!cmd.startsWith('-') && looksLikeConf(cmd)) return sub(start, argv);
  throw new UsageError(`unknown command "${cmd}"`);
}

runMain('overlay-boot', { usage, run });
