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
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
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

/**
 * Test seam: the unit tests, run as a normal user, make their fixtures as
 * that user, and set OVERLAY_BOOT_TRUST_OWN_FILES=1 for themselves and the
 * commands they run (test/unit/as-user.ts): that user's files are then
 * trusted as root's are. A process running as root ignores it (the rule
 * is what protects root; a normal user's process can only fool itself),
 * and the rule itself is tested as root.
 */
let ownFiles: number | undefined | null = null;
function trustedOwner(uid: number): boolean {
  if (ownFiles === null) {
    const euid = process.geteuid?.() ?? 0;
    ownFiles = euid !== 0 && process.env.OVERLAY_BOOT_TRUST_OWN_FILES === '1' ? euid : undefined;
  }
  return uid === 0 || uid === ownFiles;
}

/** Why root should not trust this file or directory, or undefined. */
export function ownershipReason(what: string, path: string, st: Stats): string | undefined {
  if (!trustedOwner(st.uid)) return `the ${what} ${path} is owned by uid ${st.uid}, not root`;
  if (st.mode & 0o022 && !(st.isDirectory() && st.mode & 0o1000)) {
    return `the ${what} ${path} is writable by ${st.mode & 0o002 ? 'others' : 'group'} (mode ${(st.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;

function closeAll(fds: number[], keep?: TrustedDirs): void {
  for (const fd of fds.splice(0)) if (!keep?.owns(fd)) closeSync(fd);
}

/**
 * Directories found root's alone by earlier walks of one run over many
 * files (the generator reads every registered config at each boot and
 * daemon-reload, most of them below the same few directories): the walk
 * starts from the deepest one already known instead of from / again.
 * Each is kept as the O_PATH descriptor that was checked, so the rule
 * above still holds for what is read: every directory of the walk was
 * opened relative to the one above it and found root's alone, only
 * earlier in the run. Keyed by the path the walk reached it by, which
 * holds no symlink (a link met is read and walked, never kept); only
 * root could have renamed such a directory since, and only root can
 * chown or chmod it. For one run only: close() it at the end.
 */
export class TrustedDirs {
  private readonly byPath = new Map<string, number>();
  private readonly fds = new Set<number>();
  /** Descriptors kept at most: a run reads configs in many directories; the shared ancestors are what pays. */
  constructor(private readonly max = 256) {}

  get(path: string): number | undefined {
    return this.byPath.get(path);
  }

  add(path: string, fd: number): boolean {
    if (this.byPath.has(path) || this.byPath.size >= this.max) return false;
    this.byPath.set(path, fd);
    this.fds.add(fd);
    return true;
  }

  owns(fd: number): boolean {
    return this.fds.has(fd);
  }

  close(): void {
    for (const fd of this.fds) closeSync(fd);
    this.fds.clear();
    this.byPath.clear();
  }
}

/** The last component of a path, reached by a trusted walk. */
interface Reached {
  /** Descriptors of the directories walked (the last one holds the file); close them. */
  dirs: number[];
  name: string;
  /** The path as resolved (symlinks followed), for messages. */
  path: string;
  /** lstat of the last component, in the directory walked (dirs' last). */
  st: Stats;
  /** Owns some of dirs: those stay open. */
  cache?: TrustedDirs;
}

/**
 * Walks to `path` from / by descriptors, checking each directory (and
 * each symlink followed) is root's alone. `trust: false` only resolves
 * (the walk still never follows a symlink it has not read itself).
 */
function walk(path: string, trust: boolean, onStep?: StepHook, known?: TrustedDirs): Reached {
  const dirs: number[] = [];
  // Only a walk that checks every directory may use (and add to) directories found trusted.
  const cache = trust ? known : undefined;
  try {
    const names: string[] = [];
    let todo = resolve(path).split('/').filter(Boolean);
    const cachedRoot = cache?.get('/');
    if (cachedRoot !== undefined) {
      // The directories above the file already walked, in order (all of
      // them: ".." in a symlink met later pops back through them).
      dirs.push(cachedRoot);
      for (let fd = cache!.get(`/${todo[0]}`); fd !== undefined && todo.length > 1; fd = cache!.get(`/${[...names, todo[0]].join('/')}`)) {
        dirs.push(fd);
        names.push(todo.shift()!);
      }
    } else {
      const root = openSync('/', O_PATH | O_DIRECTORY);
      dirs.push(root);
      const rootWhy = trust ? ownershipReason('directory', '/', fstatSync(root)) : undefined;
      if (rootWhy) throw new Refused(rootWhy, undefined, true);
      cache?.add('/', root);
    }
    let links = 0;
    if (todo.length === 0) throw new Refused(`${path} is a directory, not a regular file`);
    while (todo.length) {
      const c = todo.shift()!;
      if (c === '.') continue;
      if (c === '..') {
        if (dirs.length > 1) {
          const up = dirs.pop()!;
          if (!cache?.owns(up)) closeSync(up);
          names.pop();
        }
        continue;
      }
      const here = `/${[...names, c].join('/')}`;
      const top = dirs[dirs.length - 1]!;
      // A directory is opened (the walk goes on from it); the last
      // component is only lstat'ed in the directory checked above (as
      // fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) would): the caller
      // opens it once its type is known. One system call, not three.
      let fd: number | undefined;
      let st: Stats;
      try {
        if (todo.length === 0) st = lstatSync(at(top, c));
        else fd = openSync(at(top, c), O_PATH | O_NOFOLLOW);
      } catch (e) {
        throw new Refused(`cannot open ${here}: ${errno(e)}`, errno(e));
      }
      if (fd !== undefined) {
        try {
          st = fstatSync(fd);
        } catch (e) {
          closeSync(fd);
          throw e;
        }
      }
      st = st!;
      if (st.isSymbolicLink()) {
        if (fd !== undefined) closeSync(fd);
        if (++links > MAX_LINKS) throw new Refused(`too many levels of symbolic links at ${here} (a symlink loop?)`, 'ELOOP');
        if (trust && !trustedOwner(st.uid)) throw new Refused(`the symlink ${here} is owned by uid ${st.uid}, not root`, undefined, true);
        // Read the link in the directory checked above (not by its path).
        const target = readlinkSync(at(top, c));
        if (target.startsWith('/')) {
          closeAll(dirs.splice(1), cache);
          names.length = 0;
        }
        todo = [...target.split('/').filter(Boolean), ...todo];
        if (todo.length === 0) throw new Refused(`${here} leads to a directory, not a regular file`);
        continue;
      }
      if (fd === undefined) return { dirs, name: c, path: here, st, cache };
      if (!st.isDirectory()) {
        closeSync(fd);
        throw new Refused(`cannot open ${here}: ENOTDIR`, 'ENOTDIR');
      }
      dirs.push(fd);
      names.push(c);
      const why = trust ? ownershipReason('directory', here, st) : undefined;
      if (why) throw new Refused(why, undefined, true);
      cache?.add(here, fd);
      onStep?.(here);
    }
    // The path ended on "." or "..".
    throw new Refused(`${path} is a directory, not a regular file`);
  } catch (e) {
    closeAll(dirs, cache);
    throw e;
  }
}

export interface ReadOptions {
  /** Apply the ownership rule to the file and every directory above it (default true). */
  trust?: boolean;
  /** Test seam (see StepHook); not called for directories taken from `known`. */
  onStep?: StepHook;
  /** Directories found trusted earlier in this run (used only with trust). */
  known?: TrustedDirs;
  /**
   * A file over the limit is not refused: its first MAX_TEXT_BYTES are
   * read, up to the last whole line (/etc/subhosts.conf: the subhosts
   * listed first keep their units).
   */
  head?: boolean;
}

export interface TextFile {
  text: string;
  /** The path as resolved (symlinks followed). */
  path: string;
  /** With `head`, for a file over the limit: its size; `text` is its first whole lines. */
  truncatedFrom?: number;
}

/**
 * The text of a config (or of /etc/subhosts.conf): the whole discipline
 * above, then the bytes, which must be text (no NUL: random bytes would
 * otherwise make one message per "line").
 */
export function readTextFile(path: string, opts: ReadOptions = {}): TextFile {
  const trust = opts.trust ?? true;
  const r = walk(path, trust, opts.onStep, opts.known);
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
    if (st.size > MAX_TEXT_BYTES && opts.head) {
      const head = Buffer.allocUnsafe(MAX_TEXT_BYTES);
      let n = 0;
      for (let k = 1; k > 0 && n < MAX_TEXT_BYTES; n += k) k = readSync(fd, head, n, MAX_TEXT_BYTES - n, null);
      const end = head.subarray(0, n).lastIndexOf(10) + 1;
      const nul = head.subarray(0, end).indexOf(0);
      if (nul >= 0) throw new Refused(`the file ${r.path} is not text (a NUL byte at offset ${nul})`);
      return { text: head.toString('utf8', 0, end), path: r.path, truncatedFrom: st.size };
    }
    if (st.size > MAX_TEXT_BYTES) {
      throw new Refused(`the file ${r.path} has ${st.size} bytes, more than the ${MAX_TEXT_BYTES} (1 MiB) allowed`);
    }
    // Read at most one byte past the limit: the file may grow meanwhile.
    // The buffer starts at the size fstat gave (plus one byte, to see the
    // end in one read) and grows only for a file that grows: a 1 MiB
    // buffer per config made 1000 configs spend most of their time in
    // allocation and garbage collection.
    let buf = Buffer.allocUnsafe(Math.min(st.size, MAX_TEXT_BYTES) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const more = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_TEXT_BYTES + 1));
        buf.copy(more, 0, 0, n);
        buf = more;
      }
      const want = buf.length - n;
      const k = readSync(fd, buf, n, want, null);
      if (k === 0) break;
      n += k;
      if (n > MAX_TEXT_BYTES) throw new Refused(`the file ${r.path} grew past ${MAX_TEXT_BYTES} bytes (1 MiB) while being read`);
      // Fewer bytes than asked for, ending at the size fstat gave: the
      // end of the file, without one more read(2) to be told so.
      if (k < want && n === st.size) break;
    }
    const nul = buf.subarray(0, n).indexOf(0);
    if (nul >= 0) throw new Refused(`the file ${r.path} is not text (a NUL byte at offset ${nul})`);
    return { text: buf.toString('utf8', 0, n), path: r.path };
  } finally {
    if (fd !== undefined) closeSync(fd);
    closeAll(r.dirs, r.cache);
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
