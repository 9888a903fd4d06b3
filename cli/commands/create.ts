// overlay-boot create NAME: make a subhost ready to start in one step
// (its directory with root, work and live, and its config written from
// the options), checked by the same checks as `overlay-boot check` before
// anything is written; --enable lists it, --now starts it. Its undo is
// remove.ts.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText, EXIT_NOPERM } from '../../lib/errors.js';
import { isRoot } from '../../lib/privilege.js';
import { loadConfig } from '../../lib/config/load.js';
import { clashProblem, startTooLongProblem } from '../support/owners.js';
import { notListable, notOneLine } from '../../lib/config/one-line.js';
import { reportLines } from '../../lib/config/problem.js';
import { findConf } from '../../lib/registry.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { giveIdentity } from '../support/identity.js';
import { checkName } from '../support/subhost.js';
import { enableAndStart } from './enable.js';

/** Where subhosts live unless --base says otherwise: state of the host's own, as /var/lib/machines is nspawn's. */
export const DEFAULT_PARENT = '/var/lib/subhosts';

/** Options that set one config key (a repeatable one joins its values with blanks, SHARE gets a line each). */
const KEY_OPTIONS: Record<string, string> = {
  '--lower': 'LOWER',
  '--cable': 'CABLES',
  '--start': 'START',
  '--ram-size': 'RAM_SIZE',
  '--share': 'SHARE',
  '--containment': 'CONTAINMENT',
  '--journal': 'JOURNAL',
  '--after': 'AFTER',
  '--requires': 'REQUIRES',
  '--memory-max': 'MEMORY_MAX',
  '--memory-high': 'MEMORY_HIGH',
  '--cpu-quota': 'CPU_QUOTA',
  '--cpu-weight': 'CPU_WEIGHT',
  '--io-weight': 'IO_WEIGHT',
  '--tasks-max': 'TASKS_MAX',
  '--timeout-start': 'TIMEOUT_START',
  '--timeout-stop': 'TIMEOUT_STOP',
};
const REPEATABLE = new Set(['--cable', '--share']);
const FLAGS = ['--enable', '--now', '--dry-run', '--help'];

export const usage = `Usage: overlay-boot create [OPTION...] NAME

Makes subhost NAME ready to start: the directory BASE (default
${DEFAULT_PARENT}/NAME) with root (UPPER), work and live, owned by root;
BASE mode 0700 (no other user reaches what the subhost writes), the
others 0755 (UPPER's mode is that of / inside the subhost); the config
BASE/NAME.conf (BASE=.) with one line per option given; in UPPER, the
subhost's own /etc/hostname (NAME), a fresh /etc/machine-id and, when
LOWER has an ssh server, fresh ssh host keys. The config is checked as overlay-boot check does before anything is
made; a problem is printed as check prints it and nothing is left behind.
Refuses a NAME that is taken (a config listed in /etc/subhosts.conf or
registered for this boot has it) and a BASE that exists.

  --base DIR           the subhost directory (default ${DEFAULT_PARENT}/NAME)
  --lower DIR          LOWER= (default /, the host root)
  --cable SPEC         one CABLES entry ([bridge]=[mac|.vlan]); repeatable
  --start "SERVICE..." START= (default "networking ssh"; "none": no services)
  --ram-size SIZE      RAM_SIZE= (default 50M)
  --share DIR[:PATH]   one SHARE= line; repeatable
  --containment LEVEL  CONTAINMENT= private-users (default), contained or none
  --journal yes|no     JOURNAL= (default yes: /dev/log reaches the host's journal)
  --after "NAME..."    AFTER=        --requires "NAME..."  REQUIRES=
  --memory-max, --memory-high, --cpu-quota, --cpu-weight, --io-weight,
  --tasks-max, --timeout-start, --timeout-stop VALUE
                       MEMORY_MAX= ... TIMEOUT_STOP= (systemd's resource keys)
  --enable             list it in /etc/subhosts.conf (start at boot), as
                       overlay-boot enable
  --now                start it now, as overlay-boot start
  --dry-run            check and print the config; make nothing
Exit status: 0 made (and started), 1 refused or failed, 2 bad usage, 77 not
root (--dry-run needs no root).
`;

/** The config's text: BASE=. and NAME=, then one line per key given, in the options' order. */
export function configText(name: string, values: [string, string[]][]): string {
  const lines = ['# Made by overlay-boot create (see overlay-boot.conf(5)).', 'BASE=.', `NAME=${name}`];
  for (const [key, vals] of values) {
    if (key === 'SHARE') for (const v of vals) lines.push(`SHARE=${v}`);
    else lines.push(`${key}=${vals.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

const optionOf = (key: string): string => Object.keys(KEY_OPTIONS).find((o) => KEY_OPTIONS[o] === key) ?? key;

/** The subhost's directories, parents first. */
const dirsOf = (base: string): string[] => [base, `${base}/root`, `${base}/work`, `${base}/live`];

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: FLAGS.slice(0, 3), options: ['--base', ...Object.keys(KEY_OPTIONS)] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length !== 1) throw new UsageError('create needs one NAME');
  const name = checkName(a.positionals[0]!);
  // parseArgs keeps the last value of an option: read repeatable ones from argv.
  const values: [string, string[]][] = [];
  for (const [opt, key] of Object.entries(KEY_OPTIONS)) {
    const given = REPEATABLE.has(opt) ? repeated(args, opt) : a.options.has(opt) ? [a.options.get(opt)!] : [];
    if (given.length) values.push([key, given]);
  }
  // One line each: a newline would make the rest another line of the config.
  for (const [key, vals] of values) {
    for (const v of vals) {
      const bad = notOneLine(v);
      if (bad) throw new Failure(`${optionOf(key)}: ${bad}; nothing was made`);
    }
  }
  const baseBad = a.options.has('--base') ? notListable(a.options.get('--base')!) : undefined;
  if (baseBad) throw new Failure(`--base: ${baseBad}; nothing was made`);
  const base = resolve(a.options.get('--base') ?? `${DEFAULT_PARENT}/${name}`);
  const conf = `${base}/${name}.conf`;
  const text = configText(name, values);

  // The same checks as overlay-boot check, on the file as it will be,
  // its directories counted as made: the same one-line problems.
  const r = await loadConfig(conf, { text, plannedDirs: dirsOf(base) });
  const clash = await clashProblem(r);
  if (clash) r.problems.push(clash);
  const tooLong = startTooLongProblem(r);
  if (tooLong) r.problems.push(tooLong);
  if (r.problems.length) {
    // Exactly check's lines, nothing more: nothing was made.
    for (const l of reportLines(r.file, r.problems, [])) process.stderr.write(`${l}\n`);
    return 1;
  }
  const taken = findConf(name, '');
  if (!('error' in taken)) throw new Failure(`NAME ${name} is taken: ${taken.conf} (${taken.where}) has it; give another NAME`);
  if (existsSync(base)) throw new Failure(`${base} exists; give another --base, or remove it first`);
  if (a.flags.has('--dry-run')) {
    process.stdout.write(text);
    return 0;
  }

  // Root's directories and a config root runs: root's own act (no polkit action hands it out).
  if (!isRoot()) throw new Failure(`creating subhost ${name} needs root: run it with sudo`, EXIT_NOPERM);
  make(base, conf, text);
  process.stdout.write(`created subhost ${name}: ${conf} (UPPER ${base}/root)\n`);
  await identity(base, r.config?.LOWER ?? '/', name);
  await enableAndStart(name, conf, { enable: a.flags.has('--enable'), now: a.flags.has('--now') }, undoHint(name, conf), (line) =>
    process.stdout.write(`${line}\n`),
  );
  return 0;
}

/** Its own hostname, machine-id and ssh host keys in UPPER (support/identity.ts); on failure, nothing of the subhost is left. */
async function identity(base: string, lower: string, name: string): Promise<void> {
  try {
    const made = await giveIdentity(`${base}/root`, lower, name);
    process.stdout.write(`gave subhost ${name} its own ${made.join(', ')} (in UPPER)\n`);
  } catch (e) {
    rmSync(base, { recursive: true, force: true });
    throw new Failure(`cannot give subhost ${name} its identity: ${errorText(e)}; removed ${base} again`);
  }
}

const undoHint = (name: string, conf: string) =>
  `subhost ${name} was created (${conf}); fix and run overlay-boot start ${conf}, or undo it with overlay-boot remove --purge ${conf}`;

/** Every value of a repeatable option, in order (--opt V and --opt=V). */
function repeated(args: string[], opt: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    if (args[i] === opt && i + 1 < args.length) out.push(args[++i]!);
    else if (args[i]!.startsWith(`${opt}=`)) out.push(args[i]!.slice(opt.length + 1));
    else if (args[i]!.startsWith('--') && !args[i]!.includes('=') && !FLAGS.includes(args[i]!)) i++;
  }
  return out;
}

/**
 * The directories and the config; on any failure, what was made is
 * removed again. BASE is root's alone (0700): what the subhost writes
 * lands in UPPER with the modes it chose (a setuid-root file, a 0666
 * device node), and no host user may reach it. UPPER itself stays 0755:
 * it is the root directory of the subhost's overlay, whose mode every
 * process inside needs to search /.
 */
function make(base: string, conf: string, text: string): void {
  const parent = dirname(base);
  const madeParent = !existsSync(parent);
  try {
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    for (const d of dirsOf(base)) {
      const mode = d === base ? 0o700 : 0o755;
      mkdirSync(d, { mode });
      chmodSync(d, mode); // not the umask's
    }
    writeFileAtomic(conf, text, { mode: 0o644 });
  } catch (e) {
    rmSync(base, { recursive: true, force: true });
    if (madeParent) rmSync(parent, { recursive: true, force: true });
    throw new Failure(`cannot create ${base}: ${errorText(e)}`);
  }
}
