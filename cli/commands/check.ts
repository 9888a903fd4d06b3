// overlay-boot check CONF...: show every variable of a subhost config with
// where its value came from, or the problems, without running anything.
import { loadConfig, VARIABLES, type LoadResult, type Source } from '../../lib/config/load.js';
import { formatProblem, reportLines } from '../../lib/config/problem.js';
import { twinWarnings } from '../support/identity.js';
import { parseArgs, operands } from '../../lib/args.js';
import { UsageError } from '../../lib/errors.js';
import { shownConfig, VARIABLE_TABLE } from '../../lib/config/variables.js';
import { readSubhostsConf } from '../../lib/registry.js';
import { SUBHOSTS_CONF } from '../../lib/paths.js';
import { sameFile } from '../support/conf.js';
import { runtimeDropin } from '../support/fence.js';
import { clashProblem, startTooLongProblem } from '../support/owners.js';
import { terminalText } from '../support/format.js';
import { upperReachableWarning } from '../support/upper-access.js';
import { IDS_DIR, rangeText, recordedRange } from '../../lib/idrange.js';

export const usage = `Usage: overlay-boot check [--json] CONF...

Shows every variable of each config with where its value came from, or
its problems (one line each), without running anything (a !command is
shown, not run). Systemd settings (AFTER, MEMORY_MAX, TIMEOUT_START...)
are named last, with the drop-in they reach subhost@NAME.service through.
Exit status: 0 all valid, 1 problems, 2 bad usage.
`;

function describe(s: Source): string {
  switch (s.kind) {
    case 'line':
      return `line ${s.line}: ${s.text}`;
    case 'default':
      return `default (${s.why})`;
    case 'command':
      return `line ${s.line}: ${s.text}${s.deferred ? ' (run at start, not by check)' : ''}`;
  }
}

/** Where the config sits in /etc/subhosts.conf ("FILE:LINE"), if it is listed there. */
export function listedAt(file: string): string | undefined {
  try {
    const l = readSubhostsConf().find((x) => sameFile(x.path, file));
    return l ? `${SUBHOSTS_CONF}:${l.line}` : undefined;
  } catch {
    return undefined;
  }
}

/** AFTER, REQUIRES and the keys that become unit directives, in the table's order, with what they become. */
const SETTING_KEYS: [string, string][] = VARIABLE_TABLE.flatMap((v): [string, string][] => {
  if (v.name === 'AFTER') return [[v.name, 'After=']];
  if (v.name === 'REQUIRES') return [[v.name, 'Requires=, After=']];
  return v.kind === 'systemd' ? [[v.name, `${v.directive}=`]] : [];
});

/**
 * The systemd side of the config (AFTER, REQUIRES, the resource and
 * timeout keys, CONTAINMENT=none): which directive each becomes and by
 * which drop-in it reaches subhost@NAME.service. Empty when the config
 * sets none of them.
 */
export function whereSettingsApply(r: LoadResult, listed: string | undefined): string[] {
  const c = r.partial;
  const name = c.NAME ?? 'NAME';
  const set: string[] = [];
  for (const [k, directive] of SETTING_KEYS) {
    const v = r.resolved[k as keyof typeof r.resolved];
    if (v && v.source.kind !== 'default') set.push(`${k} (${directive})`);
  }
  if (c.CONTAINMENT === 'none') set.push("CONTAINMENT=none (resets the template's fence)");
  if (!set.length) return [];
  const via = listed
    ? `apply through the generator's drop-in (${name} is listed in ${listed}; after a change: systemctl daemon-reload), ` +
      `on every start: overlay-boot start, systemctl start subhost@${name}, boot`
    : `apply through overlay-boot start's runtime drop-in ${runtimeDropin(name)} ` +
      `(this config is not listed in ${SUBHOSTS_CONF}): written when overlay-boot start ${r.file} registers it, ` +
      `then also for systemctl start subhost@${name} during this boot; overlay-boot enable lists it for every boot`;
  return [`systemd settings on subhost@${name}.service: ${set.join(', ')}`, `  ${via}`];
}

/** The host ids of root inside at CONTAINMENT=private-users: the recorded range, or when it will be. */
export function idsRow(r: LoadResult): [string, string, string] | undefined {
  if (r.partial.CONTAINMENT !== 'private-users' || !r.partial.NAME) return undefined;
  const range = recordedRange(r.partial.NAME);
  return range
    ? ['(host ids)', rangeText(range), `recorded in ${IDS_DIR}`]
    : ['(host ids)', 'none yet', `allocated at first start, recorded in ${IDS_DIR}`];
}

export function renderCheck(r: LoadResult, listed?: string): string {
  const rows: [string, string, string][] = [];
  for (const key of VARIABLES) {
    if (key === 'SHARE') {
      for (const s of r.config?.SHARE ?? []) rows.push(['SHARE', terminalText(`${s.host} -> ${s.inside}`), `line ${s.line}`]);
      continue;
    }
    const v = r.resolved[key];
    if (v)
      rows.push([
        key,
        v.value === '' ? '""' : terminalText(v.value),
        terminalText(describe(v.source) + (v.checkedAtStart ? ` (checked at start: ${v.checkedAtStart})` : '')),
      ]);
  }
  const ids = idsRow(r);
  if (ids) rows.push(ids);
  const w = Math.max(...rows.map((x) => x[1].length), 10);
  const head = r.deferred.length
    ? `${r.file}: valid so far; ${r.deferred.join(', ')} will be known when the subhost starts`
    : `${r.file}: valid`;
  return `${[head, ...rows.map(([k, v, s]) => `${k.padEnd(14)}${v.padEnd(w + 2)}${s}`), ...whereSettingsApply(r, listed)].join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: ['--json'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  const json = a.flags.has('--json');
  const files = operands(a);
  if (files.length === 0) throw new UsageError('check needs a config file');
  let status = 0;
  for (const f of files) {
    const r = await loadConfig(f);
    // Another registered subhost's directories are not this one's.
    const clash = await clashProblem(r);
    if (clash) r.problems.push(clash);
    const tooLong = startTooLongProblem(r);
    if (tooLong) r.problems.push(tooLong);
    if (r.config) {
      const start = r.resolved.START?.source;
      for (const message of twinWarnings(r.config))
        r.warnings.push({ file: r.file, line: start?.kind === 'default' ? undefined : start?.line, key: 'START', message });
    }
    // Problems and warnings, a few at most (a file of garbage gives a few lines, then a count).
    // Paths and values may name what a subhost wrote: escaped.
    const lines = reportLines(r.file, r.problems, r.warnings).map(terminalText);
    if (r.problems.length === 0) for (const l of lines) process.stderr.write(`${l}\n`);
    const reachable = r.config ? upperReachableWarning(r.config.UPPER) : undefined;
    if (reachable) process.stderr.write(`${terminalText(`${r.file}: warning: ${reachable}`)}\n`);
    if (json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            file: r.file,
            valid: r.problems.length === 0,
            deferred: r.deferred,
            config: r.config ? shownConfig(r.config) : null,
            ids: r.partial.CONTAINMENT === 'private-users' && r.partial.NAME ? (recordedRange(r.partial.NAME) ?? null) : null,
            resolved: r.resolved,
            problems: r.problems.map(formatProblem),
          },
          null,
          2,
        )}\n`,
      );
    } else if (r.problems.length === 0) {
      process.stdout.write(renderCheck(r, listedAt(r.file)));
    }
    if (r.problems.length) {
      for (const l of lines) process.stderr.write(`${l}\n`);
      status = 1;
    }
  }
  return status;
}
