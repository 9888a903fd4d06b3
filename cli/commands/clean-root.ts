// overlay-clean-root NAME|CONF [--dry-run]: shrink the UPPER tree of a stopped
// subhost by removing what is identical to what it shadows in LOWER (see
// lib/storage/clean.ts for what "identical" means and what is never touched).
import { realpathSync } from 'node:fs';
import { loadConfig, type Variable } from '../../lib/config/load.js';
import { formatProblem } from '../../lib/config/problem.js';
import { systemd, UNIT_IFACE, SERVICE_IFACE } from '../../lib/systemd.js';
import { cleanRoot, type CleanReport } from '../../lib/storage/clean.js';
import { readMountinfo, unescapeMountField } from '../../lib/storage/mountinfo.js';
import { Failure, UsageError } from '../../lib/errors.js';
import { parseArgs, operands } from '../../lib/args.js';
import { formatBytes } from '../support/format.js';
import { findConf } from '../../lib/registry.js';
import { checkName, looksLikeConf } from '../support/subhost.js';
import { lockHolder } from '../../lib/storage/owner.js';
import { clashWithRegistered } from '../support/owners.js';

export const usage = `Usage: overlay-clean-root [--dry-run] [--verbose] NAME|CONF
  Remove from the UPPER tree of the stopped subhost NAME (its config found
  as overlay-boot start finds it) or configured in CONF the
  files that are identical to the ones they shadow in LOWER (content, type,
  mode, owner, group, symlink target, device number, extended attributes
  and link count), and the directories that this leaves empty and that
  match LOWER's. Timestamps are not compared. Never touched: whiteouts,
  opaque and redirected directories and what is in them, entries with
  overlayfs attributes other than its bookkeeping (origin, impure), WORK,
  anything across a mount point. Refuses while the subhost runs (asks
  systemd). Prints what it removes and the space saved.
  --dry-run   only print what would be removed; change nothing
  --verbose   also list what stays, and why
  --help      this text
`;

const PATH_KEYS: Variable[] = ['BASE', 'UPPER', 'LOWER', 'WORK'];

/** Asks systemd whether subhost@NAME.service runs; refuses unless it is inactive or failed. */
async function refuseIfRunning(name: string): Promise<void> {
  const unit = `subhost@${name}.service`;
  let state: string;
  let m: Awaited<ReturnType<typeof systemd>> | undefined;
  try {
    m = await systemd();
    state = String(await m.unitProperty(unit, UNIT_IFACE, 'ActiveState'));
  } catch (e) {
    throw new Failure(`cannot ask systemd whether subhost ${name} runs (${(e as Error).message}): not cleaning`);
  } finally {
    m?.close();
  }
  if (state !== 'inactive' && state !== 'failed') {
    throw new Failure(`subhost ${name} is running (${unit} is ${state}): stop it first (systemctl stop ${unit})`);
  }
}

/** An overlay mounted here (by hand, or by 1.6) that uses UPPER. */
function overlayUsing(upper: string): string | undefined {
  for (const m of readMountinfo()) {
    if (m.fstype !== 'overlay') continue;
    for (const o of m.superOptions.split(/(?<!\\),/)) {
      if (o.startsWith('upperdir=') && unescapeMountField(o.slice(9)).replace(/\\(.)/g, '$1') === upper) return m.point;
    }
  }
  return undefined;
}

/**
 * The config of a NAME-or-CONF argument: a NAME is looked up as the unit
 * and the other commands look it up (lib/registry.ts findConf), with the
 * OVERLAY_BOOT_CONF of the unit's Environment= (the generator's drop-in).
 */
async function confOfArg(arg: string): Promise<string> {
  if (looksLikeConf(arg)) return arg;
  const name = checkName(arg);
  let env: unknown = [];
  let m: Awaited<ReturnType<typeof systemd>> | undefined;
  try {
    m = await systemd();
    env = await m.unitProperty(`subhost@${name}.service`, SERVICE_IFACE, 'Environment');
  } catch {
    /* no systemd to ask: the registry and /etc/subhosts.conf still say */
  } finally {
    m?.close();
  }
  const set = (Array.isArray(env) ? env.map(String) : []).reverse().find((e) => e.startsWith('OVERLAY_BOOT_CONF='));
  const found = findConf(name, set?.slice('OVERLAY_BOOT_CONF='.length) ?? '');
  if ('error' in found) throw new Failure(`${found.error}; or give its config file`);
  return found.conf;
}

function summary(r: CleanReport): string {
  const files = r.removed.filter((x) => x.kind !== 'directory').length;
  const dirs = r.removed.length - files;
  const what = `${files} ${files === 1 ? 'file' : 'files'} and ${dirs} ${dirs === 1 ? 'directory' : 'directories'}`;
  const counts = new Map<string, number>();
  for (const k of r.kept) {
    const reason = k.reason.replace(/ \(.*\)$/, '');
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const kept = [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
  return (
    (r.dryRun
      ? `would remove ${what} from ${r.upper}, saving ${formatBytes(r.bytes)} (dry run: nothing changed)\n`
      : `removed ${what} from ${r.upper}, saved ${formatBytes(r.bytes)}\n`) + (r.kept.length ? `kept ${r.kept.length}: ${kept}\n` : '')
  );
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { flags: ['--dry-run', '--verbose'], aliases: { '-n': '--dry-run', '-v': '--verbose' } });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  const files = operands(a);
  if (files.length === 0) throw new UsageError('missing NAME or CONF (the subhost, or its config file)');
  if (files.length > 1) throw new UsageError(`one NAME or CONF at a time (got ${files.length})`);
  const args = { conf: files[0]!, dryRun: a.flags.has('--dry-run'), verbose: a.flags.has('--verbose') };
  const r = await loadConfig(await confOfArg(args.conf));
  const deferred = r.deferred.filter((k) => PATH_KEYS.includes(k));
  if (deferred.length) {
    const k = deferred[0]!;
    throw new Failure(
      `${r.file}: ${k} is computed when the subhost starts (${r.resolved[k]?.value}), inside the subhost's own mount namespace: ` +
        `overlay-clean-root runs no commands and cannot see that tree. To clean it, mount it yourself and ` +
        `run overlay-clean-root on a copy of the config with plain ${deferred.join(' and ')} paths`,
    );
  }
  // (Problems of the paths that are known: WORK on an image cannot exist yet, hence after the above.)
  const relevant = r.problems.filter((p) => !p.key || p.trust || PATH_KEYS.includes(p.key as Variable) || p.key === 'NAME');
  if (relevant.length) throw new Failure(relevant.map(formatProblem).join('; '));
  const c = r.partial;
  const name = c.NAME!;
  const canon = (k: 'UPPER' | 'LOWER' | 'WORK') => {
    try {
      return realpathSync(c[k]!);
    } catch {
      if (k === 'WORK') return c[k]!;
      throw new Failure(`${k} ${c[k]} does not exist`);
    }
  };
  const upper = canon('UPPER');
  const lower = canon('LOWER');
  const work = canon('WORK');
  if (upper === lower) {
    throw new Failure(`UPPER and LOWER are the same directory (${upper}): the subhost uses that tree as it is; there is nothing to clean`);
  }
  await refuseIfRunning(name);
  const mounted = overlayUsing(upper);
  if (mounted) throw new Failure(`UPPER ${upper} is in use by the overlay mounted on ${mounted}: unmount it first`);
  // Its lock (native/lock.c): whichever subhost runs on this tree, by whatever path.
  const holder = lockHolder(upper);
  if (holder) {
    throw new Failure(
      `UPPER ${upper} is in use by ${holder.name ? `subhost ${holder.name} (its ${holder.role})` : 'a start being set up now'}: stop it first`,
    );
  }
  const clash = await clashWithRegistered(r.file, [['UPPER', upper]]);
  if (clash) {
    throw new Failure(
      `UPPER ${upper} overlaps subhost ${clash.name}'s ${clash.theirKey} ${clash.theirPath} (${clash.conf}): not cleaning another subhost's tree`,
    );
  }

  let report: CleanReport;
  try {
    report = await cleanRoot({ upper, lower, work, dryRun: args.dryRun });
  } catch (e) {
    if (e instanceof Failure) throw e;
    throw new Failure((e as Error).message);
  }
  const out: string[] = [];
  for (const x of report.removed)
    out.push(`${args.dryRun ? 'would remove' : 'removed'} ${upper}/${x.rel}${x.kind === 'directory' ? '/' : ''}`);
  if (args.verbose) for (const k of report.kept) out.push(`kept ${upper}/${k.rel}: ${k.reason}`);
  process.stdout.write(out.map((l) => `${l}\n`).join('') + summary(report));
  return 0;
}
