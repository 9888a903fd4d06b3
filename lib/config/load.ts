// Read a subhost .conf and resolve every 1.6 variable to its value, in
// 1.6's order and with 1.6's defaults, remembering where each value came
// from. Values that are commands (`VAR=!cmd`) are run only when the
// caller passes an evaluator (the runtime does; `check` and the generator
// never do): until then they are "deferred" and not validated.
import { statSync, realpathSync } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { parseConfText, type Assignment } from './parse.js';
import { parseCables } from './cables.js';
import {
  NameSchema, AbsolutePath, RamSizeSchema, StartSchema, StartTimeoutSchema, CommandSchema, ShareSchema,
  SubhostConfigSchema, SYSTEMD_KEYS, NameListSchema, ContainmentSchema, type SubhostConfig, type Share, type SystemdKey,
} from './fields.js';
import { readConfigText, checkHook, checkCommand } from './trust.js';
import type { Problem } from './problem.js';
import { libDir } from '../paths.js';

/** The variables 1.6 read, in the order it read them (commands run in this order). */
export const VARIABLES: readonly [
  'NAME', 'LOG', 'BASE', 'CABLES', 'LIVE', 'UPPER', 'WORK', 'LOWER', 'START',
  'PREMOUNT', 'POSTMOUNT', 'INIT', 'RAM_SIZE', 'REAPER', 'SHARE', 'START_TIMEOUT', 'CONTAINMENT', 'AFTER', 'REQUIRES', ...SystemdKey[],
] = [
  'NAME', 'LOG', 'BASE', 'CABLES', 'LIVE', 'UPPER', 'WORK', 'LOWER', 'START',
  'PREMOUNT', 'POSTMOUNT', 'INIT', 'RAM_SIZE', 'REAPER', 'SHARE',
  // beyond 1.6: never commands
  'START_TIMEOUT', 'CONTAINMENT', 'AFTER', 'REQUIRES', ...(Object.keys(SYSTEMD_KEYS) as SystemdKey[]),
] as const;
export type Variable = (typeof VARIABLES)[number];
const FIRST_16 = ['BASE', 'CABLES', 'LIVE', 'UPPER', 'WORK', 'LOWER', 'START', 'PREMOUNT', 'POSTMOUNT', 'INIT', 'RAM_SIZE', 'REAPER'] as const;

export type Source =
  | { kind: 'line'; line: number; text: string }
  | { kind: 'default'; why: string }
  | { kind: 'command'; line: number; text: string; deferred: boolean };

export interface Resolved {
  /** Display value (string form) of each variable. */
  value: string;
  source: Source;
}

/** Runs a `!cmd` value; resolving to undefined leaves that key deferred. */
export type Evaluator = (
  command: string,
  /** program: the path the command's first word names, checked to be root's alone: run that one. */
  ctx: { key: Variable; cwd: string; config: string; program?: string },
) => Promise<string | undefined>;

export interface LoadOptions {
  /** Run `!cmd` values with this; without it they stay deferred. */
  evaluate?: Evaluator;
  /** Check that directories exist (default true). */
  checkFs?: boolean;
  /** The file's text, when the caller has it already (tests, fuzzing). */
  text?: string;
}

export interface LoadResult {
  file: string;
  /** Set when there are no problems and nothing is deferred. */
  config?: SubhostConfig;
  /** The keys validated so far (all of them when config is set). */
  partial: Partial<SubhostConfig>;
  resolved: Partial<Record<Variable, Resolved>>;
  shares: { value: string; line: number }[];
  problems: Problem[];
  warnings: Problem[];
  deferred: Variable[];
  /** True when the file can run commands on the host. */
  runsCommands: boolean;
  /** Set (to the errno) when the file could not be opened at all: absent, or not mounted yet. */
  unreadable?: string;
}

export function defaultHooks(): Record<'PREMOUNT' | 'POSTMOUNT' | 'INIT', string> {
  const d = libDir();
  return { PREMOUNT: `${d}/overlay-premount`, POSTMOUNT: `${d}/overlay-postmount`, INIT: `${d}/overlay-init` };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function firstIssue(err: { issues: { message: string }[] }): string {
  return err.issues[0]?.message ?? 'is invalid';
}

export async function loadConfig(fileArg: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const file = resolvePath(fileArg);
  const checkFs = opts.checkFs ?? true;
  const res: LoadResult = {
    file, resolved: {}, partial: {}, shares: [], problems: [], warnings: [], deferred: [], runsCommands: false,
  };
  const problem = (key: string | undefined, message: string, line?: number) =>
    res.problems.push({ file, line, key, message });

  let text: string;
  if (opts.text !== undefined) {
    text = opts.text;
  } else {
    // Every config is trusted before a byte of it is read (see trust.ts).
    const read = readConfigText(file);
    if ('problem' in read) {
      res.problems.push(read.problem);
      res.unreadable = read.unreadable;
      return res;
    }
    text = read.text;
  }
  const parsed = parseConfText(text);
  for (const line of parsed.strayLines) {
    res.warnings.push({ file, line, message: 'not a VAR=value line; ignored (as 1.6 did)' });
  }

  // The last assignment wins; SHARE keeps every line.
  const last = new Map<string, Assignment>();
  for (const a of parsed.assignments) {
    if (a.key === 'SHARE') {
      if (a.command) problem('SHARE', 'SHARE cannot be a !command (1.6 never evaluated it)', a.line);
      else res.shares.push({ value: a.value, line: a.line });
      continue;
    }
    if (!(VARIABLES as readonly string[]).includes(a.key)) {
      res.warnings.push({ file, line: a.line, key: a.key, message: 'unknown variable; ignored' });
      continue;
    }
    last.set(a.key, a);
  }

  const hooks = defaultHooks();
  res.runsCommands = [...last.values()].some(
    (a) => a.command || (['PREMOUNT', 'POSTMOUNT', 'INIT'] as string[]).includes(a.key),
  );

  const name = basename(file).replace(/\.conf$/, '');
  const systemdDefaults = Object.fromEntries(
    Object.keys(SYSTEMD_KEYS).map((k) => [k, () => ['', "systemd's default"]]),
  ) as Record<SystemdKey, () => [string, string]>;
  const defaults: Record<Exclude<Variable, 'SHARE' | 'BASE'>, (base: string) => [string, string]> = {
    ...systemdDefaults,
    START_TIMEOUT: () => ['30s', 'each START entry may take 30 s, then it is stopped and the start carries on'],
    CONTAINMENT: () => ['contained', 'root inside cannot reach the host through the kernel'],
    AFTER: () => ['', 'no ordering'],
    REQUIRES: () => ['', 'no dependency'],
    NAME: () => [name, 'the config file name less .conf'],
    LOG: () => ['', 'logs go to the journal (journalctl -u subhost@NAME)'],
    CABLES: () => ['', 'no cables'],
    LIVE: (b) => [`${b}/live`, 'BASE/live'],
    UPPER: (b) => [`${b}/root`, 'BASE/root'],
    WORK: (b) => [`${b}/work`, 'BASE/work'],
    LOWER: () => ['/', 'the host root'],
    START: () => ['networking ssh', '1.6 default'],
    PREMOUNT: () => [hooks.PREMOUNT, 'built in'],
    POSTMOUNT: () => [hooks.POSTMOUNT, 'built in'],
    INIT: () => [hooks.INIT, 'built in'],
    RAM_SIZE: () => ['50M', '1.6 default'],
    REAPER: () => ['/.reaper', '1.6 default'],
  };

  // Resolve the string value of each variable in 1.6 order. An empty
  // value counts as unset (1.6 tested `[ -z "$V" ]`).
  const values: Partial<Record<Variable, string>> = {};
  let base = '';
  for (const key of VARIABLES) {
    if (key === 'SHARE') continue;
    const a = last.get(key);
    if (a && a.command) {
      if (key === 'NAME' || key === 'LOG' || !(FIRST_16 as readonly string[]).includes(key)) {
        problem(key, `${key} cannot be a !command: systemd must know it without running anything`, a.line);
        continue;
      }
      const cwd = key === 'BASE' ? dirname(file) : base;
      // The program must be root's alone, checked now (also by check and
      // the generator, which do not run it).
      const prog = checkCommand(file, a, cwd);
      if ('problem' in prog) {
        res.problems.push(prog.problem);
        continue;
      }
      let out: string | undefined;
      if (opts.evaluate) {
        try {
          out = await opts.evaluate(a.value, { key, cwd, config: file, program: prog.program });
        } catch (e) {
          problem(key, `command "${a.value}" failed: ${(e as Error).message}`, a.line);
          continue;
        }
      }
      if (out === undefined) {
        res.deferred.push(key);
        res.resolved[key] = { value: `!${a.value}`, source: { kind: 'command', line: a.line, text: a.text, deferred: true } };
        if (key === 'BASE') return finish(res); // nothing else can be resolved without BASE
        continue;
      }
      // 1.6 used the first line of the output (`read V`), trimmed.
      const v = (out.split('\n')[0] ?? '').trim();
      if (v === '') {
        problem(key, `command "${a.value}" printed nothing`, a.line);
        continue;
      }
      values[key] = v;
      res.resolved[key] = { value: v, source: { kind: 'command', line: a.line, text: a.text, deferred: false } };
    } else if (a && a.value !== '') {
      values[key] = a.value;
      res.resolved[key] = { value: a.value, source: { kind: 'line', line: a.line, text: a.text } };
    } else if (key === 'BASE') {
      problem('BASE', 'missing BASE=... (required: the subhost directory, relative to the config file)', a?.line);
      return finish(res);
    } else {
      const [v, why] = defaults[key](base);
      values[key] = v;
      res.resolved[key] = { value: v, source: { kind: 'default', why } };
    }
    if (key === 'BASE') {
      const b = resolvePath(dirname(file), values.BASE!);
      if (checkFs && !isDir(b)) {
        problem('BASE', `${b} is not a directory`, last.get('BASE')?.line);
        return finish(res);
      }
      // Without checkFs (the generator, early at boot) BASE may live on a
      // filesystem not mounted yet: keep the path as written.
      base = isDir(b) ? realpathSync(b) : b;
      values.BASE = base;
      res.resolved.BASE!.value = base;
    }
  }

  // Typed, validated values. Paths are resolved against BASE as 1.6 did
  // (it ran `cd $BASE` before using them).
  const line = (k: Variable) => {
    const s = res.resolved[k]?.source;
    return s && s.kind !== 'default' ? s.line : undefined;
  };
  const typed: Record<string, unknown> = { CONFIG: file, BASE: base, LOG: values.LOG ?? '' };
  const field = <T>(key: Variable, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, v: unknown) => {
    const r = schema.safeParse(v);
    if (r.success) typed[key] = r.data;
    else problem(key, `"${String(values[key])}" ${firstIssue(r.error)}`, line(key));
  };
  const deferred = (k: Variable) => res.deferred.includes(k) || values[k] === undefined;
  const untrustedHooks = new Set<Variable>();

  if (!deferred('NAME')) field('NAME', NameSchema, values.NAME);
  for (const k of ['LIVE', 'UPPER', 'WORK', 'LOWER'] as const) {
    if (!deferred(k)) {
      const p = resolvePath(base, values[k]!);
      values[k] = p;
      res.resolved[k]!.value = p;
      field(k, AbsolutePath, p);
    }
  }
  if (!deferred('START')) field('START', StartSchema, values.START);
  for (const k of ['PREMOUNT', 'POSTMOUNT', 'INIT'] as const) {
    if (deferred(k)) continue;
    field(k, CommandSchema, values[k]);
    // A custom hook runs as root on the host: it must be root's alone.
    const argv = typed[k] as string[] | undefined;
    const p = argv && argv[0] !== hooks[k] ? checkHook(file, k, argv[0]!, line(k)) : undefined;
    if (p) {
      res.problems.push(p);
      untrustedHooks.add(k);
    }
  }
  if (!deferred('RAM_SIZE')) field('RAM_SIZE', RamSizeSchema, values.RAM_SIZE);
  if (!deferred('REAPER')) field('REAPER', AbsolutePath, values.REAPER);
  if (!deferred('CABLES') && typed.NAME) {
    try {
      typed.CABLES = parseCables(values.CABLES!, typed.NAME as string);
    } catch (e) {
      problem('CABLES', (e as Error).message, line('CABLES'));
    }
  }
  field('START_TIMEOUT', StartTimeoutSchema, values.START_TIMEOUT);
  field('CONTAINMENT', ContainmentSchema, values.CONTAINMENT);
  for (const k of ['AFTER', 'REQUIRES'] as const) field(k, NameListSchema, values[k]);
  const systemd: Record<string, string> = {};
  for (const k of Object.keys(SYSTEMD_KEYS) as SystemdKey[]) {
    if (!values[k]) continue;
    const r = SYSTEMD_KEYS[k].schema.safeParse(values[k]);
    if (r.success) systemd[SYSTEMD_KEYS[k].directive] = r.data;
    else problem(k, `"${values[k]}" ${firstIssue(r.error)}`, line(k));
  }
  typed.SYSTEMD = systemd;
  if (values.LOG) {
    res.warnings.push({ file, line: line('LOG'), key: 'LOG', message: 'ignored: overlay-boot 2 logs to the journal (journalctl -u subhost@NAME)' });
  }

  // SHARE=dir or SHARE=hostdir:subhostdir; the host dir is relative to BASE.
  const shares: Share[] = [];
  for (const s of res.shares) {
    const colon = s.value.indexOf(':');
    const hostPart = colon < 0 ? s.value : s.value.slice(0, colon);
    const host = resolvePath(base, hostPart);
    const inside = colon < 0 ? host : s.value.slice(colon + 1);
    const r = ShareSchema.safeParse({ host, inside, line: s.line });
    if (!r.success) {
      const issue = r.error.issues[0]!;
      problem('SHARE', `"${s.value}": ${issue.path[0] === 'inside' ? 'subhost path' : 'host path'} ${issue.message}`, s.line);
    } else if (checkFs && !isDir(host)) {
      problem('SHARE', `"${s.value}": host directory ${host} does not exist`, s.line);
    } else {
      shares.push(r.data);
    }
  }
  typed.SHARE = shares;

  // Directories that must exist (1.6 checked these at start; we check early).
  if (checkFs) {
    const need: Variable[] = ['LIVE', 'UPPER', 'LOWER'];
    if (values.UPPER !== values.LOWER) need.push('WORK');
    for (const k of need) {
      if (!deferred(k) && typed[k] && !isDir(values[k]!)) problem(k, `${values[k]} is not a directory`, line(k));
    }
    for (const k of ['PREMOUNT', 'POSTMOUNT', 'INIT'] as const) {
      const argv = typed[k] as string[] | undefined;
      // Built in (implemented by the runtime itself), or refused above already.
      if (!argv || argv[0] === hooks[k] || untrustedHooks.has(k)) continue;
      try {
        const st = statSync(argv[0]!);
        if (!st.isFile() || !(st.mode & 0o111)) problem(k, `${argv[0]} is not an executable file`, line(k));
      } catch {
        problem(k, `${argv[0]} does not exist`, line(k));
      }
    }
  }
  if (!deferred('LIVE') && typed.LIVE === typed.LOWER && typed.UPPER !== typed.LOWER) {
    problem('LIVE', 'LIVE must not be LOWER', line('LIVE'));
  }
  for (const s of shares) {
    if (s.host === typed.LOWER) problem('SHARE', `${s.host} is LOWER itself`, s.line);
  }

  res.partial = typed as Partial<SubhostConfig>;
  if (res.problems.length === 0 && res.deferred.length === 0) {
    res.config = SubhostConfigSchema.parse(typed);
  }
  return finish(res);
}

function finish(res: LoadResult): LoadResult {
  res.problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  res.warnings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return res;
}
