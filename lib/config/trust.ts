// Who may define what root runs. Every config the generator, the runtime
// and the commands act on makes root act: its `!command`s and hooks run
// as root on the host, and even a config without them chooses what is
// mounted (LOWER, SHARE) and started (START). So every config must be as
// trusted as root itself: owned by root and not writable by group or
// others, and so must each directory above it, every `!command` program
// and every custom PREMOUNT/POSTMOUNT/INIT hook it names (the program
// file and its directories). This is the rule of sudo and sshd's
// StrictModes (a sticky world-writable directory such as /tmp is fine:
// others cannot rename root's entries there). The checks are made on
// descriptors (open.ts), so that what was checked is what is read.
import { readTextFile, checkProgram, Refused, type TrustedDirs } from './open.js';
import { findProgram } from './program.js';
import type { Assignment } from './parse.js';
import type { Problem } from './problem.js';

const CONFIG_RULE = "a config that root runs must be root's alone";
const PROGRAM_RULE = "a program that root runs must be root's alone";

/**
 * The text of a config, or the one problem that refuses it (nothing was
 * read then). known: directories found trusted earlier in this run.
 */
export function readConfigText(file: string, known?: TrustedDirs): { text: string } | { problem: Problem; unreadable?: string } {
  try {
    return { text: readTextFile(file, { known }).text };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    // The file itself is not there (or not reachable): as before, the errno alone.
    if (e.code && e.code !== 'ELOOP') {
      return { problem: { file, trust: true, message: `cannot read config: ${e.code}` }, unreadable: e.code };
    }
    return { problem: { file, trust: true, message: e.untrusted ? `${e.message}: ${CONFIG_RULE}` : e.message } };
  }
}

/**
 * The program of a `!command` (assignment a), checked. Not found: no
 * problem here (`check` and the generator may look before the filesystem
 * holding it is mounted); the evaluator runs only a program checked here,
 * so it then fails to run it.
 */
export function checkCommand(file: string, a: Assignment, cwd: string): { program?: string } | { problem: Problem } {
  const word = a.value.split(/\s+/).filter(Boolean)[0];
  const where = { file, line: a.line, key: a.key };
  if (!word) return { problem: { ...where, message: 'the command is empty' } };
  const path = findProgram(word, cwd);
  if (!path) return {};
  try {
    checkProgram(path);
    // The path as found, not as resolved: a multi-call program reads its
    // name from argv[0], and every link on the way was checked.
    return { program: path };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    if (e.code === 'ENOENT') return {};
    return { problem: { ...where, message: `command "${a.value}": ${e.untrusted ? `${e.message}: ${PROGRAM_RULE}` : e.message}` } };
  }
}

/** The problem with custom hook `program` of key, if any (a missing one is reported where existence is checked). */
export function checkHook(file: string, key: string, program: string, line: number | undefined): Problem | undefined {
  try {
    checkProgram(program);
    return undefined;
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    if (e.code === 'ENOENT') return undefined;
    return { file, line, key, message: e.untrusted ? `${e.message}: ${PROGRAM_RULE}` : e.message };
  }
}
