// Who owns a subhost directory: the lock that a start takes on each of
// UPPER, WORK and LIVE (native/lock.c: flock on LOCK_DIR/MAJ:MIN:INO, the
// directory's own device and inode, whatever path leads to it), read from
// the kernel's list of held locks (/proc/locks); and how two subhosts'
// directories overlap, for check and the destructive commands.
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { LOCK_DIR } from '../paths.js';

/** The kernel's major and minor of a dev_t (glibc's gnu_dev_major/minor). */
function devParts(dev: bigint): [bigint, bigint] {
  return [((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn), (dev & 0xffn) | ((dev >> 12n) & ~0xffn)];
}

/** The lock file of directory DIR (any path to it), or undefined when DIR cannot be looked at. */
export function lockFileOf(dir: string): string | undefined {
  try {
    const st = statSync(dir, { bigint: true });
    const [maj, min] = devParts(st.dev);
    return `${LOCK_DIR}/${maj}:${min}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** The inodes of files locked with flock right now, as /proc/locks writes them ("maj:min:ino", hex device). */
function flockedInodes(): Set<string> {
  const held = new Set<string>();
  let text = '';
  try {
    text = readFileSync('/proc/locks', 'utf8');
  } catch {
    return held;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 78 00:819:97 0 EOF"; a waiter's line has "->" after the number.
    if (f[1] === 'FLOCK' && f[5]) held.add(f[5]);
  }
  return held;
}

function lockKey(file: string): string | undefined {
  try {
    const st = statSync(file, { bigint: true });
    const [maj, min] = devParts(st.dev);
    return `${maj.toString(16).padStart(2, '0')}:${min.toString(16).padStart(2, '0')}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export interface Holder {
  /** The subhost that locked it, as its lock file says ("" while a start sets it up). */
  name: string;
  /** As its UPPER, WORK or LIVE. */
  role: string;
  /** The path its config gave. */
  dir: string;
  /** The lock file. */
  lock: string;
}

function ownerOf(lock: string): Holder {
  let line = '';
  try {
    line = readFileSync(lock, 'utf8').split('\n')[0] ?? '';
  } catch {
    /* root's alone: the holder is then not named */
  }
  const m = /^(\S+) (\S+) (.*)$/.exec(line);
  return m ? { name: m[1]!, role: m[2]!, dir: m[3]!, lock } : { name: '', role: '', dir: '', lock };
}

/** Who holds directory DIR now (a subhost's start or its running unit), or undefined. */
export function lockHolder(dir: string): Holder | undefined {
  const lock = lockFileOf(dir);
  const key = lock && lockKey(lock);
  if (!key || !flockedInodes().has(key)) return undefined;
  return ownerOf(lock!);
}

/** The locks held for subhost NAME now, as its lock files name it (for status). */
export function locksOf(name: string): Holder[] {
  let files: string[];
  try {
    files = readdirSync(LOCK_DIR);
  } catch {
    return [];
  }
  const held = flockedInodes();
  const out: Holder[] = [];
  for (const f of files) {
    const lock = `${LOCK_DIR}/${f}`;
    const key = lockKey(lock);
    if (!key || !held.has(key)) continue;
    const h = ownerOf(lock);
    if (h.name === name) out.push(h);
  }
  const order = ['UPPER', 'WORK', 'LIVE'];
  return out.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
}

/** A path with `..` and symlinks resolved (as far as it exists; the rest appended). */
export function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const i = p.lastIndexOf('/');
    if (i <= 0) return p;
    const parent = realPath(p.slice(0, i));
    return `${parent === '/' ? '' : parent}/${p.slice(i + 1)}`;
  }
}

/** Is A the same directory as B, or inside it? (Both resolved.) */
export function within(a: string, b: string): boolean {
  return a === b || b === '/' || a.startsWith(`${b}/`);
}

/** Do the two resolved directories overlap (one is, or holds, the other)? */
export function overlap(a: string, b: string): boolean {
  return within(a, b) || within(b, a);
}

/** Are A and B the same directory object (bind mounts too: same device and inode)? */
export function sameDir(a: string, b: string): boolean {
  try {
    const x = statSync(a, { bigint: true });
    const y = statSync(b, { bigint: true });
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
