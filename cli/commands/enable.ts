// overlay-boot enable CONF / disable CONF|NAME: add or remove a config in
// /etc/subhosts.conf (atomically: comments and other lines kept, no
// duplicates), then daemon-reload so that the generator turns the list
// into units. Neither starts nor stops anything.
import { resolve } from 'node:path';
import { parseArgs, UsageError, CliError, confPath, looksLikeConf, checkName, errorText } from '../../lib/cli-common.js';
import { connectSystemd } from '../../lib/dbus-subhost.js';
import { addConfLine, removeConfLines, writeFileAtomic, readTextOrEmpty, sameFile } from '../../lib/cli-conf.js';
import { validateConf } from '../../lib/cli-subhost.js';
import { readSubhostsConf, confName } from '../../lib/registry.js';
import { SUBHOSTS_CONF } from '../../lib/paths.js';
import type { SystemdManager } from '../../lib/systemd.js';
import { isRoot, runAsRoot } from '../../lib/privilege.js';

export const enableUsage = `Usage: overlay-boot enable CONF

Checks config CONF, adds its absolute path to ${SUBHOSTS_CONF} (unless
listed already) and reloads systemd, which makes subhost@NAME.service
start at boot (as part of subhosts.target). Does not start it now:
overlay-boot start NAME does.
`;

export const disableUsage = `Usage: overlay-boot disable CONF|NAME

Removes config CONF (or the config of subhost NAME) from ${SUBHOSTS_CONF}
and reloads systemd. Does not stop a running subhost: overlay-stop NAME does.
`;

function oneArg(args: string[], usage: string, what: string): string | undefined {
  const a = parseArgs(args);
  if (a.help) {
    process.stdout.write(usage);
    return undefined;
  }
  if (a.rest || a.positionals.length !== 1) throw new UsageError(`${what} needs one ${what === 'enable' ? 'CONF' : 'CONF or NAME'}`);
  return a.positionals[0]!;
}

const safeName = (p: string): string | undefined => {
  try {
    return confName(p);
  } catch {
    return undefined;
  }
};

async function edit(sm: SystemdManager, change: (text: string) => string | undefined): Promise<boolean> {
  const text = readTextOrEmpty(SUBHOSTS_CONF);
  const next = change(text);
  if (next === undefined) return false;
  try {
    writeFileAtomic(SUBHOSTS_CONF, next);
  } catch (e) {
    throw new CliError(`cannot write ${SUBHOSTS_CONF}: ${errorText(e)}`);
  }
  await sm.daemonReload();
  return true;
}

export async function enable(args: string[]): Promise<number> {
  const arg = oneArg(args, enableUsage, 'enable');
  if (arg === undefined) return 0;
  const conf = confPath(arg);
  // /etc/subhosts.conf is root's: again through pkexec, or one line saying how.
  if (!isRoot()) return runAsRoot('org.overlay-boot.enable', `enabling ${arg} (writing /etc/subhosts.conf)`, 'overlay-boot', ['enable', conf]);
  const { name } = await validateConf(conf, 'enabling');
  for (const l of readSubhostsConf()) {
    if (!sameFile(l.path, conf) && safeName(l.path) === name) {
      throw new CliError(`NAME ${name} is already used by ${l.path} (${SUBHOSTS_CONF}:${l.line}); give ${conf} another NAME=`);
    }
  }
  // Connected first: a bus failure then changes nothing.
  const sm = await connectSystemd();
  try {
    const changed = await edit(sm, (text) => {
      const r = addConfLine(text, conf, (t) => sameFile(t, conf));
      return r.changed ? r.text : undefined;
    });
    process.stdout.write(changed
      ? `enabled subhost ${name}: ${conf} added to ${SUBHOSTS_CONF}\n`
      : `subhost ${name} is already enabled (${conf} is listed in ${SUBHOSTS_CONF})\n`);
    return 0;
  } finally {
    sm.close();
  }
}

export async function disable(args: string[]): Promise<number> {
  const arg = oneArg(args, disableUsage, 'disable');
  if (arg === undefined) return 0;
  if (!isRoot()) {
    return runAsRoot('org.overlay-boot.disable', `disabling ${arg} (writing /etc/subhosts.conf)`, 'overlay-boot', ['disable', looksLikeConf(arg) ? resolve(arg) : arg]);
  }
  let matches: (t: string) => boolean;
  if (looksLikeConf(arg)) {
    const conf = resolve(arg);
    matches = (t) => sameFile(t, conf);
  } else {
    const name = checkName(arg);
    matches = (t) => safeName(t) === name;
  }
  const sm = await connectSystemd();
  try {
    let removed: string[] = [];
    await edit(sm, (text) => {
      const r = removeConfLines(text, matches);
      removed = r.removed;
      return removed.length ? r.text : undefined;
    });
    if (!removed.length) {
      process.stderr.write(`overlay-boot: ${arg} is not listed in ${SUBHOSTS_CONF}; nothing to do\n`);
      return 0;
    }
    process.stdout.write(`disabled: ${removed.join(', ')} removed from ${SUBHOSTS_CONF}\n`);
    return 0;
  } finally {
    sm.close();
  }
}
