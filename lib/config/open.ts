// Open the files that decide what root runs (subhost configs, the
// programs and hooks they name, /etc/subhosts.conf) by descriptor, so
// that what is checked is what is read:
//  - every directory from / down is opened O_PATH|O_NOFOLLOW relative to
//    the one above it and fstat'ed: a directory swapped for a symlink
//    after it was checked cannot redirect the rest of the walk, because
//    the walk goes on from the descriptor, never from a path. Node has no
//    openat(); opening "/proc/self/fd/DIRFD/NAME" is the same thing (the
//    kernel resolves /proc/self/fd/DIRFD to the open directory itself,
//    not to a path name) and O_NOFOLLOW applies to NAME;
//  - a symlink met on the way is followed only when root owns it: it lives
//    in a directory already found trustworthy, so only root could have
//    made or replaced it (a sticky directory keeps others from renaming
//    root's entries). This is systemd's chase() with CHASE_SAFE, in
//    spirit; at most 40 links are followed, as the kernel does;
//  - the file is opened once, O_RDONLY|O_NOFOLLOW|O_NONBLOCK (Node adds
//    O_CLOEXEC to every open), fstat'ed, refused unless a regular file of
//    at most 1 MiB, and only then read, from that descriptor. O_NONBLOCK:
//    a FIFO must not make the generator (and so every daemon-reload and
//    the boot) wait; its type is refused before the open anyway.
// The trust rule is sudo's and sshd's StrictModes: owned by root and not
// writable by group or others; a directory may be world-writable when
// sticky (/tmp): others cannot rename or remove root's entries there.
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';

/** Linux O_PATH (not in fs.constants); the same value on x86, arm and riscv. */
const O_PATH = 0o10000000;
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** The most a config or /etc/subhosts.conf may weigh (1.6 configs are a few hundred bytes). */
export const MAX_TEXT_BYTES = 1 << 20;
/** Symlinks followed on one path at most (the kernel's MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * A file refused, with why. `code` is the errno when the file could not
 * be opened at all (ENOENT: not there, or on a filesystem not mounted
 * yet); `untrusted` when someone other than root could change it.
 */
export class Refused extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly untrusted = false,
  ) {
    super(message);
  }
}

/** Test seam: called after each directory of the walk was opened and checked. */
export type StepHook = (dir: string) => void;

function kind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

/** Why root should not trust this file or directory, or undefined. */
export function ownershipReason(what: string, path: string, st: Stats): string | undefined {
  if (st.uid !== 0) return `the ${what} ${path} is owned by uid ${st.uid}, not root`;
  if (st.mode & 0o022 && !(st.isDirectory() && st.mode & 0o1000)) {
    return `the ${what} ${path} is writable by ${st.mode & 0o002 ? 'others' : 'group'} (mode ${(st.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;

function closeAll(fds: number[]): void {
  for (const fd of fds.splice(0)) closeSync(fd);
}

/** The last component of a path, reached by a trusted walk. */
interface Reached {
  /** Descriptors of the directories walked (the last one holds the file); close them. */
  dirs: number[];
  name: string;
  /** The path as resolved (symlinks followed), for messages. */
  path: string;
  /** lstat of the last component, from an O_PATH descriptor. */
  st: Stats;
}

/**
 * Walks to `path` from / by descriptors, checking each directory (and
 * each symlink followed) is root's alone. `trust: false` only resolves
 * (the walk still never follows a symlink it has not read itself).
 */
function walk(path: string, trust: boolean, onStep?: StepHook): Reached {
  const dirs: number[] = [];
  try {
    const root = openSync('/', O_PATH | O_DIRECTORY);
    dirs.push(root);
    const rootWhy = trust ? ownershipReason('directory', '/', fstatSync(root)) : undefined;
    if (rootWhy) throw new Refused(rootWhy, undefined, true);
    const names: string[] = [];
    let todo = resolve(path).split('/').filter(Boolean);
    let links = 0;
    if (todo.length === 0) throw new Refused(`${path} is a directory, not a regular file`);
    while (todo.length) {
      const c = todo.shift()!;
      if (c === '.') continue;
      if (c === '..') {
        if (dirs.length > 1) {
          closeSync(dirs.pop()!);
          names.pop();
        }
        continue;
      }
      const here = `/${[...names, c].join('/')}`;
      const top = dirs[dirs.length - 1]!;
      let fd: number;
      try {
        fd = openSync(at(top, c), O_PATH | O_NOFOLLOW);
      } catch (e) {
        throw new Refused(`cannot open ${here}: ${errno(e)}`, errno(e));
      }
      let st: Stats;
      try {
        st = fstatSync(fd);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      if (st.isSymbolicLink()) {
        closeSync(fd);
        if (++links > MAX_LINKS) throw new Refused(`too many levels of symbolic links at ${here} (a symlink loop?)`, 'ELOOP');
        if (trust && st.uid !== 0) throw new Refused(`the symlink ${here} is owned by uid ${st.uid}, not root`, undefined, true);
        // Read the link in the directory checked above (not by its path).
        const target = readlinkSync(at(top, c));
        if (target.startsWith('/')) {
          closeAll(dirs.splice(1));
          names.length = 0;
        }
        todo = [...target.split('/').filter(Boolean), ...todo];
        if (todo.length === 0) throw new Refused(`${here} leads to a directory, not a regular file`);
        continue;
      }
      if (todo.length === 0) {
        closeSync(fd);
        return { dirs, name: c, path: here, st };
      }
      if (!st.isDirectory()) {
        closeSync(fd);
        throw new Refused(`cannot open ${here}: ENOTDIR`, 'ENOTDIR');
      }
      dirs.push(fd);
      names.push(c);
      const why = trust ? ownershipReason('directory', here, st) : undefined;
      if (why) throw new Refused(why, undefined, true);
      onStep?.(here);
    }
    // The path ended on "." or "..".
    throw new Refused(`${path} is a directory, not a regular file`);
  } catch (e) {
    closeAll(dirs);
    throw e;
  }
}

export interface ReadOptions {
  /** Apply the ownership rule to the file and every directory above it (default true). */
  trust?: boolean;
  /** Test seam (see StepHook). */
  onStep?: StepHook;
}

export interface TextFile {
  text: string;
  /** The path as resolved (symlinks followed). */
  path: string;
}

/**
 * The text of a config (or of /etc/subhosts.conf): the whole discipline
 * above, then the bytes, which must be text (no NUL: random bytes would
 * otherwise make one message per "line").
 */
export function readTextFile(path: string, opts: ReadOptions = {}): TextFile {
  const trust = opts.trust ?? true;
  const r = walk(path, trust, opts.onStep);
  let fd: number | undefined;
  try {
    // Refuse by type before opening for reading: opening a device can act.
    if (!r.st.isFile()) throw new Refused(`the file ${r.path} is ${kind(r.st)}, not a regular file`);
    try {
      fd = openSync(at(r.dirs[r.dirs.length - 1]!, r.name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (e) {
      throw new Refused(`cannot open ${r.path}: ${errno(e)}`, errno(e));
    }
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Refused(`the file ${r.path} is ${kind(st)}, not a regular file`);
    const why = trust ? ownershipReason('file', r.path, st) : undefined;
    if (why) throw new Refused(why, undefined, true);
    if (st.size > MAX_TEXT_BYTES) {
      throw new Refused(`the file ${r.path} has ${st.size} bytes, more than the ${MAX_TEXT_BYTES} (1 MiB) allowed`);
    }
    // Read at most one byte past the limit: the file may grow meanwhile.
    // The buffer starts at the file's size, not the limit: `list` and the
    // generator read hundreds of configs of a few hundred bytes each
    // (zeroing 1 MiB per file cost `list` of 200 about 100 ms).
    let buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const more = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_TEXT_BYTES + 1));
        buf.copy(more, 0, 0, n);
        buf = more;
      }
      const k = readSync(fd, buf, n, buf.length - n, null);
      if (k === 0) break;
      n += k;
      if (n > MAX_TEXT_BYTES) throw new Refused(`the file ${r.path} grew past ${MAX_TEXT_BYTES} bytes (1 MiB) while being read`);
    }
    const nul = buf.subarray(0, n).indexOf(0);
    if (nul >= 0) throw new Refused(`the file ${r.path} is not text (a NUL byte at offset ${nul})`);
    return { text: buf.toString('utf8', 0, n), path: r.path };
  } finally {
    if (fd !== undefined) closeSync(fd);
    closeAll(r.dirs);
  }
}

/**
 * Checks a program root would run (a `!command`, a hook) is root's
 * alone: the same walk, then the file itself (not opened: it is executed
 * by path, and everything leading to it is root's). Returns the path as
 * resolved; throws Refused (code ENOENT when it is not there).
 */
export function checkProgram(path: string, onStep?: StepHook): string {
  const r = walk(path, true, onStep);
  closeAll(r.dirs);
  if (!r.st.isFile()) throw new Refused(`the program ${r.path} is ${kind(r.st)}, not a regular file`);
  const why = ownershipReason('program', r.path, r.st);
  if (why) throw new Refused(why, undefined, true);
  return r.path;
}
