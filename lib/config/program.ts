// Which program a `VAR=!command` runs, found as execvp(3) finds it for
// runtime/evaluate.ts: a name with a "/" is a path (relative to the
// command's working directory), any other name is looked up in
// COMMAND_PATH. The config loader checks that program is root's alone,
// and the evaluator then runs exactly the path that was checked.
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { libDir } from '../paths.js';

/** PATH of `!command`s: the package's helpers (overlay-diskfile) first. */
export function commandPath(): string {
  return `${libDir()}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

/** The program's path, or undefined when no PATH entry has it. */
export function findProgram(file: string, cwd: string): string | undefined {
  if (file.includes('/')) return resolve(cwd, file);
  for (const dir of commandPath().split(':')) {
    const p = `${dir}/${file}`;
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here: execvp goes on too */
    }
  }
  return undefined;
}
