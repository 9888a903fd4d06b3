// overlay-boot import FILE|-: a subhost from an export (this or another
// host's), or a plain tar of a directory tree (machinectl export-tar) as
// its UPPER. The archive is hostile input: it is copied into a fresh
// root-only staging directory beside BASE, every member is checked
// (cli/support/archive.ts) and the config is checked as `check` does
// before anything is extracted; extracted there, the subhost's directory
// is renamed into place only when all of it went well. On any failure
// nothing is left but what was there before.
import { chmodSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statfsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText, EXIT_NOPERM } from '../../lib/errors.js';
import { isRoot } from '../../lib/privilege.js';
import { loadConfig } from '../../lib/config/load.js';
import { reportLines } from '../../lib/config/problem.js';
import { findConf } from '../../lib/registry.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { checkName } from '../support/subhost.js';
import { Refused, UPPER as UPPER_MEMBER } from '../support/archive.js';
import { extractFile, importedConfig, LiveScan, parseManifest, spool, untrustedKeys } from '../support/transfer.js';
import { DEFAULT_PARENT } from './create.js';
import { enableAndStart } from './enable.js';

export const usage = `Usage: overlay-boot import [OPTION...] FILE|-

Makes a subhost from FILE (or stdin, "-"): an overlay-boot export (any
host's), or a tar of a directory tree, such as machinectl export-tar makes
of a directory image, which becomes UPPER (then --name is needed). zstd,
xz, gzip and bzip2 are recognised; a plain tar too.

The archive is not trusted. Before anything is extracted, every member
is checked (relative paths only, no "..", every member under a directory
listed before it: nothing through a symlink; hard links only to members
before them; no device but overlayfs whiteouts, char 0:0) and the config
is checked as overlay-boot check does. It is extracted into a new
root-only directory beside BASE, and only then renamed to BASE with
root (UPPER, exactly as exported), work, live and NAME.conf. Refuses a
NAME that is taken and a BASE that exists.

  --base DIR   the subhost directory (default ${DEFAULT_PARENT}/NAME)
  --name NEW   the subhost's NAME (default: the exported NAME)
  --trust      accept a config that runs or reaches things on this host
               (!commands, PREMOUNT/POSTMOUNT/INIT, SHARE,
               CONTAINMENT=none); without it such a config is refused
  --checksum-trailer
               the stream ends with "sha256 HEX" of what precedes it (as
               overlay-boot move sends it); refused when it does not match
  --enable     list it in /etc/subhosts.conf, as overlay-boot enable
  --now        start it, as overlay-boot start
Exit status: 0 imported (and started), 1 refused or failed, 2 bad usage,
77 not root.
`;

const say = (s: string) => process.stdout.write(`${s}\n`);

/** A value that goes into a path or a config line: no newline, no NUL. */
function plainArg(what: string, v: string): string {
  if (/[\n\r\0]/.test(v)) throw new UsageError(`${what} must not hold a newline or NUL`);
  return v;
}

/** Refuses a NAME another config has, and a BASE that exists. */
function refuseTaken(name: string, base: string): void {
  const taken = findConf(name, '');
  if (!('error' in taken)) throw new Failure(`NAME ${name} is taken: ${taken.conf} (${taken.where}) has it; give another --name`);
  if (existsSync(base)) throw new Failure(`${base} exists; give another --base, or remove it first`);
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: ['--enable', '--now', '--trust', '--checksum-trailer'], options: ['--base', '--name'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length !== 1) throw new UsageError('import needs one FILE or -');
  const from = a.positionals[0]!;
  const givenName = a.options.has('--name') ? checkName(plainArg('--name', a.options.get('--name')!)) : undefined;
  const givenBase = a.options.has('--base') ? resolve(plainArg('--base', a.options.get('--base')!)) : undefined;
  if (givenBase === '/') throw new UsageError('--base must not be /');
  if (from === '-' && process.stdin.isTTY) throw new UsageError('will not read an archive from a terminal: give FILE, or redirect stdin');
  if (!isRoot()) throw new Failure('importing a subhost needs root: run it with sudo', EXIT_NOPERM);
  // What can be refused before a byte is read.
  if (givenName) refuseTaken(givenName, givenBase ?? `${DEFAULT_PARENT}/${givenName}`);

  // The staging directory: beside BASE (the same filesystem, for the
  // final rename), root's alone (mkdtemp: 0700), named after what it is.
  const parent = givenBase ? dirname(givenBase) : DEFAULT_PARENT;
  const madeParent = mkdirSync(parent, { recursive: true, mode: 0o755 });
  const staging = mkdtempSync(`${parent}/.overlay-boot-import-`);
  let imported = false;
  try {
    let input: Readable;
    try {
      input = from === '-' ? process.stdin : createReadStream(from);
    } catch (e) {
      throw new Failure(`cannot read ${from}: ${errorText(e)}`);
    }
    const stream = `${staging}/stream`;
    // Every member is checked as the stream arrives (LiveScan), before anything is extracted.
    const live = new LiveScan();
    const got = await spool(input, stream, a.flags.has('--checksum-trailer'), (c) => live.feed(c)).catch((e: unknown) => {
      live.abort();
      return refusal(from)(e);
    });
    say(`received ${got.bytes} bytes, sha256 ${got.sha256}`);
    const scanned = await live.end().catch(refusal(from));

    let name: string;
    let configText: string;
    if (scanned.layout === 'export') {
      const m = (() => {
        try {
          return parseManifest(scanned.manifest!);
        } catch (e) {
          throw refusal(from)(e);
        }
      })();
      name = givenName ?? checkName(m.name);
      configText = (() => {
        try {
          return importedConfig(scanned.config!, name, `${m.name} on ${m.exportedFrom}`);
        } catch (e) {
          throw refusal(from)(e);
        }
      })();
      if (m.consistent === false)
        process.stderr.write(`overlay-boot: warning: ${from} was exported while ${m.name} ran (--live): files may be inconsistent\n`);
      if (m.ids) {
        process.stderr.write(
          `overlay-boot: note: ${m.name} had host ids ${m.ids.first}-${m.ids.first + m.ids.count - 1} on ${m.exportedFrom}; here it gets its own at its first start (its files keep their owners)\n`,
        );
      }
    } else {
      if (!givenName) throw new Failure(`${from} is a plain tar of a tree (no overlay-boot manifest): give the subhost a --name`);
      name = givenName;
      configText = `# Imported by overlay-boot import from a tar of a tree (${basename(from)}), as UPPER.\nBASE=.\nNAME=${name}\n`;
    }
    // Lines of the archive's own subhost.conf (a plain tree brings none).
    const untrusted = untrustedKeys(scanned.config ?? '');
    if (untrusted.length && !a.flags.has('--trust')) {
      throw new Failure(
        `${from}: refused, nothing written: its subhost.conf ${untrusted.join('; ')}; import it with --trust if you trust its sender`,
      );
    }
    const base = givenBase ?? `${DEFAULT_PARENT}/${name}`;
    if (dirname(base) !== parent) throw new Failure(`internal: ${base} is not in ${parent}`);
    const conf = `${base}/${name}.conf`;
    const dirs = [base, `${base}/root`, `${base}/work`, `${base}/live`];
    const r = await loadConfig(conf, { text: configText, plannedDirs: dirs });
    if (r.problems.length) {
      process.stderr.write(`overlay-boot: ${from === '-' ? 'stdin' : from}: refused, nothing written: its config, checked as ${conf}:\n`);
      for (const l of reportLines(r.file, r.problems, [])) process.stderr.write(`${l}\n`);
      return 1;
    }
    refuseTaken(name, base);

    // A small stream may hold much data: refuse what does not fit, rather than fill the filesystem.
    const fs = statfsSync(staging);
    const free = fs.bavail * fs.bsize;
    if (scanned.stored > free) {
      throw new Failure(`${from}: its files need ${scanned.stored} bytes; ${parent} has ${free} free: nothing imported`);
    }

    // Checked: extract, then assemble BASE in the staging directory.
    const tree = `${staging}/tree`;
    mkdirSync(tree, { mode: 0o700 });
    await extractFile(stream, tree);
    rmSync(stream);
    const assembled = `${staging}/base`;
    mkdirSync(assembled, { mode: 0o755 });
    renameSync(scanned.layout === 'export' ? `${tree}/${UPPER_MEMBER}` : tree, `${assembled}/root`);
    for (const d of ['work', 'live']) mkdirSync(`${assembled}/${d}`, { mode: 0o755 });
    for (const d of ['', '/work', '/live']) chmodSync(`${assembled}${d}`, 0o755); // not the umask's
    writeFileAtomic(`${assembled}/${name}.conf`, configText, { mode: 0o644 });
    // The one step that makes it visible; BASE must still be free.
    if (lstatOrUndefined(base)) throw new Failure(`${base} appeared meanwhile; nothing imported`);
    renameSync(assembled, base);
    imported = true;
    say(
      `imported subhost ${name}: ${conf} (UPPER ${base}/root: ${scanned.members} members, ${scanned.counts.whiteouts} whiteouts, ` +
        `${scanned.counts.hardlinks} hard links, ${scanned.counts.sparse} sparse files)`,
    );
    await enableAndStart(name, conf, { enable: a.flags.has('--enable'), now: a.flags.has('--now') }, undoHint(name, conf), say);
    return 0;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    if (madeParent && !imported) rmSync(madeParent, { recursive: true, force: true });
  }
}

const undoHint = (name: string, conf: string) =>
  `subhost ${name} was imported (${conf}); fix and run overlay-boot start ${conf}, or undo it with overlay-boot remove --purge ${conf}`;

/** An archive's refusal as one line naming the archive; other errors pass. */
const refusal =
  (from: string) =>
  (e: unknown): never => {
    if (e instanceof Refused) throw new Failure(`${from === '-' ? 'stdin' : from}: refused, nothing written: ${e.message}`);
    throw e;
  };

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}
