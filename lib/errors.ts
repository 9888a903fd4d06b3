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
  if (isInternal(e)) return { text: `${prog}: internal error: ${(e as Error).stack}\n`, exitCode: EXIT_FAILURE };
  return { text: prefixLines(prog, errorText(e)), exitCode: EXIT_FAILURE };
}
