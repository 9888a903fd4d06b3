// The plans kept in /run/overlay-boot/plans between starts, so that the
// units start natively (subhost-enter --plan, subhost-netns up PLAN)
// without Node.js. One definition of what is kept and how it is signed,
// used by everyone who writes them: the runtime after computing a start
// (runtime/main.ts), `overlay-boot start` before its StartUnit
// (cli/support/plans.ts), and for the file contents, the generator. A plan
// holds while its check lines hold in the unit that reads it: the
// unit's OVERLAY_BOOT_CONF, the config file and the files that decide
// which config NAME uses (lib/plan/sig.ts).
import type { Containment, SubhostConfig } from '../config/fields.js';
import type { Cable } from '../config/cables.js';
import { PLAN_DIR } from '../paths.js';
import { lookupFiles } from '../registry.js';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.js';
import { builtinHooks, hostFacts, planFileContent, startPlan, type HostFacts } from './plan.js';
import { netnsPlanContent, netnsPlanLines } from './netns.js';
import { sigOps } from './sig.js';

export const keptStartPlan = (name: string): string => `${PLAN_DIR}/${name}.start`;
export const keptNetnsPlan = (name: string): string => `${PLAN_DIR}/${name}.netns`;

/** subhost@NAME's pidfile (in its RuntimeDirectory=subhost/%i): the reaper's PID, for subhost-machine. */
export const subhostPidfile = (name: string): string => `/run/subhost/${name}/pid`;

/** The signature of the config `conf` of subhost NAME as a unit with OVERLAY_BOOT_CONF=envConf (undefined: unset) checks it. */
export function planSig(name: string, conf: string, envConf: string | undefined): string[][] {
  return sigOps(conf, envConf, lookupFiles(name));
}

/** A start plan file's bytes; undefined when a custom hook must run (never one native plan). */
export function startPlanFile(c: SubhostConfig, facts: HostFacts, sig: string[][], pidfile = subhostPidfile(c.NAME)): string | undefined {
  return builtinHooks(c) ? planFileContent(sig, startPlan(c, facts, pidfile)) : undefined;
}

export function netnsPlanFile(name: string, cables: Cable[], sig: string[][], level: Containment): string {
  return netnsPlanContent(sig, netnsPlanLines(name, cables, level));
}

/**
 * Keeps the start plan of config c (it ran no `!command`) for
 * subhost@NAME.service, signed with sig (planSig, taken before the config
 * was read: an edit after that makes the plan stale, never wrong); returns
 * the plan's argv (what subhost-enter runs), or undefined with custom hooks.
 */
export function keepStartPlan(
  c: SubhostConfig,
  sig: string[][],
  facts: HostFacts = hostFacts(),
  pidfile = subhostPidfile(c.NAME),
): string[] | undefined {
  if (!builtinHooks(c)) return undefined;
  const argv = startPlan(c, facts, pidfile);
  keep(keptStartPlan(c.NAME), planFileContent(sig, argv));
  return argv;
}

/** Keeps the netns plan of subhost NAME (its CABLES and BASE ran no `!command`) for subhost-netns@NAME.service; returns its path. */
export function keepNetnsPlan(name: string, cables: Cable[], sig: string[][], level: Containment): string {
  const path = keptNetnsPlan(name);
  keep(path, netnsPlanFile(name, cables, sig, level));
  return path;
}

/**
 * Written atomically (root's alone: a start plan holds the init script),
 * unless the file holds these bytes already: `overlay-boot start` of a
 * subhost whose plans hold rewrites nothing.
 */
function keep(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf8') === content) return;
  } catch {
    /* none yet */
  }
  writeFileAtomic(path, content, { mode: 0o600, mkdirMode: 0o700 });
}
