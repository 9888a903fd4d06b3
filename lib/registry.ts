// Which config file belongs to subhost NAME. Looked up, in order:
//  1. $OVERLAY_BOOT_CONF, set for subhost@NAME.service by the generator
//     from /etc/subhosts.conf (a drop-in) at boot and daemon-reload;
//  2. /run/overlay-boot/registry/NAME.conf, a symlink that
//     `overlay-boot start CONF` makes for a config registered for this
//     boot only;
//  3. the configs listed in /etc/subhosts.conf, read now (so that a
//     subhost listed there works even before the generator ran).
// A config's NAME is its NAME= line, else its file name less .conf.
import { readdirSync, readlinkSync, lstatSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SUBHOSTS_CONF, RUNTIME_REGISTRY } from './paths.js';
import { parseConfText } from './config/parse.js';
import { readTextFile, Refused } from './config/open.js';

export interface Listed {
  path: string;
  line: number;
}

/**
 * The conf paths listed in a subhosts.conf text, read as 1.6 read it
 * (`grep -v '#'`): a line with a `#` anywhere is ignored whole, so an
 * entry an admin disabled with a trailing comment stays off; the other
 * lines are whitespace-separated paths.
 */
export function parseSubhostsConf(text: string): Listed[] {
  const out: Listed[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.includes('#')) return;
    for (const path of raw.split(/\s+/).filter(Boolean)) out.push({ path, line: i + 1 });
  });
  return out;
}

/**
 * NAME of a config file without resolving anything else (cheap; never
 * runs commands). Read as every config is (open.ts: never blocks on a
 * FIFO, never reads a device or a huge file) but without the ownership
 * rule: the NAME only says which config is meant, loading it checks it.
 */
export function confName(path: string, text?: string): string {
  const t = text ?? readTextFile(path, { trust: false }).text;
  const names = parseConfText(t).assignments.filter((a) => a.key === 'NAME' && a.value !== '' && !a.command);
  return names.length ? names[names.length - 1]!.value : basename(path).replace(/\.conf$/, '');
}

/** The configs listed in /etc/subhosts.conf (read as configs are: open.ts); none when it is absent. */
export function readSubhostsConf(file = SUBHOSTS_CONF): Listed[] {
  try {
    return parseSubhostsConf(readTextFile(file, { trust: false }).text);
  } catch (e) {
    if (e instanceof Refused && e.code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * The generator's read of /etc/subhosts.conf: as readSubhostsConf, but a
 * file over the size limit gives its first lines (and says how big it
 * is) instead of nothing: the subhosts listed first keep their units.
 */
export function readSubhostsConfHead(file = SUBHOSTS_CONF): { listed: Listed[]; truncatedFrom?: number } {
  try {
    const t = readTextFile(file, { trust: false, head: true });
    return { listed: parseSubhostsConf(t.text), truncatedFrom: t.truncatedFrom };
  } catch (e) {
    if (e instanceof Refused && e.code === 'ENOENT') return { listed: [] };
    throw e;
  }
}

/** Where a subhost's config was found. */
export interface ConfOf {
  conf: string;
  /** generator: the unit's drop-in sets OVERLAY_BOOT_CONF; registry: the /run symlink; listed: /etc/subhosts.conf */
  how: 'generator' | 'registry' | 'listed';
  /** Human description of where it was found. */
  where: string;
}

export type Lookup = ConfOf | { error: string };

export const registryLink = (name: string): string => `${RUNTIME_REGISTRY}/${name}.conf`;

/** The files that decide which config subhost NAME uses (besides $OVERLAY_BOOT_CONF): a plan records their signatures. */
export const lookupFiles = (name: string, subhostsConf = SUBHOSTS_CONF): string[] => [registryLink(name), subhostsConf];

/**
 * The config of subhost NAME, in the order above. `envConf` is the
 * OVERLAY_BOOT_CONF the unit runs with: the runtime's own environment, or
 * for the commands, read from the unit's Environment= over D-Bus.
 */
export function findConf(name: string, envConf = process.env.OVERLAY_BOOT_CONF, subhostsConf = SUBHOSTS_CONF): Lookup {
  if (envConf) return { conf: envConf, how: 'generator', where: `${subhostsConf} (generated unit)` };
  const link = registryLink(name);
  try {
    return { conf: resolve(RUNTIME_REGISTRY, readlinkSync(link)), how: 'registry', where: `${link} (this boot only)` };
  } catch {
    /* not registered for this boot */
  }
  const listed = readSubhostsConf(subhostsConf);
  for (const l of listed) {
    try {
      if (confName(l.path) === name) return { conf: l.path, how: 'listed', where: `${subhostsConf}:${l.line}` };
    } catch {
      /* unreadable: not this one */
    }
  }
  const enabled = enabledLinks(name);
  return {
    error:
      `no config for subhost "${name}": looked at $OVERLAY_BOOT_CONF (unset), ${link} (absent) ` +
      `and the ${listed.length} config(s) listed in ${subhostsConf} (none has NAME ${name})` +
      (enabled.length
        ? `; it is enabled by ${enabled.join(', ')}, but systemctl enable cannot say which config: ` +
          `list it with "overlay-boot enable CONF" and "systemctl disable subhost@${name}"`
        : ''),
  };
}

/**
 * 1.6's `subhosts@.service` took the config's path, escaped
 * (`systemctl start subhosts@srv-sub-web-web.conf` for
 * /srv/sub/web/web.conf); overlay-boot 2's instance is the NAME. For an
 * instance that looks like one, what to start instead; '' otherwise.
 */
export function legacyInstanceHint(instance: string): string {
  if (!instance.endsWith('.conf')) return '';
  const path = `/${instance.replace(/-/g, '/').replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))}`;
  let name: string;
  try {
    name = confName(path);
  } catch {
    return `; "${instance}" looks like 1.6's escaped config path (${path}, which cannot be read): the instance is now the subhost's NAME (subhost@NAME)`;
  }
  return `; "${instance}" looks like 1.6's escaped config path: the instance is now the subhost's NAME: systemctl start subhost@${name} (once "overlay-boot enable ${path}" has listed it), or overlay-boot start ${path}`;
}

/** The unit names of subhost NAME: its own and 1.6's, which the package installs as aliases. */
export const unitNames = (name: string) => [`subhost@${name}.service`, `subhosts@${name}.service`, `overlay-boot@${name}.service`];

/**
 * `systemctl enable subhost@NAME` (or 1.6's subhosts@NAME) links in
 * /etc/systemd/system/*.wants/: they make systemd start the unit at boot
 * but name no config, so an unknown NAME says so. Only on that error path.
 */
export function enabledLinks(name: string, dir = '/etc/systemd/system'): string[] {
  const out: string[] = [];
  for (const d of dependencyDirs(dir)) {
    for (const u of unitNames(name)) {
      try {
        lstatSync(`${dir}/${d}/${u}`);
        out.push(`${dir}/${d}/${u}`);
      } catch {
        /* not this one */
      }
    }
  }
  return out;
}

/** Every enabled subhost (by any of its unit names): NAME -> its links. For the generator's warning. */
export function enabledSubhosts(dir = '/etc/systemd/system'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of dependencyDirs(dir)) {
    let entries: string[];
    try {
      entries = readdirSync(`${dir}/${d}`);
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = /^(?:subhost|subhosts|overlay-boot)@(.+)\.service$/.exec(e);
      if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), `${dir}/${d}/${e}`]);
    }
  }
  return out;
}

function dependencyDirs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((d) => d.endsWith('.wants') || d.endsWith('.requires'));
  } catch {
    return [];
  }
}
