// Non-root use (issue 14): a command whose work needs root (overlay-go's
// helper, overlay-share's bind, writing /etc/subhosts.conf, registering a
// config in /run) runs itself again through pkexec(1) when polkit allows
// it (polkit/org.overlay-boot.policy: the action is chosen by program and
// first argument), as 1.6 re-ran itself with sudo. Asked first with
// pkcheck, without interaction: authorized -> pkexec; "authentication
// required" -> pkexec only when stdin is a terminal (pkexec asks for the
// password there); otherwise one line saying what to do, never pkexec's
// own "Error executing command as another user" lines.
import { execaSync } from 'execa';
import { existsSync } from 'node:fs';
import { isatty } from 'node:tty';
import { Failure, EXIT_NOPERM, refusal } from './errors.js';

const PKEXEC = '/usr/bin/pkexec';
const PKCHECK = '/usr/bin/pkcheck';
export const isRoot = (): boolean => process.geteuid?.() === 0;

/** polkit's answer for this process, without asking the user anything. */
function check(action: string): 'yes' | 'auth' | 'no' {
  if (!existsSync(PKCHECK)) return 'no';
  const r = execaSync(PKCHECK, ['--action-id', action, '--process', String(process.pid)], { stdio: 'ignore', reject: false });
  return r.exitCode === 0 ? 'yes' : r.exitCode === 2 ? 'auth' : 'no';
}

/**
 * Runs `/usr/sbin/PROG ARGS...` as root through pkexec and returns its exit
 * status, or throws the one-line refusal when polkit would not allow it.
 */
export function runAsRoot(action: string, what: string, prog: string, args: string[]): number {
  const program = `/usr/sbin/${prog}`;
  const answer = existsSync(PKEXEC) && existsSync(program) ? check(action) : 'no';
  if (answer === 'no' || (answer === 'auth' && !isatty(0))) throw new Failure(refusal(what), EXIT_NOPERM);
  const r = execaSync(PKEXEC, ['--keep-cwd', program, ...args], { stdio: 'inherit', reject: false });
  if (r.failed && r.exitCode === undefined && !r.signal) throw new Failure(`${what}: pkexec: ${r.shortMessage}`);
  // After a password prompt, 126 is pkexec's "dismissed or refused" (once
  // authorized, 126 and 127 are the command's own: passed through).
  if (answer === 'auth' && r.exitCode === 126) throw new Failure(refusal(what), EXIT_NOPERM);
  return r.exitCode ?? 128 + 1;
}
