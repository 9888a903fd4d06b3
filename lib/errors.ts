// How every program of the package fails (the commands, the runtime, the
// generator): lib/run-main.ts turns these into one line `PROG: message` on
// stderr and an exit status. Two kinds, because they exit differently:
//  - UsageError: a bad call; the usage text follows, exit 2 (EXIT_USAGE);
//  - Failure: anything the user can act on; exit 1 unless told (status
//    NAME: 3 for "not running"). Details on the following lines stay as
//    they are (the journal lines of a failed start); an empty message
//    means the reason was printed already (by a helper whose output
//    passes through).
// Anything else thrown is reported by its message, or as an internal
// error with its stack when it is a programming error.

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_RUNNING = 3;
/** Refused for lack of privilege (sysexits' EX_NOPERM): the message says what to do. */
export const EXIT_NOPERM = 77;

/** The example polkit rule for a group of subhost admins (polkit/50-overlay-boot.rules). */
export const RULE_EXAMPLE = '/usr/share/doc/overlay-boot/examples/50-overlay-boot.rules';

/** The one line for a user without the privilege `what` needs. */
export function refusal(what: string): string {
  return `${what} needs root: run it with sudo, or join a group that polkit lets manage subhosts (example rule: ${RULE_EXAMPLE})`;
}

/** systemd (through polkit) refused a call of a user who is not root. */
export function isPolkitDenial(e: unknown): boolean {
  const type = (e as { type?: unknown } | null)?.type;
  return type === 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired' || type === 'org.freedesktop.DBus.Error.AccessDenied';
}

/** A bad call: the program prints its message and usage, and exits 2. */
export class UsageError extends Error {
  /** The usage text to show, when not the program's own (a subcommand's). */
  usage?: string;
}

/** An expected failure: its message is what the user reads; exit 1 unless told. */
export class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** `PROG: ` before the first line; the following lines (details) as they are. */
export function prefixLines(prog: string, message: string): string {
  return `${prog}: ${message.replace(/\n*$/, '')}\n`;
}

/** The message of anything thrown (D-Bus errors carry their text in message). */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return e.message || code || e.name;
  }
  return String(e);
}

/** A bug rather than a refusal: worth its stack. */
export function isInternal(e: unknown): boolean {
  return e instanceof TypeError || e instanceof ReferenceError || e instanceof SyntaxError || e instanceof RangeError;
}

/** What runMain writes to stderr for an error, and the exit status. */
export function report(prog: string, usage: string, e: unknown): { text: string; exitCode: number } {
  if (e instanceof UsageError) return { text: `${prog}: ${e.message}\n${e.usage ?? usage}`, exitCode: EXIT_USAGE };
  if (e instanceof Failure) return { text: e.message ? prefixLines(prog, e.message) : '', exitCode: e.exitCode };
  // systemd's "Interactive authentication required." says nothing about what to do.
  if (isPolkitDenial(e)) return { text: prefixLines(prog, refusal("acting on a subhost's unit")), exitCode: EXIT_NOPERM };
  if (isInternal(e)) return { text: `${prog}: internal error: ${(e as Error).stack}\n`, exitCode: EXIT_FAILURE };
  return { text: prefixLines(prog, errorText(e)), exitCode: EXIT_FAILURE };
}
