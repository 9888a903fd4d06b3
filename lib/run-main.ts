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
    (code) => process.exit(code),
    (e: unknown) => {
      const r = report(prog, program.usage, e);
      process.stderr.write(r.text);
      process.exit(r.exitCode);
    },
  );
}
