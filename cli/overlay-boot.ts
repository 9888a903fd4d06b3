// overlay-boot: start subhosts (1.6: `overlay-boot CONF`), and the
// overlay-boot 2 subcommands. Each subcommand lives in cli/commands/.
import { check, UsageError as CheckUsageError } from './commands/check.js';
import * as start from './commands/start.js';
import * as stop from './commands/stop.js';
import { status, list, statusUsage, listUsage } from './commands/status.js';
import { enable, disable, enableUsage, disableUsage } from './commands/enable.js';
import { UsageError, CliError, looksLikeConf, prefixLines, errorText, EXIT_USAGE, EXIT_FAILURE } from '../lib/cli-common.js';

const USAGE = `Usage:
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

const CHECK_USAGE = `Usage: overlay-boot check [--json] CONF...

Shows every variable of each config with where its value came from, or
its problems (one line each), without running anything (a !command is
shown, not run). Exit status: 0 all valid, 1 problems, 2 bad usage.
`;

interface Command {
  usage: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  start,
  stop,
  status: { usage: statusUsage, run: status },
  list: { usage: listUsage, run: list },
  enable: { usage: enableUsage, run: enable },
  disable: { usage: disableUsage, run: disable },
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd === undefined ? process.stderr : process.stdout).write(USAGE);
    return cmd === undefined ? EXIT_USAGE : 0;
  }
  if (cmd === 'check') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(CHECK_USAGE);
      return 0;
    }
    return check(rest);
  }
  const c = COMMANDS[cmd];
  if (c) {
    try {
      return await c.run(rest);
    } catch (e) {
      if (e instanceof UsageError) throw new SubUsageError(e.message, c.usage);
      throw e;
    }
  }
  if (!cmd.startsWith('-') && looksLikeConf(cmd)) {
    try {
      return await start.run(argv);
    } catch (e) {
      if (e instanceof UsageError) throw new SubUsageError(e.message, start.usage);
      throw e;
    }
  }
  throw new UsageError(`unknown command "${cmd}"`);
}

class SubUsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof SubUsageError) {
      process.stderr.write(`overlay-boot: ${e.message}\n${e.usage}`);
      process.exit(EXIT_USAGE);
    }
    if (e instanceof UsageError || e instanceof CheckUsageError) {
      process.stderr.write(`overlay-boot: ${e.message}\n${USAGE}`);
      process.exit(EXIT_USAGE);
    }
    if (e instanceof CliError) {
      process.stderr.write(prefixLines('overlay-boot', e.message));
      process.exit(e.exitCode);
    }
    process.stderr.write(`overlay-boot: ${errorText(e)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
