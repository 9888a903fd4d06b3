// overlay-boot remove NAME: the undo of create. Stops the subhost, takes
// it out of /etc/subhosts.conf (and this boot's registry), removes its
// config and its directories when empty. What the subhost wrote (UPPER)
// is never removed unless --purge says so, and then it says what goes.
import { freeRange, rangeText } from '../../lib/idrange.js';
import { readdirSync, rmdirSync, rmSync, readlinkSync, lstatSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText, EXIT_NOPERM } from '../../lib/errors.js';
import { isRoot } from '../../lib/privilege.js';
import { loadConfig } from '../../lib/config/load.js';
import { registryLink } from '../../lib/registry.js';
import { RUNTIME_REGISTRY } from '../../lib/paths.js';
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
        const n = countEntries(c.UPPER);
        rmSync(c.UPPER, { recursive: true, force: true });
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
