// Which config a subhost uses, as the commands see it from outside the
// unit, and the two ways of registering one:
//  - for this boot only: the symlink /run/overlay-boot/registry/NAME.conf
//    (`overlay-boot start CONF` of a config not listed anywhere), found by
//    the runtime's lookup (lib/registry.ts findConf) without a daemon-reload;
//  - for every boot: a line in /etc/subhosts.conf (`overlay-boot enable`),
//    turned into units by the generator on daemon-reload.
import { realpathSync, mkdirSync, symlinkSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { SUBHOSTS_CONF, RUNTIME_REGISTRY } from '../../lib/paths.js';
import { findConf, registryLink, confName, type ConfOf } from '../../lib/registry.js';
import { readTextFile, Refused } from '../../lib/config/open.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { Failure, errorText } from '../../lib/errors.js';
import type { SystemdManager } from '../../lib/systemd.js';

export type { ConfOf };

/**
 * Where subhost@NAME.service finds its config: lib/registry.ts findConf,
 * with the OVERLAY_BOOT_CONF of the unit's Environment= (the generator's
 * drop-in), as the runtime sees it in its own environment.
 */
export function configOf(name: string, unitEnvironment: string[] = [], subhostsConf = SUBHOSTS_CONF): ConfOf | undefined {
  const env = [...unitEnvironment].reverse().find((e) => e.startsWith('OVERLAY_BOOT_CONF='));
  const r = findConf(name, env?.slice('OVERLAY_BOOT_CONF='.length) ?? '', subhostsConf);
  return 'error' in r ? undefined : r;
}

/** Same file: same path, or both exist and resolve to the same file. */
export function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Registers CONF as subhost NAME for this boot: an atomic (re)placement of the registry symlink. */
export function registerForBoot(name: string, conf: string): string {
  const link = registryLink(name);
  mkdirSync(RUNTIME_REGISTRY, { recursive: true, mode: 0o755 });
  const tmp = `${RUNTIME_REGISTRY}/.${name}.conf.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(resolve(conf), tmp);
  try {
    renameSync(tmp, link);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return link;
}

// ---- /etc/subhosts.conf ---------------------------------------------

const HEADER = '# Subhosts started at boot: one config path per line (overlay-boot enable/disable).\n';

/** Adds `path` as a line of its own unless `matches` finds it already (comments and other lines are kept). */
export function addConfLine(text: string, path: string, matches: (token: string) => boolean): { text: string; changed: boolean } {
  for (const line of text.split('\n')) {
    for (const token of line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean)) {
      if (matches(token)) return { text, changed: false };
    }
  }
  const base = text === '' ? HEADER : text.endsWith('\n') ? text : `${text}\n`;
  return { text: `${base}${path}\n`, changed: true };
}

/**
 * Removes every path `matches` accepts. A line left without any path goes
 * (with its trailing comment, which was about that path); comment lines and
 * other paths stay as they were.
 */
export function removeConfLines(text: string, matches: (token: string) => boolean): { text: string; removed: string[] } {
  const removed: string[] = [];
  const out: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const hash = line.indexOf('#');
    const code = hash < 0 ? line : line.slice(0, hash);
    const tokens = code.trim().split(/\s+/).filter(Boolean);
    const gone = tokens.filter(matches);
    if (gone.length === 0) {
      // Keep the file's final newline: split gives a last empty element.
      if (i < lines.length - 1 || line !== '') out.push(line);
      return;
    }
    removed.push(...gone);
    const kept = tokens.filter((t) => !matches(t));
    if (kept.length) {
      const indent = /^\s*/.exec(line)![0];
      out.push(`${indent}${kept.join(' ')}${hash < 0 ? '' : ` ${line.slice(hash)}`}`);
    }
  });
  return { text: out.length ? `${out.join('\n')}\n` : '', removed };
}

/** A listed config's NAME, or undefined when it cannot be read. */
export const listedName = (p: string): string | undefined => {
  try {
    return confName(p);
  } catch {
    return undefined;
  }
};

/** Changes /etc/subhosts.conf (`change` gives undefined: no change) and reloads systemd; whether it changed. */
export async function editSubhostsConf(sm: SystemdManager, change: (text: string) => string | undefined): Promise<boolean> {
  const text = readTextOrEmpty(SUBHOSTS_CONF);
  const next = change(text);
  if (next === undefined) return false;
  try {
    writeFileAtomic(SUBHOSTS_CONF, next);
  } catch (e) {
    throw new Failure(`cannot write ${SUBHOSTS_CONF}: ${errorText(e)}`);
  }
  await sm.daemonReload();
  return true;
}

/** The text of /etc/subhosts.conf, read as the generator reads it (open.ts); '' when absent. */
export function readTextOrEmpty(file: string): string {
  try {
    return readTextFile(file, { trust: false }).text;
  } catch (e) {
    if (e instanceof Refused && e.code === 'ENOENT') return '';
    throw e;
  }
}
