// Before `overlay-boot start` asks systemd to start a subhost, it keeps
// the plans the units would otherwise compute in the Node.js runtime
// (lib/plan/keep.ts), so that a first start of a config, or one after an
// edit, runs natively in both units: the command is a Node.js process
// already. The plans are what the runtime keeps, signed for each unit's
// own environment (its OVERLAY_BOOT_CONF, read over D-Bus as the unit will
// run it); a config that runs a `!command` or a custom hook keeps them
// computed in the unit at each start, as before. Keeping them is only a
// shortcut: when anything is off, nothing is kept and the units compute.
import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../../lib/config/load.js';
import { findConf } from '../../lib/registry.js';
import { libDir } from '../../lib/paths.js';
import { keepNetnsPlan, keepStartPlan, planSig } from '../../lib/plan/keep.js';
import { type SystemdManager, SERVICE_IFACE } from '../../lib/systemd.js';
import { subhostUnit, netnsUnit } from './dbus.js';

const envList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** A unit's OVERLAY_BOOT_CONF (the last assignment wins, as in systemd), undefined when unset. */
export function envConfOf(environment: string[]): string | undefined {
  const e = [...environment].reverse().find((x) => x.startsWith('OVERLAY_BOOT_CONF='));
  return e?.slice('OVERLAY_BOOT_CONF='.length);
}

/** The directory of a unit's ExecStart= program (the package's LIBDIR for subhost@.service). */
export function execDir(execStart: unknown): string | undefined {
  const first = Array.isArray(execStart) ? execStart[0] : undefined;
  return Array.isArray(first) && typeof first[0] === 'string' ? dirname(first[0]) : undefined;
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export interface Kept {
  start: boolean;
  netns: boolean;
}

/**
 * Keeps the start and netns plans of subhost NAME for its next start, as
 * its units' runtime would (runtime/main.ts), when its config allows
 * them. Run right before StartUnit, after the unit's settings were made
 * to match the config (cli/support/fence.ts).
 */
export async function keepPlansForStart(sm: SystemdManager, name: string): Promise<Kept> {
  const none = { start: false, netns: false };
  const [subEnv, netEnv, exec] = await Promise.all([
    sm.unitProperty(subhostUnit(name), SERVICE_IFACE, 'Environment').then(envList),
    sm.unitProperty(netnsUnit(name), SERVICE_IFACE, 'Environment').then(envList),
    sm.unitProperty(subhostUnit(name), SERVICE_IFACE, 'ExecStart'),
  ]);
  // The plans name the package's helpers and reaper: this command's must
  // be the ones the units run (not so for a build tree's command).
  const unitLib = execDir(exec);
  if (!unitLib || !samePath(unitLib, libDir()) || subEnv.some((e) => e.startsWith('OVERLAY_BOOT_LIBDIR='))) return none;
  // Which /etc/subhosts.conf the units read: the plans sign it.
  if (process.env.OVERLAY_BOOT_SUBHOSTS_CONF || [...subEnv, ...netEnv].some((e) => e.startsWith('OVERLAY_BOOT_SUBHOSTS_CONF=')))
    return none;
  const envS = envConfOf(subEnv);
  const envN = envConfOf(netEnv);
  const foundS = findConf(name, envS ?? '');
  const foundN = findConf(name, envN ?? '');
  if ('error' in foundS || 'error' in foundN || resolve(foundS.conf) !== resolve(foundN.conf)) return none;
  const conf = resolve(foundS.conf);
  // Signed before the config is read: an edit from now on makes the plans stale, never wrong.
  const sigS = planSig(name, conf, envS);
  const sigN = planSig(name, conf, envN);
  const r = await loadConfig(conf);
  if (r.problems.length || r.partial.NAME !== name) return none;
  const kept = { ...none };
  if (r.partial.CABLES && !r.deferred.includes('CABLES') && !r.deferred.includes('BASE')) {
    keepNetnsPlan(name, r.partial.CABLES, sigN, r.partial.CONTAINMENT ?? 'private-users');
    kept.netns = true;
  }
  if (r.config) kept.start = keepStartPlan(r.config, sigS) !== undefined;
  return kept;
}
