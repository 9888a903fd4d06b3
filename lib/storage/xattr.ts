// Extended attributes of many files at once, without following symlinks,
// read with getfattr (package attr): Node has no xattr API. Every
// namespace is read (`-m -`: user., trusted., security., system.posix_acl_*),
// values hex-encoded so that they compare exactly.
import { execa } from 'execa';
import { Failure } from '../errors.js';

/** name -> value as getfattr prints it with -e hex ("0x..."). */
export type Xattrs = Map<string, string>;

// getfattr escapes "\\", "\n", "\r" (and "=" in attribute names) as \ooo.
function unescapeOctal(latin1: string): string {
  return latin1.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8) & 0xff));
}
const utf8 = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8');

/** Parse `getfattr -d -m - -e hex --absolute-names -h` output: path -> its attributes (files without any are absent). */
export function parseGetfattr(out: Buffer | string): Map<string, Xattrs> {
  const text = typeof out === 'string' ? Buffer.from(out, 'utf8').toString('latin1') : out.toString('latin1');
  const res = new Map<string, Xattrs>();
  let cur: Xattrs | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = new Map();
      res.set(utf8(unescapeOctal(line.slice(8))), cur);
    } else if (line !== '' && cur) {
      const i = line.indexOf('=');
      const name = utf8(unescapeOctal(i < 0 ? line : line.slice(0, i)));
      cur.set(name, i < 0 ? '' : line.slice(i + 1));
    }
  }
  return res;
}

/** Batches of paths small enough for one command line. */
function batches(paths: string[], maxBytes = 96 * 1024, maxCount = 1000): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const p of paths) {
    const n = Buffer.byteLength(p) + 1;
    if (cur.length && (bytes + n > maxBytes || cur.length >= maxCount)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(p);
    bytes += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Attributes of each of `paths` (absolute; symlinks not followed). A path without attributes maps to an empty map. */
export async function readXattrs(paths: string[]): Promise<Map<string, Xattrs>> {
  const res = new Map<string, Xattrs>();
  for (const batch of batches(paths)) {
    const r = await execa('getfattr', ['-d', '-m', '-', '-e', 'hex', '--absolute-names', '-h', '--', ...batch], {
      encoding: 'buffer',
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    });
    if (r.failed && r.exitCode === undefined) throw new Failure(`cannot run getfattr (package attr): ${r.shortMessage}`);
    if (r.exitCode !== 0) {
      const why =
        Buffer.from(r.stderr as Uint8Array)
          .toString('utf8')
          .split('\n')[0] || `exit status ${r.exitCode}`;
      throw new Failure(`cannot read extended attributes: ${why}`);
    }
    const parsed = parseGetfattr(Buffer.from(r.stdout as Uint8Array));
    for (const p of batch) res.set(p, parsed.get(p) ?? new Map());
  }
  return res;
}

/** overlayfs's own attributes (trusted.overlay.*, or user.overlay.* on a userxattr mount). */
export function overlayAttrs(x: Xattrs): string[] {
  return [...x.keys()].filter((k) => k.startsWith('trusted.overlay.') || k.startsWith('user.overlay.'));
}

export function sameXattrs(a: Xattrs, b: Xattrs): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
