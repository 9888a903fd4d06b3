// The export format of a subhost (overlay-boot export/import/move) and the
// reader that checks an archive before anything of it is extracted.
//
// An export is one POSIX (pax) tar stream made by GNU tar, compressed with
// zstd:
//   overlay-boot-export/manifest.json   first: NAME, format, versions, LOWER...
//   overlay-boot-export/subhost.conf    the config, BASE=. (paths relative to BASE)
//   overlay-boot-export/upper/...       UPPER exactly: numeric owners, modes,
//                                       xattrs (trusted.overlay.*, security.*),
//                                       ACLs, whiteouts (char 0:0), hard links,
//                                       sparse files (GNU.sparse 1.0)
// GNU tar writes it and extracts it (the one tool that restores all of
// that); this file reads the headers itself, because an archive to import
// is hostile input: every member is checked (its path, its type, where a
// link points) before GNU tar is let at it. A tar without the manifest is
// taken as a plain tree, as `machinectl export-tar` makes of a directory
// image (members ./...): the whole of it is UPPER.
import type { Readable } from 'node:stream';

export const FORMAT = 'overlay-boot-export';
export const FORMAT_VERSION = 1;
export const PREFIX = `${FORMAT}/`;
export const MANIFEST = `${PREFIX}manifest.json`;
export const CONFIG = `${PREFIX}subhost.conf`;
export const UPPER = `${PREFIX}upper`;

/** What GNU tar needs, both ways, to keep everything of UPPER (numeric: owners are the subhost's, not this host's names). */
export const TAR_KEEP = ['--xattrs', '--xattrs-include=*', '--acls', '--numeric-owner', '--sparse'];

/**
 * GNU tar's arguments that write an export to stdout: the manifest and
 * the config from META (a directory holding overlay-boot-export/), then
 * UPPER under overlay-boot-export/upper (hard link targets renamed too,
 * symlink targets never: they are the subhost's own paths).
 */
export function exportTarArgs(meta: string, upper: string): string[] {
  return [
    '-c',
    '-f',
    '-',
    '--format=posix',
    ...TAR_KEEP,
    // No atime/ctime records: they cannot be restored, and would make two exports of the same tree differ.
    '--pax-option=delete=atime,delete=ctime',
    '-C',
    meta,
    MANIFEST,
    CONFIG,
    '--transform=flags=rhS;s,^\\.\\(/\\|$\\),overlay-boot-export/upper\\1,',
    '-C',
    upper,
    '.',
  ];
}

/** GNU tar's arguments that extract a checked archive FILE (compressed with `decompress`, a tar flag) into DIR, as root: owners, modes, xattrs, ACLs as recorded. */
export function extractTarArgs(file: string, dir: string, decompress?: string): string[] {
  return [
    '-x',
    '-f',
    file,
    ...(decompress ? [decompress] : []),
    ...TAR_KEEP,
    '--same-owner',
    '--same-permissions',
    '--keep-old-files',
    '-C',
    dir,
  ];
}

/** Compressions an import accepts, by their magic bytes; export writes zstd. */
export const DECOMPRESSORS: { name: string; magic: number[]; argv: string[]; tarFlag: string }[] = [
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], argv: ['zstd', '-dcq'], tarFlag: '--zstd' },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], argv: ['xz', '-dcq'], tarFlag: '--xz' },
  { name: 'gzip', magic: [0x1f, 0x8b], argv: ['gzip', '-dcq'], tarFlag: '--gzip' },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], argv: ['bzip2', '-dcq'], tarFlag: '--bzip2' },
];

/** The decompressor for a stream starting with HEAD, or undefined for a plain tar. */
export function decompressorFor(head: Buffer): (typeof DECOMPRESSORS)[number] | undefined {
  return DECOMPRESSORS.find((d) => d.magic.every((b, i) => head[i] === b));
}

export type Layout = 'export' | 'tree';

export interface Scanned {
  layout: Layout;
  manifest?: string;
  config?: string;
  members: number;
  /** Bytes of file content (real sizes, holes included). */
  bytes: number;
  /** Bytes of file data the archive stores (what extracting it writes, holes left out). */
  stored: number;
  /** Whiteouts, hard links, symlinks, sparse files, files with xattrs: what the import keeps. */
  counts: { whiteouts: number; hardlinks: number; symlinks: number; sparse: number; xattrs: number; setid: number };
}

/** An archive refused: the member and why. */
export class Refused extends Error {}

/** Reads exactly what is asked of a stream, chunk by chunk. */
class Bytes {
  private chunks: Buffer[] = [];
  private have = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;
  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  private async fill(n: number): Promise<boolean> {
    while (this.have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.chunks.push(r.value);
        this.have += r.value.length;
      }
    }
    return this.have >= n;
  }
  /** N bytes, or undefined at the end of the stream. */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const left = all.subarray(n);
    this.chunks = left.length ? [left] : [];
    this.have = left.length;
    return out;
  }
  /** Skip N bytes; false when the stream ended first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.have === 0 && !(await this.fill(1))) return false;
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        this.have -= c.length;
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        this.have -= n;
        n = 0;
      }
    }
    return true;
  }
  /** Drain the rest (the compressor must see its stream read to the end). */
  async drain(): Promise<void> {
    while (!(await this.it.next()).done) {
      /* padding after the end blocks */
    }
  }
}

const BLOCK = 512;
const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

function str(h: Buffer, off: number, len: number): string {
  const f = h.subarray(off, off + len);
  const z = f.indexOf(0);
  return (z < 0 ? f : f.subarray(0, z)).toString('utf8');
}

/** A numeric header field: octal text, or GNU base-256 (high bit set). */
function num(h: Buffer, off: number, len: number): number {
  if (h[off]! & 0x80) {
    let v = h[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + h[off + i]!;
    return v;
  }
  const t = str(h, off, len).trim();
  if (t === '') return 0;
  if (!/^[0-7]+$/.test(t)) throw new Refused(`a header field is not a number ("${t}")`);
  return Number.parseInt(t, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  const recorded = str(h, 148, 8).trim();
  return /^[0-7]+$/.test(recorded) && sum === Number.parseInt(recorded, 8);
}

/** pax records: "LEN key=value\n" each. */
function paxRecords(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number.parseInt(b.subarray(i, sp).toString('ascii'), 10);
    if (!Number.isSafeInteger(len) || len <= sp - i || i + len > b.length) throw new Refused('a pax header is malformed');
    const rec = b.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq < 0) throw new Refused('a pax record has no "="');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/**
 * A member's path made plain, or a refusal: relative, no `..`, no empty
 * or `.` component but a leading `./` (what `tar -C DIR .` writes).
 */
export function plainPath(raw: string): string {
  if (raw.includes('\0')) throw new Refused(`a path holds a NUL byte`);
  if (raw.startsWith('/')) throw new Refused(`${JSON.stringify(raw)} is an absolute path`);
  let p = raw;
  while (p.startsWith('./')) p = p.slice(2);
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '' || p === '.') return '.';
  for (const c of p.split('/')) {
    if (c === '..') throw new Refused(`${JSON.stringify(raw)} leads out with ".."`);
    if (c === '' || c === '.') throw new Refused(`${JSON.stringify(raw)} is not a plain path`);
  }
  return p;
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.');

/** The largest manifest and config an import reads (the config's own limit is 1 MiB). */
const META_MAX = 1 << 20;

/**
 * Reads a whole (decompressed) tar stream and checks every member, without
 * writing anything: paths plain and inside the tree, every member's parent
 * a directory listed before it (so no member goes through a symlink or a
 * file), no path twice, hard links only to files listed before them, no
 * device but overlayfs whiteouts (char 0:0), no types GNU tar would treat
 * specially (multi-volume, dumpdir, global headers). Returns the manifest
 * and config texts of an export, and counts.
 */
export async function scanTar(stream: Readable): Promise<Scanned> {
  const r = new Bytes(stream);
  const seen = new Map<string, string>(); // plain path -> type ('d', 'f', 'l', 'h', 'c', 'p')
  const res: Scanned = {
    layout: 'tree',
    members: 0,
    bytes: 0,
    stored: 0,
    counts: { whiteouts: 0, hardlinks: 0, symlinks: 0, sparse: 0, xattrs: 0, setid: 0 },
  };
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  const extSeen = new Set<string>();
  let first = true;
  let zeros = 0;
  for (;;) {
    const h = await r.read(BLOCK);
    if (!h) {
      if (zeros === 0 && first) throw new Refused('the archive is empty');
      if (zeros === 0) throw new Refused('the archive ends in the middle (no end blocks)');
      break;
    }
    if (h.every((b) => b === 0)) {
      if (++zeros === 2) break;
      continue;
    }
    if (zeros) throw new Refused('an end block in the middle of the archive');
    if (!checksumOk(h)) throw new Refused(`a header's checksum is wrong (not a tar archive, or a damaged one)`);
    const type = String.fromCharCode(h[156] || 0x30);
    let size = num(h, 124, 12);
    // Extension headers: they describe the next member.
    if (type === 'x' || type === 'L' || type === 'K') {
      if (size > META_MAX) throw new Refused('an extended header is larger than 1 MiB');
      const body = await r.read(size + pad(size));
      if (!body) throw new Refused('the archive ends in the middle of a header');
      const data = body.subarray(0, size);
      // Two of a kind before one member: tars differ in which one counts, so the check could read another name than tar.
      if (extSeen.has(type)) throw new Refused(`two extended headers of type "${type}" for one member`);
      extSeen.add(type);
      if (type === 'x') for (const [k, v] of paxRecords(data)) pax.set(k, v);
      else if (type === 'L') longName = str(data, 0, data.length);
      else longLink = str(data, 0, data.length);
      continue;
    }
    extSeen.clear();
    if (type === 'g') throw new Refused('a global pax header (it would apply to every member after it)');
    // The name as GNU tar reads it: the POSIX prefix only in a POSIX header
    // ("ustar\0" "00"; an old GNU header keeps times there).
    const magic = h.subarray(257, 265).toString('latin1');
    const prefix = magic.startsWith('ustar\u0000') ? str(h, 345, 155) : '';
    if (prefix && magic !== 'ustar\u000000') throw new Refused('a header with a name prefix but no POSIX version');
    // GNU tar takes GNU.sparse.name for the name only in sparse format 1.0 (what export writes).
    const sparse10 = pax.get('GNU.sparse.major') === '1' && pax.get('GNU.sparse.minor') === '0';
    if ([...pax.keys()].some((k) => k.startsWith('GNU.sparse.')) && !sparse10) {
      throw new Refused('a sparse member in a pax sparse format other than 1.0');
    }
    const rawName =
      (sparse10 ? pax.get('GNU.sparse.name') : undefined) ??
      pax.get('path') ??
      longName ??
      (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const rawLink = pax.get('linkpath') ?? longLink ?? str(h, 157, 100);
    if (pax.has('size')) size = Number(pax.get('size'));
    if (!Number.isSafeInteger(size) || size < 0) throw new Refused(`${JSON.stringify(rawName)}: a bad size`);
    const xattrs = [...pax.keys()].filter((k) => k.startsWith('SCHILY.xattr.') || k.startsWith('LIBARCHIVE.xattr.'));
    const sparse = type === 'S' || sparse10;
    const realSize = Number((sparse10 && pax.get('GNU.sparse.realsize')) || size);
    const devMajor = pax.get('SCHILY.devmajor');
    const devMinor = pax.get('SCHILY.devminor');
    pax = new Map();
    longName = longLink = undefined;
    // Old GNU sparse members carry extension blocks of their map.
    if (type === 'S' && h[482]) {
      for (;;) {
        const ext = await r.read(BLOCK);
        if (!ext) throw new Refused('the archive ends in a sparse map');
        if (!ext[504]) break;
      }
    }

    const what = (why: string) => new Refused(`member ${JSON.stringify(rawName)}: ${why}`);
    // GNU tar makes a directory of any member whose name ends in "/".
    if (rawName.endsWith('/') && type !== '5') throw what('a name ending in "/" that is no directory');
    let p: string;
    try {
      p = plainPath(rawName);
    } catch (e) {
      throw what((e as Error).message);
    }
    if (first && p === MANIFEST) res.layout = 'export';
    first = false;

    // Where the member sits: the manifest and config of an export, or its tree.
    if (res.layout === 'export') {
      if (p === MANIFEST || p === CONFIG) {
        if (type !== '0' && type !== '7') throw what('must be a plain file');
        if (seen.has(p)) throw what('is in the archive twice');
        if (size > META_MAX) throw what('is larger than 1 MiB');
        const body = await r.read(size + pad(size));
        if (!body) throw what('the archive ends inside it');
        const text = body.subarray(0, size).toString('utf8');
        if (p === MANIFEST) res.manifest = text;
        else res.config = text;
        seen.set(p, 'm');
        res.members++;
        continue;
      }
      if (p !== UPPER && !p.startsWith(`${UPPER}/`)) throw what(`is outside ${UPPER}/ (not part of an export)`);
    }
    const root = res.layout === 'export' ? UPPER : '.';
    if (seen.has(p)) throw what('is in the archive twice');
    if (p === root) {
      if (type !== '5') throw what('the top of the tree must be a directory');
    } else {
      const parent = parentOf(p);
      const pt = seen.get(parent);
      if (pt === undefined) throw what(`its directory ${JSON.stringify(parent)} is not listed before it`);
      if (pt !== 'd') throw what(`its parent ${JSON.stringify(parent)} is not a directory (a path through a link or a file)`);
    }
    const mode = num(h, 100, 8);
    if (mode & 0o6000) res.counts.setid++;
    if (xattrs.length) res.counts.xattrs++;
    let kind: string;
    switch (type) {
      case '0':
      case '7':
      case 'S':
        kind = 'f';
        res.bytes += realSize;
        res.stored += size;
        if (sparse) res.counts.sparse++;
        break;
      case '5':
        kind = 'd';
        break;
      case '2':
        kind = 'l';
        if (rawLink === '' || rawLink.includes('\0')) throw what('a symlink without a target');
        res.counts.symlinks++;
        break;
      case '1': {
        kind = 'h';
        let t: string;
        try {
          t = plainPath(rawLink);
        } catch (e) {
          throw what(`a hard link whose target ${(e as Error).message}`);
        }
        const tt = seen.get(t);
        if (res.layout === 'export' && !t.startsWith(`${UPPER}/`)) throw what('a hard link out of the tree');
        if (tt === undefined) throw what(`a hard link to ${JSON.stringify(rawLink)}, which is not listed before it`);
        if (tt !== 'f' && tt !== 'l' && tt !== 'c' && tt !== 'p') throw what(`a hard link to ${JSON.stringify(rawLink)}, which is no file`);
        res.counts.hardlinks++;
        break;
      }
      case '3': {
        const major = devMajor !== undefined ? Number(devMajor) : num(h, 329, 8);
        const minor = devMinor !== undefined ? Number(devMinor) : num(h, 337, 8);
        if (major !== 0 || minor !== 0) throw what(`a character device ${major}:${minor} (only overlayfs whiteouts, 0:0, are taken)`);
        kind = 'c';
        res.counts.whiteouts++;
        break;
      }
      case '4':
        throw what('a block device');
      case '6':
        kind = 'p';
        break;
      default:
        throw what(`of tar type "${type}", which an import does not take`);
    }
    seen.set(p, kind);
    res.members++;
    // Data follows files only (a hard link's size is 0 in GNU tar; skip what a header says anyway).
    const stored = kind === 'f' ? size : 0;
    if (!(await r.skip(stored + pad(stored)))) throw what('the archive ends inside it');
  }
  await r.drain();
  if (res.layout === 'export') {
    if (res.config === undefined) throw new Refused(`no ${CONFIG} in the export`);
    if (!seen.has(UPPER)) throw new Refused(`no ${UPPER}/ in the export`);
  } else if (!seen.has('.')) {
    throw new Refused('the tree has no top directory "./" (not a tar of a directory, as machinectl export-tar makes)');
  }
  return res;
}
