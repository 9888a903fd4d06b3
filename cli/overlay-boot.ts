// overlay-boot: start subhosts (1.6: `overlay-boot CONF`), and the
// overlay-boot 2 subcommands. Each subcommand is a module of cli/commands/
// exporting its usage and run, loaded only when it runs: the bundle
// (scripts/build.mjs) initialises a module imported this way on first
// use, so `status` does not build the config schemas `start` needs.
import { UsageError, EXIT_USAGE } from '../lib/errors.js';
import { runMain, type Program } from '../lib/run-main.js';

const usage = `Usage:
  overlay-boot CONF                       start the subhost of CONF (the 1.6 form)
  overlay-boot start NAME|CONF            start a subhost and wait until it runs
  overlay-boot stop NAME|CONF             stop a subhost (as overlay-stop)
  overlay-boot status [--json] [NAME]     state, PID, tasks, memory, CPU, config, addresses
  overlay-boot list [--json]              all subhosts, as a table
  overlay-boot enable CONF                start it at boot: add it to /etc/subhosts.conf
  overlay-boot disable CONF|NAME          remove it from /etc/subhosts.conf
  overlay-boot check [--json] CONF...     show the resolved config, or its errors
  overlay-boot create [OPTION...] NAME    make a subhost (directories, config); --enable, --now
  overlay-boot remove [--purge] NAME|CONF  stop, unlist and remove a subhost (UPPER kept)
  overlay-boot export [--stop|--live] NAME|CONF [FILE|-]  the subhost as one stream (config, UPPER, manifest)
  overlay-boot import [OPTION...] FILE|-  a subhost from an export (all checked before anything is written)
  overlay-boot move [OPTION...] NAME|CONF [USER@]HOST  to HOST over ssh (export | import), then removed here
  overlay-boot COMMAND --help             more about one command
Related: overlay-go NAME (a shell inside), overlay-share DIR NAME, overlay-stop NAME.
`;

const COMMANDS: Record<string, () => Promise<Program>> = {
  start: () => import('./commands/start.js'),
  stop: () => import('./commands/stop.js'),
  status: () => import('./commands/status.js'),
  list: () => import('./commands/list.js'),
  enable: () => import('./commands/enable.js'),
  disable: () => import('./commands/disable.js'),
  check: () => import('./commands/check.js'),
  create: () => import('./commands/create.js'),
  remove: () => import('./commands/remove.js'),
  export: () => import('./commands/export.js'),
  import: () => import('./commands/import.js'),
  move: () => import('./commands/move.js'),
};

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
  if (c) return sub(await c(), rest);
  if (!cmd.startsWith('-') && (await import('./support/subhost.js')).looksLikeConf(cmd)) return sub(await COMMANDS.start!(), argv);
  throw new UsageError(`unknown command "${cmd}"${await subhostHint(cmd)}`);
}

/** For an unknown command that is a subhost's NAME (listed or registered): how to start it. */
async function subhostHint(cmd: string): Promise<string> {
  const { nameProblem } = await import('../lib/config/name.js');
  if (nameProblem(cmd) !== undefined) return '';
  const { findConf } = await import('../lib/registry.js');
  try {
    const found = findConf(cmd, '');
    return 'error' in found ? '' : `; subhost ${cmd} (${found.conf}) starts with: overlay-boot start ${cmd}`;
  } catch {
    return ''; // an unreadable /etc/subhosts.conf: only the usage error
  }
}

runMain('overlay-boot', { usage, run });
