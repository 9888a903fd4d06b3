// overlay-boot disable CONF|NAME: remove a config from /etc/subhosts.conf
// (atomically: comments and other lines kept), then daemon-reload. Does
// not stop anything.
import { resolve } from 'node:path';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure } from '../../lib/errors.js';
import { notListable, shown } from '../../lib/config/one-line.js';
import { connectSystemd } from '../support/dbus.js';
import { removeConfLines, sameFile, editSubhostsConf, listedName } from '../support/conf.js';
import { looksLikeConf, checkName } from '../support/subhost.js';
import { SUBHOSTS_CONF } from '../../lib/paths.js';
import { isRoot, runAsRoot } from '../../lib/privilege.js';

export const usage = `Usage: overlay-boot disable CONF|NAME

Removes config CONF (or the config of subhost NAME) from ${SUBHOSTS_CONF}
and reloads systemd. Does not stop a running subhost: overlay-stop NAME does.
`;

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args);
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length !== 1) throw new UsageError('disable needs one CONF or NAME');
  const arg = a.positionals[0]!;
  // What cannot be listed is not listed: never a different line than the one meant.
  const bad = notListable(arg);
  if (bad) throw new Failure(`cannot disable ${shown(arg)}: ${bad}`);
  if (!isRoot()) {
    return runAsRoot('org.overlay-boot.disable', `disabling ${arg} (writing /etc/subhosts.conf)`, 'overlay-boot', [
      'disable',
      looksLikeConf(arg) ? resolve(arg) : arg,
    ]);
  }
  let matches: (t: string) => boolean;
  if (looksLikeConf(arg)) {
    const conf = resolve(arg);
    matches = (t) => sameFile(t, conf);
  } else {
    const name = checkName(arg);
    matches = (t) => listedName(t) === name;
  }
  const sm = await connectSystemd();
  try {
    let removed: string[] = [];
    await editSubhostsConf(sm, (text) => {
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
