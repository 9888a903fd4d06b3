// overlay-boot export NAME [FILE|-]: a subhost as one stream (its config,
// UPPER exactly, a manifest), the format of cli/support/archive.ts, for
// overlay-boot import on this or another host. Reads only: the subhost's
// files are never changed.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Transform, Writable } from 'node:stream';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText, EXIT_NOPERM } from '../../lib/errors.js';
import { isRoot } from '../../lib/privilege.js';
import { loadConfig } from '../../lib/config/load.js';
import type { SystemdManager } from '../../lib/systemd.js';
import { connectSystemd, subhostUnit, activeState, RUNNING_STATES } from '../support/dbus.js';
import { configOf } from '../support/conf.js';
import { checkName, confPath, looksLikeConf, nameFromArg, stopUnitOrExplain, unitEnvironment } from '../support/subhost.js';
import { CONFIG, MANIFEST } from '../support/archive.js';
import { exportedConfig, hasher, makeManifest, writeExport } from '../support/transfer.js';

export const usage = `Usage: overlay-boot export [--stop|--live] NAME|CONF [FILE|-]

Writes subhost NAME as one stream to FILE (default: stdout, "-"): a tar
archive (POSIX format, GNU tar) compressed with zstd, holding a manifest
(NAME, format version, package version, LOWER, CONTAINMENT, the id range
record when there is one), the config with BASE=. and UPPER exactly as it
is (numeric owners, modes, setuid, xattrs such as security.capability and
trusted.overlay.*, ACLs, overlayfs whiteouts, hard links, sparse files).
overlay-boot import reads it. Its sha256 is printed on stderr.

A running subhost is refused: its UPPER changes while it is read.
  --stop   stop it first (it stays stopped)
  --live   export it running; the manifest says the copy may be inconsistent
Exit status: 0 written, 1 refused or failed, 2 bad usage, 77 not root.
`;

/** The subhost of a NAME-or-CONF argument: its config and the directories export reads. */
export async function exportSource(sm: SystemdManager, arg: string) {
  const name = looksLikeConf(arg) ? nameFromArg(arg) : checkName(arg);
  const found = looksLikeConf(arg) ? { conf: confPath(arg) } : configOf(name, await unitEnvironment(sm, name));
  if (!found) {
    throw new Failure(
      `no config for subhost ${name}: none listed in /etc/subhosts.conf or registered for this boot has it; give its config file`,
    );
  }
  const r = await loadConfig(found.conf, { checkFs: false });
  const c = r.partial;
  if (!c.UPPER || !c.BASE) throw new Failure(`${found.conf}: UPPER is not known without running its !command; export cannot follow it`);
  if (c.UPPER === c.LOWER)
    throw new Failure(`${found.conf}: UPPER=LOWER (the tree itself, no overlay): nothing of the subhost's own to export`);
  const text = readFileSync(found.conf, 'utf8');
  return {
    name,
    conf: found.conf,
    upper: c.UPPER,
    base: c.BASE,
    // A LOWER that a !command chooses is named by its command line.
    lower: c.LOWER ?? r.resolved.LOWER?.value ?? '/',
    containment: String(c.CONTAINMENT ?? 'contained'),
    text,
  };
}

export type Source = Awaited<ReturnType<typeof exportSource>>;

/** Writes the export of SRC to OUT through `pass` (a hasher, which may add the trailer). */
export async function exportTo(src: Source, out: Writable, pass: Transform, live: boolean): Promise<void> {
  const config = exportedConfig(src.text, src.name, src.lower);
  const meta = mkdtempSync(`${tmpdir()}/overlay-boot-export-`);
  try {
    mkdirSync(dirname(`${meta}/${MANIFEST}`), { mode: 0o700 });
    const manifest = makeManifest({ name: src.name, lower: src.lower, containment: src.containment, consistent: !live });
    writeFileSync(`${meta}/${MANIFEST}`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    writeFileSync(`${meta}/${CONFIG}`, config, { mode: 0o644 });
    await writeExport(meta, src.upper, out, pass, live);
  } finally {
    rmSync(meta, { recursive: true, force: true });
  }
}

/** Stops a running subhost for --stop, or refuses it; true when it runs and --live was given. */
export async function quiesce(sm: SystemdManager, name: string, how: { stop: boolean; live: boolean }): Promise<boolean> {
  if (!RUNNING_STATES.includes(await activeState(sm, subhostUnit(name)))) return false;
  if (how.live) return true;
  if (!how.stop)
    throw new Failure(`subhost ${name} is running: its UPPER changes while it is read; --stop stops it first, --live exports it anyway`);
  await stopUnitOrExplain(sm, name);
  process.stderr.write(`stopped subhost ${name}\n`);
  return false;
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: ['--stop', '--live'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length < 1 || a.positionals.length > 2) throw new UsageError('export needs NAME and at most one FILE');
  if (a.flags.has('--stop') && a.flags.has('--live')) throw new UsageError('--stop or --live, not both');
  const [arg, file = '-'] = a.positionals as [string, string?];
  if (file === '-' && process.stdout.isTTY) throw new UsageError('will not write an archive to a terminal: give FILE, or redirect stdout');
  // Every file of UPPER, whoever owns it: root's own act.
  if (!isRoot()) throw new Failure(`exporting subhost ${arg} needs root: run it with sudo`, EXIT_NOPERM);
  const sm = await connectSystemd();
  let src: Source;
  let live: boolean;
  try {
    src = await exportSource(sm, arg);
    live = await quiesce(sm, src.name, { stop: a.flags.has('--stop'), live: a.flags.has('--live') });
  } finally {
    sm.close();
  }
  const pass = hasher();
  if (file === '-') {
    await exportTo(src, process.stdout, pass, live);
  } else {
    const path = resolve(file);
    // A new file only: an export never replaces one.
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    await new Promise((opened, failed) => {
      out.once('open', opened);
      out.once('error', failed);
    }).catch((e: unknown) => {
      throw new Failure(`cannot write ${path}: ${errorText(e)}`);
    });
    try {
      await exportTo(src, out, pass, live);
    } catch (e) {
      rmSync(path, { force: true });
      throw e;
    }
  }
  process.stderr.write(
    `exported subhost ${src.name}${live ? ' (running: may be inconsistent)' : ''}: ${pass.bytes()} bytes, sha256 ${pass.hex()}\n`,
  );
  return 0;
}
