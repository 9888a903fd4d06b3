// What export, import and move share: the manifest, the config as it
// travels (BASE=., paths relative to BASE), the stream with its checksum,
// and GNU tar and the compressor run as one pipe.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import { PassThrough, Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { parseConfText } from '../../lib/config/parse.js';
import { nameProblem } from '../../lib/config/name.js';
import { Failure, errorText } from '../../lib/errors.js';
import { decompressorFor, exportTarArgs, extractTarArgs, FORMAT, FORMAT_VERSION, Refused, scanTar, type Scanned } from './archive.js';

/** The package version a manifest names (test/unit/archive.test.ts holds it equal to package.json's). */
export const PACKAGE_VERSION = '2.0.0';

/**
 * Where CONTAINMENT=private-users records each subhost's host id range
 * (IDS_DIR/by-name/NAME, a symlink to the first host id; read when there,
 * never required: the files keep their on-disk owners through idmapped
 * mounts, so a range is the host's to give, not the archive's).
 */
export const IDS_DIR = '/var/lib/overlay-boot/ids';
const IDS_SIZE = 0x10000;

/** The recorded id range of NAME, or null. */
export function recordedIds(name: string, dir = IDS_DIR): { first: number; count: number } | null {
  try {
    const text = readlinkSync(`${dir}/by-name/${name}`);
    return /^[0-9]+$/.test(text) ? { first: Number(text), count: IDS_SIZE } : null;
  } catch {
    return null;
  }
}

export interface Manifest {
  format: typeof FORMAT;
  version: number;
  name: string;
  /** The package version that wrote it. */
  package: string;
  /** LOWER as it resolved on the exporting host. */
  lower: string;
  containment: string;
  /** The subhost's host id range on the exporting host (CONTAINMENT=private-users), when it had one. */
  ids: { first: number; count: number } | null;
  /** False when exported while running (--live): files may have changed while they were read. */
  consistent: boolean;
  exportedAt: string;
  exportedFrom: string;
}

export function makeManifest(m: { name: string; lower: string; containment: string; consistent: boolean }): Manifest {
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    name: m.name,
    package: PACKAGE_VERSION,
    lower: m.lower,
    containment: m.containment,
    ids: recordedIds(m.name),
    consistent: m.consistent,
    exportedAt: new Date().toISOString(),
    exportedFrom: hostname(),
  };
}

/** The manifest of an archive, checked: a refusal names what is wrong. */
export function parseManifest(text: string): Manifest {
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch {
    throw new Refused('manifest.json is not JSON');
  }
  if (m?.format !== FORMAT) throw new Refused(`manifest.json: format is not "${FORMAT}"`);
  if (m.version !== FORMAT_VERSION) {
    throw new Refused(
      `manifest.json: format version ${String(m.version)}; this overlay-boot (${PACKAGE_VERSION}) reads version ${FORMAT_VERSION}`,
    );
  }
  // What of it is printed or written into the config's first line: plain words only.
  const problem = typeof m.name === 'string' ? nameProblem(m.name) : 'is missing';
  if (problem) throw new Refused(`manifest.json: its name ${problem}`);
  if (typeof m.exportedFrom !== 'string' || !/^[A-Za-z0-9._-]{1,253}$/.test(m.exportedFrom))
    throw new Refused('manifest.json: exportedFrom is not a host name');
  const ids = m.ids as Manifest['ids'] | undefined;
  const idsOk = ids === null || ids === undefined || (Number.isSafeInteger(ids.first) && Number.isSafeInteger(ids.count));
  if (!idsOk) throw new Refused('manifest.json: ids is not { first, count }');
  return { ...m, ids: ids ?? null } as Manifest;
}

/** Keys whose paths belong to the exporting host's layout: the travelling config has BASE=. and the default UPPER, WORK, LIVE. */
const PLACE_KEYS = new Set(['BASE', 'NAME', 'UPPER', 'WORK', 'LIVE']);

/**
 * The config as exported: BASE=. and NAME=, then every other assignment
 * as written (LOWER as it resolved, absolute). A `!command` that decides
 * where the subhost's files are cannot be followed: refused.
 */
export function exportedConfig(text: string, name: string, lower: string): string {
  const lines = [`# Exported by overlay-boot export (${PACKAGE_VERSION}); overlay-boot import writes it back.`, 'BASE=.', `NAME=${name}`];
  for (const a of parseConfText(text).assignments) {
    if (PLACE_KEYS.has(a.key)) {
      if (a.command) throw new Failure(`line ${a.line}: ${a.key} is a !command: export cannot tell which directory it names`);
      continue;
    }
    lines.push(a.key === 'LOWER' && !a.command ? `LOWER=${lower}` : a.text);
  }
  return `${lines.join('\n')}\n`;
}

/** What a config from an archive may only set with --trust: what runs or reaches on this host beyond BASE. */
export function untrustedKeys(text: string): string[] {
  const out: string[] = [];
  for (const a of parseConfText(text).assignments) {
    if (a.command) out.push(`line ${a.line}: ${a.key}=!... runs a command on this host as root`);
    else if (['PREMOUNT', 'POSTMOUNT', 'INIT'].includes(a.key) && a.value !== '')
      out.push(`line ${a.line}: ${a.key} runs a program on this host as root`);
    else if (a.key === 'SHARE' && a.value !== '') out.push(`line ${a.line}: SHARE binds a directory of this host into the subhost`);
    else if (a.key === 'CONTAINMENT' && a.value === 'none')
      out.push(`line ${a.line}: CONTAINMENT=none makes root inside root on this host`);
  }
  return out;
}

/**
 * The config an import writes, from the archive's: refused when it holds a
 * NUL or CR, sets BASE other than ".", or sets UPPER, WORK or LIVE (an
 * archive does not choose directories on this host); NAME= becomes NAME.
 */
export function importedConfig(text: string, name: string, from: string): string {
  if (text.includes('\0') || text.includes('\r')) throw new Refused('subhost.conf holds a NUL or CR character');
  const { assignments, strayLines } = parseConfText(text);
  if (strayLines.length) throw new Refused(`subhost.conf line ${strayLines[0]}: not an assignment`);
  // FROM is checked words already; no control character reaches the file whatever it holds.
  const lines = [
    `# Imported by overlay-boot import (${PACKAGE_VERSION}) from an export of ${from.replace(/\p{Cc}/gu, '?')}.`,
    'BASE=.',
    `NAME=${name}`,
  ];
  for (const a of assignments) {
    if (a.key === 'BASE') {
      if (a.command || a.value !== '.') throw new Refused(`subhost.conf line ${a.line}: BASE must be "." in an export`);
    } else if (a.key === 'UPPER' || a.key === 'WORK' || a.key === 'LIVE') {
      throw new Refused(`subhost.conf line ${a.line}: an export does not set ${a.key} (it is BASE's)`);
    } else if (a.key !== 'NAME') {
      lines.push(a.text);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The trailer move appends to the stream: "sha256 HEX\n" of every byte before it. */
export const TRAILER_LEN = 'sha256 '.length + 64 + 1;
export const trailerOf = (hex: string) => `sha256 ${hex}\n`;

/** A pass-through that hashes what goes by; with `trailer`, appends the trailer at the end. */
export function hasher(trailer = false): Transform & { hex(): string; bytes(): number } {
  const h = createHash('sha256');
  let n = 0;
  let hex = '';
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      hex = h.digest('hex');
      cb(null, trailer ? trailerOf(hex) : undefined);
    },
  });
  return Object.assign(t, { hex: () => hex, bytes: () => n });
}

/**
 * Writes the export stream of UPPER (with the manifest and config from
 * META) to OUT through `pass` (a hasher): GNU tar piped into zstd. With
 * `live`, tar's "file changed as we read it" (exit 1) is not a failure.
 */
export async function writeExport(meta: string, upper: string, out: Writable, pass: Transform, live: boolean): Promise<void> {
  const tar = execa('tar', exportTarArgs(meta, upper), { buffer: { stdout: false, stderr: true }, reject: false, stdin: 'ignore' });
  const zstd = execa('zstd', ['-T0', '-q', '-c'], { stdin: 'pipe', buffer: { stdout: false, stderr: true }, reject: false });
  const piped = Promise.all([pipeline(tar.stdout, zstd.stdin), pipeline(zstd.stdout, pass, out)]).then(
    () => undefined,
    (e: unknown) => e,
  );
  const [t, z, err] = await Promise.all([tar, zstd, piped]);
  if (t.exitCode !== 0 && !(live && t.exitCode === 1))
    throw new Failure(`tar of ${upper} failed (exit ${t.exitCode}): ${String(t.stderr).trim()}`);
  if (z.exitCode !== 0) throw new Failure(`zstd failed (exit ${z.exitCode}): ${String(z.stderr).trim()}`);
  if (err) throw new Failure(`writing the export failed: ${errorText(err)}`);
}

/**
 * Copies INPUT to FILE (a new file in the root-only staging directory),
 * hashing it. With `trailer`, the last TRAILER_LEN bytes are the sender's
 * checksum line, not stream: kept apart and compared.
 */
export async function spool(
  input: Readable,
  file: string,
  trailer: boolean,
  tap?: (chunk: Buffer) => Promise<void>,
): Promise<{ sha256: string; bytes: number }> {
  const fd = openSync(file, 'wx', 0o600);
  const h = createHash('sha256');
  let bytes = 0;
  let held = Buffer.alloc(0);
  try {
    for await (const c of input as AsyncIterable<Buffer>) {
      let chunk = c;
      if (trailer) {
        const all = Buffer.concat([held, chunk]);
        const cut = Math.max(0, all.length - TRAILER_LEN);
        chunk = all.subarray(0, cut);
        held = Buffer.from(all.subarray(cut));
      }
      h.update(chunk);
      bytes += chunk.length;
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      if (tap && chunk.length) await tap(chunk);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const sha256 = h.digest('hex');
  if (trailer) {
    const line = held.toString('latin1');
    if (held.length !== TRAILER_LEN || !/^sha256 [0-9a-f]{64}\n$/.test(line))
      throw new Refused('the stream ends without its checksum line (cut short?)');
    if (line !== trailerOf(sha256))
      throw new Refused(`the stream's checksum does not match: sent ${line.slice(7, 71)}, received ${sha256}`);
  }
  return { sha256, bytes };
}

/**
 * Checks an archive while it arrives (import): what spool writes is also
 * decompressed and read by scanTar, so receiving, decompressing and
 * checking overlap. The bytes checked are the bytes spooled; GNU tar
 * later extracts that file.
 */
export class LiveScan {
  private head = Buffer.alloc(0);
  private sink?: Writable;
  private proc?: ReturnType<typeof execa>;
  private result?: Promise<Scanned>;
  private failed?: unknown;

  /** Takes the next chunk of the stream; throws the refusal as soon as the check fails. */
  async feed(chunk: Buffer): Promise<void> {
    if (!this.sink) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 8) return;
      this.start();
      chunk = this.head;
    }
    await this.write(chunk);
  }

  /** The stream is complete: the check's result. */
  async end(): Promise<Scanned> {
    if (!this.sink) {
      this.start();
      if (this.head.length) await this.write(this.head);
    }
    this.sink!.end();
    const scanned = await this.result!;
    if (this.proc) {
      const r = await this.proc;
      if (r.exitCode !== 0) throw new Refused(`the compressed stream is damaged: ${String(r.stderr).trim() || r.message}`);
    }
    return scanned;
  }

  /** Stops it (the stream failed). */
  abort(): void {
    this.proc?.kill();
    this.sink?.destroy();
    this.result?.catch(() => undefined);
    this.proc?.catch(() => undefined);
  }

  private start(): void {
    const d = decompressorFor(this.head);
    let source: Readable;
    if (d) {
      this.proc = execa(d.argv[0]!, d.argv.slice(1), { stdin: 'pipe', buffer: { stdout: false, stderr: true }, reject: false });
      this.sink = this.proc.stdin!;
      source = this.proc.stdout!;
    } else {
      const pass = new PassThrough();
      this.sink = pass;
      source = pass;
    }
    // A decompressor that ended early (EPIPE): the scan says why.
    this.sink.on('error', (e: unknown) => {
      this.failed ??= e;
    });
    this.result = scanTar(source);
    this.result.catch((e: unknown) => {
      this.failed = e;
      this.abort();
    });
  }

  /** Throws why it stopped: the scan's refusal says more than a broken pipe. */
  private async fail(): Promise<never> {
    await this.result;
    throw this.failed;
  }

  private async write(chunk: Buffer): Promise<void> {
    if (this.failed) await this.fail();
    const sink = this.sink!;
    if (!sink.write(chunk)) {
      await new Promise<void>((go) => {
        const done = () => {
          sink.off('drain', done);
          sink.off('close', done);
          go();
        };
        sink.on('drain', done);
        sink.on('close', done);
      });
    }
    if (this.failed) await this.fail();
  }
}

/** The first bytes of a file (to tell its compression). */
function head(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(8);
    const n = readSync(fd, b, 0, 8, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Extracts the spooled (and scanned) archive into DIR with GNU tar, which
 * reads the file and runs the decompressor itself (it reads its stream to
 * the end: no pipe of ours closed early).
 */
export async function extractFile(file: string, dir: string): Promise<void> {
  const d = decompressorFor(head(file));
  const r = await execa('tar', extractTarArgs(file, dir, d?.tarFlag), { reject: false, stdin: 'ignore', stdout: 'ignore' });
  if (r.exitCode !== 0) throw new Failure(`tar could not extract the archive: ${String(r.stderr).trim() || r.message}`);
}
