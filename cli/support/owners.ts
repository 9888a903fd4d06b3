// Whose directories these are: the other registered subhosts' UPPER, WORK
// and LIVE (listed in /etc/subhosts.conf or registered for this boot),
// for check and create (refuse a config whose directories overlap them)
// and remove --purge (never remove another subhost's data).
import { readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, type LoadResult } from '../../lib/config/load.js';
import type { Problem } from '../../lib/config/problem.js';
import { initScriptTooLong } from '../../lib/plan/init-script.js';
import type { SubhostConfig } from '../../lib/config/fields.js';
import { readSubhostsConf } from '../../lib/registry.js';
import { RUNTIME_REGISTRY } from '../../lib/paths.js';
import { overlap, realPath, sameDir } from '../../lib/storage/owner.js';
import { sameFile } from './conf.js';

export const OWN_DIRS = ['UPPER', 'WORK', 'LIVE'] as const;
type DirKey = (typeof OWN_DIRS)[number];

/** The config files registered now, each once. */
function registeredConfs(): string[] {
  const out: string[] = [];
  try {
    for (const l of readSubhostsConf()) out.push(l.path);
  } catch {
    /* unreadable /etc/subhosts.conf: nothing to compare with */
  }
  try {
    // Symlinks to the configs started by path this boot.
    for (const f of readdirSync(RUNTIME_REGISTRY)) {
      try {
        if (f.endsWith('.conf')) out.push(resolve(RUNTIME_REGISTRY, readlinkSync(`${RUNTIME_REGISTRY}/${f}`)));
      } catch {
        /* not a link: not the registry's */
      }
    }
  } catch {
    /* nothing registered this boot */
  }
  return out;
}

/** The directories a config uses as its own: UPPER, WORK (an overlay only), LIVE. */
export function ownDirsOf(c: Partial<SubhostConfig>): [DirKey, string][] {
  const out: [DirKey, string][] = [];
  for (const k of OWN_DIRS) {
    const p = c[k];
    if (!p || (k === 'WORK' && c.UPPER === c.LOWER)) continue;
    out.push([k, p]);
  }
  return out;
}

export interface Clash {
  key: DirKey;
  path: string;
  /** The other config, its NAME, and which of its directories. */
  conf: string;
  name: string;
  theirKey: DirKey;
  theirPath: string;
}

/**
 * The first directory of `mine` (config `conf`) that is, holds or lies in
 * one of another registered config's own directories (`..`, symlinks and
 * bind mounts resolved), or undefined.
 */
export async function clashWithRegistered(conf: string, mine: [DirKey, string][]): Promise<Clash | undefined> {
  const seen = new Set<string>();
  const own = mine.map(([k, p]) => [k, p, realPath(p)] as const);
  for (const other of registeredConfs()) {
    if (sameFile(other, conf)) continue;
    const o = realPath(other);
    if (seen.has(o)) continue;
    seen.add(o);
    let c: Partial<SubhostConfig>;
    try {
      c = (await loadConfig(other, { checkFs: false })).partial;
    } catch {
      continue; // unreadable: the generator says so
    }
    for (const [theirKey, theirPath] of ownDirsOf(c)) {
      const t = realPath(theirPath);
      for (const [key, path, r] of own)
        if (overlap(r, t) || sameDir(r, t)) return { key, path, conf: other, name: c.NAME ?? other, theirKey, theirPath };
    }
  }
  return undefined;
}

/** check's and create's problem for a config whose directories overlap another registered subhost's, if any. */
export async function clashProblem(r: LoadResult): Promise<Problem | undefined> {
  if (r.problems.length || !r.partial.UPPER) return undefined;
  const x = await clashWithRegistered(r.file, ownDirsOf(r.partial));
  if (!x) return undefined;
  const src = r.resolved[x.key]?.source;
  const line = src && src.kind !== 'default' ? src.line : undefined;
  return {
    file: r.file,
    line,
    key: x.key,
    message: `${x.path} overlaps subhost ${x.name}'s ${x.theirKey} ${x.theirPath} (${x.conf}): each subhost needs directories of its own`,
  };
}

/** check's and create's problem for a START list too long for the start script to be exec'd, if any. */
export function startTooLongProblem(r: LoadResult): Problem | undefined {
  if (!r.config) return undefined;
  const why = initScriptTooLong(r.config);
  if (!why) return undefined;
  const src = r.resolved.START?.source;
  return { file: r.file, line: src && src.kind !== 'default' ? src.line : undefined, key: 'START', message: why };
}
