// The one way a program of the package starts and ends: run its main with
// the arguments, exit with the status it returns, or report what it threw
// (lib/errors.ts) and exit with that error's status. Used by every command
// under cli/, by the runtime and by the generator.
import { report } from './errors.js';

export interface Program {
  /** The synopsis shown with --help and after a usage error. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

export function runMain(prog: string, program: Program): void {
  // The tools the programs run (mount, sfdisk, ip, journalctl...) live in
  // sbin: a program started with no PATH at all still finds them.
  process.env.PATH ||= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  program.run(process.argv.slice(2)).then(
    (code) => exitFlushed(code),
    (e: unknown) => {
      const r = report(prog, program.usage, e);
      process.stderr.write(r.text);
      exitFlushed(r.exitCode);
    },
  );
}

/**
 * process.exit() once what was written to stdout and stderr is out:
 * writes to a pipe are asynchronous in Node, and exit() drops what the
 * pipe has not taken yet (`overlay-boot list --json | ...` stopped at
 * 64 KiB, about 150 subhosts). A write's callback runs after every write
 * before it.
 */
function exitFlushed(code: number): void {
  let left = 2;
  const done = () => {
    if (--left === 0) process.exit(code);
  };
  for (const s of [process.stdout, process.stderr]) {
    if (s.writableLength === 0 || s.destroyed) done();
    else s.write('', done);
  }
}
