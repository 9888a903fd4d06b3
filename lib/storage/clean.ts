// overlay-clean-root's core: remove from UPPER what is identical to what
// it shadows in LOWER, so that the merged view (LOWER+UPPER through
// overlayfs) stays exactly the same.
//
// Identical means: same type, permission bits, owner, group, extended
// attributes, link count, and then the same content (regular files),
// symlink target (symlinks) or device number (devices). Timestamps are not
// compared (1.6 compared content only): after cleaning, the merged view
// shows LOWER's times for what was removed.
//
// Never removed: whiteouts (char 0:0), entries carrying overlayfs
// attributes that mean something (opaque and redirected directories,
// metacopy files, xattr whiteouts...: any trusted.overlay.* but the
// bookkeeping ones, see BOOKKEEPING), anything inside an opaque or
// redirected directory (it shadows nothing at its own path), anything
// across a mount point (overlayfs sees neither UPPER's nor LOWER's
// submounts), WORK, and UPPER itself. Directories go only when they end up
// empty and match LOWER's directory in mode, owner and attributes.
// Hard links go only when every link of the UPPER inode goes and their
// counterparts are one LOWER inode with as many links.

// Paths: UPPER, LOWER and WORK must be absolute and free of symlinks
// (realpath). The walk uses lstat and readdir only, descends only into
// real directories (on both sides), so nothing is ever followed out of
// UPPER or LOWER; files are opened with O_NOFOLLOW and checked against
// their lstat.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmdirSync,
  unlinkSync,
  type BigIntStats,
} from 'node:fs';
import { overlayAttrs, readXattrs, sameXattrs, type Xattrs } from './xattr.js';

export interface CleanOptions {
  upper: string;
  lower: string;
  /** overlayfs workdir; never touched (it is normally beside UPPER, not in it). */
  work?: string;
  dryRun?: boolean;
}

export type EntryKind = 'file' | 'directory' | 'symlink' | 'char device' | 'block device' | 'fifo' | 'socket' | 'whiteout';

export interface Removed {
  /** Path relative to UPPER. */
  rel: string;
  kind: EntryKind;
  /** Space it took (st_blocks * 512; a hard-linked inode counts once). */
  bytes: number;
}

export interface Kept {
  rel: string;
  reason: string;
}

export interface CleanReport {
  upper: string;
  lower: string;
  dryRun: boolean;
  removed: Removed[];
  /** Entries of UPPER that stay, with why (a directory's contents count as one entry when not looked into). */
  kept: Kept[];
  bytes: number;
}

interface Node {
  rel: string;
  upper: string;
  st: BigIntStats;
  kind: EntryKind;
  /** Counterpart in LOWER (a path whose every parent is a real directory of LOWER's filesystem). */
  lower?: string;
  lst?: BigIntStats;
  children?: Node[];
  /** undefined while undecided. */
  keep?: string;
  /** A directory whose contents are not looked at (reason in keep). */
  sealed?: boolean;
}

function kindOf(st: BigIntStats): EntryKind {
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return st.rdev === 0n ? 'whiteout' : 'char device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

function lstatOrUndefined(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
const join = (dir: string, name: string) => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);

// overlayfs attributes that are bookkeeping, not content: `origin` (the
// LOWER inode a copy-up came from; overlayfs also sets it on directories it
// merely looks up), `impure` (a directory holds such entries), `uuid` (on
// UPPER itself). The merged view, inode numbers included, is the same with
// or without the entry that carries them, so they neither make an entry
// special nor count in the comparison. Any other overlayfs attribute
// (opaque, redirect, metacopy, whiteout, nlink, ...) does: the entry stays,
// and so does everything inside such a directory.
const BOOKKEEPING = new Set(['origin', 'impure', 'uuid']);
const overlayName = (k: string) => k.replace(/^(trusted|user)\.overlay\./, '');

/** Do the two regular files hold the same bytes? (Holes read as zeros: a sparse copy is the same content.) */
function sameContent(a: string, ast: BigIntStats, b: string, bst: BigIntStats): boolean {
  if (ast.size !== bst.size) return false;
  const open = (p: string, st: BigIntStats): number => {
    let fd: number;
    try {
      fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NOATIME);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW);
    }
    const f = fstatSync(fd, { bigint: true });
    if (f.ino !== st.ino || f.dev !== st.dev) {
      closeSync(fd);
      throw new Error(`${p} changed while being compared`);
    }
    return fd;
  };
  const fa = open(a, ast);
  let fb: number | undefined;
  try {
    fb = open(b, bst);
    const size = 1 << 20;
    const ba = Buffer.allocUnsafe(size);
    const bb = Buffer.allocUnsafe(size);
    for (;;) {
      const na = readFull(fa, ba);
      const nb = readFull(fb, bb);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
    }
  } finally {
    closeSync(fa);
    if (fb !== undefined) closeSync(fb);
  }
}

function readFull(fd: number, buf: Buffer): number {
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, null);
    if (r === 0) break;
    n += r;
  }
  return n;
}

/** Walk UPPER (and LOWER alongside), compare, and remove (unless dryRun) what is identical. */
export async function cleanRoot(opts: CleanOptions): Promise<CleanReport> {
  const { upper, lower, work } = opts;
  const dryRun = !!opts.dryRun;
  const ust = lstatSync(upper, { bigint: true });
  const lroot = lstatSync(lower, { bigint: true });
  if (!ust.isDirectory()) throw new Error(`${upper} is not a directory`);
  if (!lroot.isDirectory()) throw new Error(`${lower} is not a directory`);

  // --- walk --------------------------------------------------------------
  const all: Node[] = [];
  const root: Node = { rel: '', upper, st: ust, kind: 'directory', lower, lst: lroot, children: [] };
  const walk = (dir: Node) => {
    const names = readdirSync(dir.upper, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const raw of names) {
      const name = raw.toString('utf8');
      const rel = dir.rel ? `${dir.rel}/${name}` : name;
      if (!Buffer.from(name, 'utf8').equals(raw)) {
        // Not valid UTF-8: cannot be named exactly from here; left alone.
        dir.children!.push({ rel, upper: '', st: ust, kind: 'file', keep: 'name is not valid UTF-8 (left alone)' });
        continue;
      }
      const up = join(dir.upper, name);
      const st = lstatSync(up, { bigint: true });
      const n: Node = { rel, upper: up, st, kind: kindOf(st) };
      dir.children!.push(n);
      all.push(n);
      if (work && (inside(up, work) || inside(work, up))) {
        n.keep = up === work ? 'WORK (overlayfs workdir)' : inside(up, work) ? 'inside WORK' : 'holds WORK';
        n.sealed = true;
        continue;
      }
      if (inside(lower, up)) {
        n.keep = up === lower ? 'is LOWER' : 'holds LOWER';
        n.sealed = true;
        continue;
      }
      if (n.kind === 'directory' && st.dev !== ust.dev) {
        n.keep = 'a mount point in UPPER (overlayfs does not see what is mounted there)';
        n.sealed = true;
        continue;
      }
      if (dir.lower) {
        const lp = join(dir.lower, name);
        if (inside(lp, upper) || (work && inside(lp, work))) {
          n.keep = 'its LOWER counterpart is UPPER or WORK itself';
          n.sealed = true;
          continue;
        }
        const lst = lstatOrUndefined(lp);
        if (lst) {
          n.lower = lp;
          n.lst = lst;
        }
      }
      if (n.kind === 'directory') {
        n.children = [];
        if (n.lst?.isDirectory() && n.lst.dev !== lroot.dev) {
          n.keep = 'its LOWER counterpart is a mount point (overlayfs sees what is under it)';
          n.sealed = true;
          continue;
        }
        // Without a directory in LOWER, nothing inside shadows anything.
        if (n.lst?.isDirectory()) walk(n);
        else n.sealed = true;
      }
    }
  };
  walk(root);

  // --- metadata --------------------------------------------------------------
  const differs = (n: Node): string | undefined => {
    const a = n.st;
    const b = n.lst!;
    if (kindOf(b) !== n.kind) return `differs from LOWER (${n.kind} over ${kindOf(b)})`;
    if ((a.mode & 0o7777n) !== (b.mode & 0o7777n)) return 'differs from LOWER (mode)';
    if (a.uid !== b.uid || a.gid !== b.gid) return 'differs from LOWER (owner or group)';
    if (n.kind === 'directory') return undefined;
    if (a.nlink !== b.nlink) return 'differs from LOWER (hard link count)';
    if ((n.kind === 'char device' || n.kind === 'block device') && a.rdev !== b.rdev) return 'differs from LOWER (device number)';
    if (n.kind === 'file' && a.size !== b.size) return 'differs from LOWER (size)';
    if (n.kind === 'symlink' && !readlinkSync(n.upper, { encoding: 'buffer' }).equals(readlinkSync(n.lower!, { encoding: 'buffer' }))) {
      return 'differs from LOWER (symlink target)';
    }
    return undefined;
  };
  const candidates: Node[] = [];
  for (const n of all) {
    if (n.keep) continue;
    if (n.kind === 'whiteout') n.keep = 'whiteout';
    else if (!n.lst) n.keep = 'only in UPPER';
    else n.keep = differs(n);
    if (!n.keep) candidates.push(n);
  }

  // --- extended attributes -------------------------------------------------
  // Every directory looked into (is it opaque or redirected?) and every
  // candidate, on both sides.
  const isCandidate = new Set(candidates);
  const dirs = [root, ...all.filter((n) => n.kind === 'directory' && !n.sealed)];
  const xa = await readXattrs([...new Set([...dirs.map((n) => n.upper), ...candidates.flatMap((n) => [n.upper, n.lower!])])]);
  for (const n of new Set([...dirs, ...candidates])) {
    const ux = new Map(xa.get(n.upper) as Xattrs);
    const special = overlayAttrs(ux).filter((k) => !BOOKKEEPING.has(overlayName(k)));
    if (special.length) {
      const names = special.map(overlayName);
      if (n.kind === 'directory' && names.includes('opaque')) n.keep = 'opaque directory';
      else if (n.kind === 'directory' && names.includes('redirect')) n.keep = 'redirected (renamed) directory';
      else n.keep = `carries overlayfs attributes (${special.join(', ')})`;
      // What is inside shadows nothing at its own path (or we cannot tell).
      if (n.kind === 'directory') n.sealed = true;
      continue;
    }
    // Bookkeeping is not content: compare the rest.
    for (const k of overlayAttrs(ux)) ux.delete(k);
    if (!n.keep && isCandidate.has(n) && !sameXattrs(ux, xa.get(n.lower!) as Xattrs)) n.keep = 'differs from LOWER (extended attributes)';
  }

  // What lies inside a directory that turned out opaque or redirected stays
  // (decided now, so that hard links across its border stay too).
  const seal = (d: Node, why: string) => {
    for (const c of d.children ?? []) {
      c.keep ??= why;
      seal(c, why);
    }
  };
  for (const d of all) if (d.kind === 'directory' && d.sealed) seal(d, `inside ${d.rel}`);

  // --- content ----------------------------------------------------------------
  for (const n of candidates) {
    if (n.keep || n.kind !== 'file') continue;
    try {
      if (!sameContent(n.upper, n.st, n.lower!, n.lst!)) n.keep = 'differs from LOWER (content)';
    } catch (e) {
      n.keep = `not compared: ${(e as Error).message}`;
    }
  }

  // Hard links: the same counts on both sides (checked above); all links of
  // an UPPER inode must go together, and their counterparts be one LOWER inode.
  const groups = new Map<bigint, Node[]>();
  for (const n of all) {
    if (n.kind !== 'directory' && n.st.nlink > 1n) groups.set(n.st.ino, [...(groups.get(n.st.ino) ?? []), n]);
  }
  for (const g of groups.values()) {
    if (g.some((n) => n.keep)) {
      for (const n of g) n.keep ??= 'hard link of an entry that stays';
      continue;
    }
    const whole = BigInt(g.length) === g[0]!.st.nlink;
    const oneLower = g.every((n) => n.lst!.ino === g[0]!.lst!.ino && n.lst!.dev === g[0]!.lst!.dev);
    if (!whole || !oneLower) for (const n of g) n.keep = "hard links that differ from LOWER's";
  }

  // --- directories, bottom up; then the plan -------------------------------
  const removed: Removed[] = [];
  const kept: Kept[] = [];
  const counted = new Set<bigint>();
  const plan: Node[] = [];
  /** Is `n` removed? Children before their directory (post-order). */
  const decide = (n: Node): boolean => {
    if (n.kind === 'directory') {
      let empty = true;
      if (n.sealed) empty = false;
      else for (const c of n.children ?? []) if (!decide(c)) empty = false;
      if (n === root) return false;
      if (n.keep) {
        kept.push({ rel: n.rel, reason: n.keep });
        return false;
      }
      if (!empty) return false; // its entries that stay are listed
      plan.push(n);
      removed.push({ rel: n.rel, kind: 'directory', bytes: Number(n.st.blocks) * 512 });
      return true;
    }
    if (n.keep) {
      kept.push({ rel: n.rel, reason: n.keep });
      return false;
    }
    plan.push(n);
    const first = !counted.has(n.st.ino);
    counted.add(n.st.ino);
    removed.push({ rel: n.rel, kind: n.kind, bytes: first ? Number(n.st.blocks) * 512 : 0 });
    return true;
  };
  decide(root);

  // --- remove -------------------------------------------------------------
  if (!dryRun) {
    // Still the entries that were compared? (Nothing else should be writing
    // UPPER.) Checked for all before removing any: removing a hard link
    // changes its siblings' ctime, removing entries their directory's times.
    const changed = new Set(
      plan.filter((n) => {
        const now = lstatOrUndefined(n.upper);
        return !now || now.ino !== n.st.ino || now.dev !== n.st.dev || now.ctimeNs !== n.st.ctimeNs;
      }),
    );
    const gone = (n: Node): boolean => changed.has(n) || (n.children ?? []).some(gone);
    for (const n of plan) {
      if (gone(n)) {
        const i = removed.findIndex((r) => r.rel === n.rel);
        if (i >= 0) removed.splice(i, 1);
        kept.push({
          rel: n.rel,
          reason: changed.has(n) ? 'changed while cleaning' : 'directory with an entry that changed while cleaning',
        });
        continue;
      }
      if (n.kind === 'directory') rmdirSync(n.upper);
      else unlinkSync(n.upper);
    }
  }

  removed.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  kept.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { upper, lower, dryRun, removed, kept, bytes: removed.reduce((s, r) => s + r.bytes, 0) };
}
