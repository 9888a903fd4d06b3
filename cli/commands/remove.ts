// overlay-boot remove NAME: the undo of create. Stops the subhost, takes
// it out of /etc/subhosts.conf (and this boot's registry), removes its
// config and its directories when empty. What the subhost wrote (UPPER)
// is never removed unless --purge says so, and then it says what goes.
import { freeRange, rangeText } from '../../lib/idrange.js';
import { readdirSync, rmdirSync, rmSync, readlinkSync, lstatSync, mkdirSync } from 'node:fs';
import { execa } from 'execa';
import { dirname, resolve } from 'node:path';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText, EXIT_NOPERM } from '../../lib/errors.js';
import { isRoot } from '../../lib/privilege.js';
import { loadConfig } from '../../lib/config/load.js';
import { registryLink } from '../../lib/registry.js';
import { LOCK_DIR, RUNTIME_REGISTRY } from '../../lib/paths.js';
import { lockFileOf, lockHolder, realPath, within, type Holder } from '../../lib/storage/owner.js';
import { clashWithRegistered } from '../support/owners.js';
import { connectSystemd, subhostUnit, activeState, RUNNING_STATES } from '../support/dbus.js';
import { configOf, editSubhostsConf, removeConfLines, sameFile } from '../support/conf.js';
import { runtimeDropin } from '../support/fence.js';
import { checkName, confPath, looksLikeConf, nameFromArg, stopUnitOrExplain, unitEnvironment } from '../support/subhost.js';

export const usage = `Usage: overlay-boot remove [--purge] NAME|CONF

Removes subhost NAME (or the subhost of config CONF, listed or not): stops it (as overlay-stop), removes its config from
/etc/subhosts.conf and from this boot's registry (reloading systemd),
deletes the config file, and removes its LIVE and WORK directories and
BASE when they are empty. UPPER (what the subhost wrote) is kept unless it
is empty; --purge removes it too, with everything in it, and says so, and
frees the host id range of CONTAINMENT=private-users (kept until then).
LOWER is never touched.
Exit status: 0 removed (UPPER may be kept: it says so), 1 failed, 2 bad usage,
77 not root.
`;

const say = (s: string) => process.stdout.write(`${s}\n`);

/** rmdir when empty; whether it went (or was not there). */
function rmdirIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: ['--purge'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length !== 1) throw new UsageError('remove needs one NAME or CONF');
  const arg = a.positionals[0]!;
  const byPath = looksLikeConf(arg);
  const name = byPath ? nameFromArg(arg) : checkName(arg);
  const purge = a.flags.has('--purge');
  if (!isRoot()) throw new Failure(`removing subhost ${name} needs root: run it with sudo`, EXIT_NOPERM);
  const sm = await connectSystemd();
  try {
    const found = byPath ? { conf: confPath(arg) } : configOf(name, await unitEnvironment(sm, name));
    if (!found) {
      throw new Failure(
        `no config for subhost ${name}: none listed in /etc/subhosts.conf or registered for this boot has it; give its config file`,
      );
    }
    const conf = found.conf;
    // Its directories, as check resolves them (no !command is run: one
    // that is deferred leaves that directory alone).
    const c = (await loadConfig(conf, { checkFs: false })).partial;
    // What --purge would remove must be this subhost's alone: said before anything is done.
    if (purge && c.UPPER && c.UPPER !== c.LOWER) await refusePurge(conf, name, c.UPPER, c.BASE ?? dirname(conf), false);

    if (RUNNING_STATES.includes(await activeState(sm, subhostUnit(name)))) {
      await stopUnitOrExplain(sm, name);
      say(`stopped subhost ${name}`);
    }
    let removed: string[] = [];
    // A start by path left its settings as a runtime drop-in: they go with the reload.
    rmSync(runtimeDropin(name), { force: true });
    await editSubhostsConf(sm, (text) => {
      const r = removeConfLines(text, (t) => sameFile(t, conf));
      removed = r.removed;
      return removed.length ? r.text : undefined;
    });
    if (removed.length) say(`disabled: ${removed.join(', ')} removed from /etc/subhosts.conf`);
    const link = registryLink(name);
    try {
      if (sameFile(resolve(RUNTIME_REGISTRY, readlinkSync(link)), conf)) rmSync(link);
    } catch {
      /* not registered for this boot */
    }
    try {
      rmSync(conf);
      say(`removed ${conf}`);
    } catch (e) {
      throw new Failure(`cannot remove ${conf}: ${errorText(e)}`);
    }

    let keptUpper = false;
    if (c.UPPER && c.UPPER !== c.LOWER && c.UPPER !== '/') {
      if (isEmptyDir(c.UPPER)) {
        rmdirIfEmpty(c.UPPER);
      } else if (purge) {
        const real = await refusePurge(conf, name, c.UPPER, c.BASE ?? dirname(conf), true);
        const n = countEntries(real);
        await removeLocked(real);
        say(`purged UPPER ${c.UPPER} (${n} files and directories the subhost wrote)`);
      } else if (existsDir(c.UPPER)) {
        keptUpper = true;
        say(`kept UPPER ${c.UPPER}: it holds what the subhost wrote (overlay-boot remove --purge ${name} removes it)`);
      }
    }
    // CONTAINMENT=private-users: its host id range goes with a purge only
    // (lib/idrange.ts); until then a new subhost of this NAME gets it back.
    if (purge) {
      const freed = freeRange(name);
      if (freed) say(`freed host ids ${rangeText(freed)}`);
    }
    // WORK holds only overlayfs' own (empty once unmounted) work and index directories.
    if (c.WORK && c.UPPER !== c.LOWER) {
      for (const d of [`${c.WORK}/work`, `${c.WORK}/index`, c.WORK]) rmdirIfEmpty(d);
      if (existsDir(c.WORK)) say(`kept WORK ${c.WORK}: not empty`);
    }
    if (c.LIVE && c.LIVE !== c.LOWER && c.LIVE !== c.UPPER && !rmdirIfEmpty(c.LIVE)) say(`kept LIVE ${c.LIVE}: not empty`);
    // BASE last, and only when nothing is left in it (the config's own directory, by default).
    const base = c.BASE ?? dirname(conf);
    if (!keptUpper && base !== '/' && !rmdirIfEmpty(base)) say(`kept ${base}: not empty`);
    say(`removed subhost ${name}`);
    return 0;
  } finally {
    sm.close();
  }
}

const holderText = (h: Holder) => (h.name ? `subhost ${h.name} (its ${h.role})` : 'a start being set up now');

/**
 * --purge removes UPPER only when it is this subhost's alone: inside its
 * BASE once `..` and symlinks are resolved (a symlink never leads the
 * removal out), no other registered subhost's directory, and not in use
 * (its lock, native/lock.c; `stopped`: after this subhost was stopped).
 * Returns UPPER resolved.
 */
async function refusePurge(conf: string, name: string, upper: string, base: string, stopped: boolean): Promise<string> {
  const real = realPath(upper);
  const realBase = realPath(base);
  const no = (why: string) => new Failure(`not purging UPPER ${upper}: ${why}; nothing was removed by --purge`);
  if (real === realBase || !within(real, realBase))
    throw no(`it resolves to ${real}, not a directory inside the subhost's BASE ${realBase}`);
  const clash = await clashWithRegistered(conf, [['UPPER', upper]]);
  if (clash) throw no(`it overlaps subhost ${clash.name}'s ${clash.theirKey} ${clash.theirPath} (${clash.conf})`);
  const h = lockHolder(real);
  if (h && (stopped || h.name !== name)) throw no(`it is in use by ${holderText(h)}`);
  return real;
}

/**
 * rm -rf of DIR holding its lock (flock(1) on the lock file a start takes,
 * native/lock.c): a start of any subhost on it meanwhile is refused, and
 * the removal never crosses into another filesystem (a bind mount inside).
 */
async function removeLocked(dir: string): Promise<void> {
  const lock = lockFileOf(dir);
  if (!lock) throw new Failure(`cannot look at ${dir}`);
  mkdirSync(LOCK_DIR, { recursive: true, mode: 0o755 });
  const r = await execa('flock', ['--nonblock', '--conflict-exit-code', '75', lock, 'rm', '-rf', '--one-file-system', '--', dir], {
    reject: false,
  });
  if (r.exitCode === 75) throw new Failure(`not purging UPPER ${dir}: a start of a subhost on it began meanwhile`);
  if (r.exitCode !== 0) throw new Failure(`could not remove UPPER ${dir}: ${r.stderr.trim()}`);
}

function existsDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** How many entries a tree holds (what --purge says it removes). */
function countEntries(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    n++;
    if (e.isDirectory()) n += countEntries(`${dir}/${e.name}`);
  }
  return n;
}
