// overlay-go [NAME] [-- COMMAND...]: a shell, or COMMAND, inside a running
// subhost, restricted exactly as the subhost's own processes are. Without
// NAME: the running subhosts.
//
// The native helper subhost-go (native/subhost-go.c) does the entering: it
// copies the namespaces, root, working directory, capability bounding set,
// no_new_privs flag and seccomp filters of the subhost's reaper (its PID 1)
// onto the command, and gives it a pseudo-terminal of the subhost's own
// devpts when stdin is a terminal: the admin's terminal is never handed in.
// The cgroup is ours to set: the command is attached to subhost@NAME's, so
// that it is accounted to the unit and ends when the subhost stops.
//
// The cgroup race: a fork inherits its parent's cgroup at that moment, so
// attaching the helper's PID once it runs could leave the shell outside.
// The child is therefore first a /bin/sh "gate" that waits on a pipe
// (fd 3): its PID is attached with AttachProcessesToUnit, then the pipe
// is written and the gate execs subhost-go (same PID, already in the
// subhost's cgroup), and everything it forks is born there. If this
// process dies before that, the gate reads EOF and exits without running
// anything.
//
// Residual window: between reading MainPID over D-Bus and subhost-go
// opening a pidfd for it, the subhost could stop and its PID be reused.
// systemd must first reap the reaper and the kernel hand out the same PID
// again within milliseconds; attaching the gate fails first if the unit
// is no longer active ("Unit is not active"), which is checked.
// node:child_process for the gate only (ARCHITECTURE: one way to run a process).
import { spawn } from 'node:child_process';
import { execaSync } from 'execa';
import { isatty } from 'node:tty';
import { constants } from 'node:os';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText } from '../../lib/errors.js';
import { connectSystemd, listSubhostUnits, subhostUnit, attachProcesses } from '../support/dbus.js';
import { nameFromArg, runningPid } from '../support/subhost.js';
import { libDir } from '../../lib/paths.js';
import { isRoot, runAsRoot } from '../../lib/privilege.js';

export const usage = `Usage: overlay-go [NAME [-- COMMAND [ARG...]]]

Without NAME: lists the running subhosts.
With NAME: runs an interactive shell (/bin/bash if the subhost has it, else
/bin/sh), or COMMAND, in subhost NAME, restricted as the subhost's own
processes are: in all its namespaces, with its root and working directory,
its capability bounding set, no-new-privileges flag and seccomp filters
(copied from its PID 1), and in its cgroup (it is accounted to
subhost@NAME.service and ends when the subhost stops).
When stdin is a terminal, the shell gets a new pseudo-terminal of the
subhost's own /dev/pts, relayed to yours; otherwise stdin, stdout and
stderr are passed through, except a terminal, which is replaced by a
relayed pipe. Your terminal is never handed in.
Exit status: COMMAND's (or the shell's); 128+N if it was killed by signal N;
1 if NAME is not running; 125 if it could not be started inside (the reason
is printed); 2 bad usage; 77 not allowed (a user other than root whom polkit
does not let enter subhosts: see overlay-go(8)).
`;

// The gate: wait for the go-ahead on fd 3 (EOF: give up), then become subhost-go.
const GATE = 'read -r go <&3 && [ "$go" = go ] || exit 125; exec 3<&-; exec "$@"';
// Inside: bash if there is one, else sh (decided inside, in the subhost's root).
const SHELL = ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash; fi; exec /bin/sh'];

/** `stty -g` of stdin when it is a terminal (subhost-go puts it in raw mode). */
function savedTerminalModes(): string | undefined {
  if (!isatty(0)) return undefined;
  const r = execaSync('stty', ['-g'], { stdin: 'inherit', stderr: 'ignore', reject: false });
  return r.exitCode === 0 ? r.stdout.trim() || undefined : undefined;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.positionals.length > 1) throw new UsageError('too many arguments (a COMMAND goes after --)');
  // Entering needs root (subhost-go): again through pkexec, or one line saying how.
  if (a.positionals.length === 1 && !isRoot())
    return runAsRoot('org.overlay-boot.enter', `entering subhost ${a.positionals[0]}`, 'overlay-go', argv);
  const sm = await connectSystemd();
  let pid: number;
  let name: string;
  let child: ReturnType<typeof spawn>;
  let ttyModes: string | undefined;
  try {
    if (a.positionals.length === 0) {
      if (a.rest) throw new UsageError('a COMMAND needs a NAME');
      const running = (await listSubhostUnits(sm, ['active', 'activating'])).map((u) => u.name);
      process.stdout.write(running.length ? `Select subhost: ${running.join(' ')}\n` : 'No subhost is running.\n');
      return 0;
    }
    name = nameFromArg(a.positionals[0]!);
    pid = await runningPid(sm, name);
    const command = a.rest?.length ? a.rest : SHELL;
    ttyModes = savedTerminalModes();
    // node:child_process, not execa: the gate reads "go" from a pipe on
    // its fd 3, written after the attach, and execa takes extra fds as
    // its outputs.
    child = spawn('/bin/sh', ['-c', GATE, 'overlay-go', `${libDir()}/subhost-go`, String(pid), '--', ...command], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    });
    // A gate that died early (no /bin/sh?) must not turn the write below into an EPIPE crash.
    (child.stdio[3] as NodeJS.WritableStream).on('error', () => {});
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    try {
      await spawned;
    } catch (e) {
      throw new Failure(`cannot run /bin/sh: ${errorText(e)}`);
    }
    try {
      await attachProcesses(sm, subhostUnit(name), [child.pid!]);
    } catch (e) {
      const msg = errorText(e);
      if (/not active/i.test(msg)) {
        (child.stdio[3] as NodeJS.WritableStream).end();
        throw new Failure(`${name} is not running`);
      }
      // Not fatal: the shell still works, as in 1.6, only outside the subhost's cgroup.
      process.stderr.write(
        `overlay-go: warning: the shell is not in ${subhostUnit(name)}'s cgroup: ${msg}` +
          `${/delegat/i.test(msg) ? ' (the unit needs Delegate=yes)' : ''}\n`,
      );
    }
  } finally {
    sm.close();
  }
  // Ctrl-C and Ctrl-\ are for the shell: with a pty they are plain keys
  // (raw mode); without one they reach subhost-go (our terminal process
  // group), which passes them on. Not for us. A SIGTERM or SIGHUP sent to
  // us goes on to the child.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  for (const s of ['SIGTERM', 'SIGHUP'] as const) {
    process.on(s, () => {
      try {
        child.kill(s);
      } catch {
        /* gone */
      }
    });
  }
  const done = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      // subhost-go restores the terminal itself, unless it was SIGKILLed
      // (it is in the subhost's cgroup, which systemd kills at the stop).
      if (signal && ttyModes) execaSync('stty', [ttyModes], { stdin: 'inherit', stdout: 'ignore', stderr: 'ignore', reject: false });
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  (child.stdio[3] as NodeJS.WritableStream).end('go\n');
  return done;
}
