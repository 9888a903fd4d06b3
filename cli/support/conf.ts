// Which config a subhost uses, as the commands see it from outside the
// unit, and the two ways of registering one:
//  - for this boot only: the symlink /run/overlay-boot/registry/NAME.conf
//    (`overlay-boot start CONF` of a config not listed anywhere), found by
//    the runtime's findConf (lib/registry.ts) without a daemon-reload;
//  - for every boot: a line in /etc/subhosts.conf (`overlay-boot enable`),
//    turned into units by the generator on daemon-reload.
import {
  readlinkSync, realpathSync, mkdirSync, symlinkSync, renameSync, rmSync, statSync,
  openSync, writeSync, fsyncSync, closeSync, chownSync, fchmodSync,
} from 'node:fs';
import { dirname, basename, resolve } from 'node:path';
import { SUBHOSTS_CONF, RUNTIME_REGISTRY } from './paths.js';
import { readSubhostsConf, confName } from './registry.js';
import { readTextFile, Refused } from './config/open.js';

export interface ConfOf {
  conf: string;
  /** generator: the unit's drop-in sets OVERLAY_BOOT_CONF; registry: the /run symlink; listed: /etc/subhosts.conf */
  how: 'generator' | 'registry' | 'listed';
  /** Human description of where it was found. */
  where: string;
}

export const registryLink = (name: string): string => `${RUNTIME_REGISTRY}/${name}.conf`;

/**
 * Where subhost@NAME.service finds its config, in lib/registry.ts findConf's
 * order: OVERLAY_BOOT_CONF in the unit's environment (generator drop-in),
 * the registry symlink, the configs listed in /etc/subhosts.conf.
 */
export function configOf(name: string, unitEnvironment: string[] = [], subhostsConf = SUBHOSTS_CONF): ConfOf | undefined {
  const env = [...unitEnvironment].reverse().find((e) => e.startsWith('OVERLAY_BOOT_CONF='));
  if (env) return { conf: env.slice('OVERLAY_BOOT_CONF='.length), how: 'generator', where: `${subhostsConf} (generated unit)` };
  const link = registryLink(name);
  try {
    return { conf: resolve(RUNTIME_REGISTRY, readlinkSync(link)), how: 'registry', where: `${link} (this boot only)` };
  } catch {
    /* not registered for this boot */
  }
  for (const l of readSubhostsConf(subhostsConf)) {
    try {
      if (confName(l.path) === name) return { conf: l.path, how: 'listed', where: `${subhostsConf}:${l.line}` };
    } catch {
      /* unreadable: not this one */
    }
  }
  return undefined;
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

/**
 * Replaces `file` atomically: a temporary file in the same directory
 * (same mode and owner as the old one), fsync, rename, fsync of the
 * directory. A symlinked file is replaced where it points.
 */
export function writeFileAtomic(file: string, text: string): void {
  let target = file;
  try {
    target = realpathSync(file);
  } catch {
    /* new file */
  }
  let mode = 0o644;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const st = statSync(target);
    mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
  } catch {
    /* new file */
  }
  const dir = dirname(target);
  const tmp = `${dir}/.${basename(target)}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fchmodSync(fd, mode); // open() applied the umask
    if (owner && process.getuid?.() === 0) chownSync(tmp, owner.uid, owner.gid);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* closed */
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const d = openSync(dir, 'r');
    fsyncSync(d);
    closeSync(d);
  } catch {
    /* best effort */
  }
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
