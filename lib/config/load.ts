// Read a subhost .conf and resolve every variable of the table
// (variables.ts) to its value, in 1.6's order and with 1.6's defaults,
// remembering where each value came from. Values that are commands (`VAR=!cmd`) are run only when the
// caller passes an evaluator (the runtime does; `check` and the generator
// never do): until then they are "deferred" and not validated.
import { existsSync, statSync, realpathSync, lstatSync } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { parseConfText, type Assignment } from './parse.js';
import { parseCables, type Cable } from './cables.js';
import type { z } from 'zod/v3';
import { ShareSchema, SubhostConfigSchema, plainlyValid, type SubhostConfig, type Share, type Hook } from './fields.js';
import { VARIABLE_TABLE, variable, hookOf, namesBuiltin, type Variable, type VariableSpec, type HookVariable } from './variables.js';
import { readConfigText, checkHook, checkCommand } from './trust.js';
import type { TrustedDirs } from './open.js';
import type { Problem } from './problem.js';

export { VARIABLES, type Variable } from './variables.js';

export type Source =
  | { kind: 'line'; line: number; text: string }
  | { kind: 'default'; why: string }
  | { kind: 'command'; line: number; text: string; deferred: boolean };

export interface Resolved {
  /** Display value (string form) of each variable. */
  value: string;
  source: Source;
  /** Set when its directory check waits for the start: why (under what a `!command` mounts). */
  checkedAtStart?: string;
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
  /**
   * Directories that count as there although they are not yet: `create`
   * checks a config before it makes its directories, with the same checks.
   */
  plannedDirs?: string[];
  /** Directories found trusted earlier in this run (the generator: one run over every registered config). */
  trustedDirs?: TrustedDirs;
  /** Paths resolved earlier in this run (realpathIn), for the same. */
  realpaths?: Map<string, string>;
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

/**
 * realpath(3) of the absolute, normalized path p, through its parents
 * already resolved in this run (`known`): one lstat when the parent is
 * known and p is no symlink, instead of one per component.
 */
export function realpathIn(p: string, known?: Map<string, string>, notLink = false): string {
  if (!known) return realpathSync(p);
  const hit = known.get(p);
  if (hit !== undefined) return hit;
  const parent = dirname(p);
  let real: string;
  if (parent !== p && (notLink || !lstatSync(p).isSymbolicLink())) {
    const up = realpathIn(parent, known);
    real = up === '/' ? `/${basename(p)}` : `${up}/${basename(p)}`;
  } else {
    real = realpathSync(p);
  }
  known.set(p, real);
  return real;
}

/** realpath of p when it is a directory (symlinks followed, as stat(2)), else undefined. */
function realDir(p: string, known?: Map<string, string>): string | undefined {
  if (known) {
    // One lstat tells both, for a directory that is no symlink (the common case).
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch {
      return undefined;
    }
    if (st.isDirectory()) return realpathIn(p, known, true);
  }
  return isDir(p) ? realpathIn(p, known) : undefined;
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

/**
 * Read, trust, resolve and validate the config `fileArg`, in stages:
 * the text (trusted before a byte is read), its assignments, the value of
 * each variable in 1.6's order (running commands), each field's schema,
 * SHARE, the filesystem, and the checks across fields.
 */
export async function loadConfig(fileArg: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const file = resolvePath(fileArg);
  const res: LoadResult = {
    file,
    resolved: {},
    partial: {},
    shares: [],
    problems: [],
    warnings: [],
    deferred: [],
    runsCommands: false,
  };
  const text = opts.text ?? trustedText(res, opts.trustedDirs);
  if (text === undefined) return res;
  const l: Loading = {
    res,
    checkFs: opts.checkFs ?? true,
    last: readAssignments(res, text),
    values: {},
    base: '',
    typed: {},
    untrustedHooks: new Set(),
    isDir: (p) => opts.plannedDirs?.includes(p) || isDir(p),
    realpaths: opts.realpaths,
  };
  if (!(await resolveValues(l, opts.evaluate))) return finish(res);
  validateFields(l);
  readShares(l);
  if (l.checkFs) {
    checkFilesystem(l);
    checkBridges(l);
  }
  crossChecks(l);
  res.partial = l.typed as Partial<SubhostConfig>;
  if (res.problems.length === 0 && res.deferred.length === 0) {
    res.config = typedConfig(l.typed);
  }
  return finish(res);
}

/**
 * The config from values that each passed their own schema above: the
 * keys of SubhostConfigSchema, in its order (as its parse gave them,
 * unknown keys left out). Parsing the whole object again with zod gave
 * nothing more and was, with 1000 configs, the generator's largest cost;
 * test/unit/config.test.ts holds the two to be equal.
 */
function typedConfig(typed: Record<string, unknown>): SubhostConfig {
  const config: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (typed[key] === undefined) throw new Error(`internal error: ${key} has no value after validation`);
    config[key] = typed[key];
  }
  return config as SubhostConfig;
}
const CONFIG_KEYS = Object.keys(SubhostConfigSchema.shape);

/** One load in progress: the result being built, and what each stage hands on. */
interface Loading {
  res: LoadResult;
  checkFs: boolean;
  /** The last assignment of each variable (SHARE's lines are in res.shares). */
  last: Map<Variable, Assignment>;
  /** The string value of each variable resolved so far. */
  values: Partial<Record<Variable, string>>;
  /** BASE as resolved ('' until then). */
  base: string;
  /** The typed values that passed their schema. */
  typed: Record<string, unknown>;
  /** Custom hooks refused by the trust check: not looked at again. */
  untrustedHooks: Set<HookVariable>;
  /** Whether a path is a directory (or one the caller is about to make). */
  isDir: (p: string) => boolean;
  realpaths?: Map<string, string>;
}

function problem(l: Loading, key: string | undefined, message: string, line?: number): void {
  l.res.problems.push({ file: l.res.file, line, key, message });
}

/** The line a variable's value came from, when it came from one. */
function lineOf(l: Loading, key: Variable): number | undefined {
  const s = l.res.resolved[key]?.source;
  return s && s.kind !== 'default' ? s.line : undefined;
}

/** Known: neither deferred nor refused. */
function known(l: Loading, key: Variable): boolean {
  return !l.res.deferred.includes(key) && l.values[key] !== undefined;
}

/** Stage 1: the text, read only once the file is trusted (see trust.ts); undefined when refused. */
function trustedText(res: LoadResult, known?: TrustedDirs): string | undefined {
  const read = readConfigText(res.file, known);
  if ('problem' in read) {
    res.problems.push(read.problem);
    res.unreadable = read.unreadable;
    return undefined;
  }
  return read.text;
}

/** Stage 2: the assignments. The last one of a variable wins; SHARE keeps every line. */
function readAssignments(res: LoadResult, text: string): Map<Variable, Assignment> {
  const { file } = res;
  const parsed = parseConfText(text);
  for (const line of parsed.strayLines) {
    res.warnings.push({ file, line, message: 'not a VAR=value line; ignored (as 1.6 did)' });
  }
  const last = new Map<Variable, Assignment>();
  for (const a of parsed.assignments) {
    const spec = variable(a.key);
    if (spec?.kind === 'share') {
      if (a.command)
        res.problems.push({ file, line: a.line, key: 'SHARE', message: 'SHARE cannot be a !command (1.6 never evaluated it)' });
      else res.shares.push({ value: a.value, line: a.line });
      continue;
    }
    if (!spec) {
      res.warnings.push({ file, line: a.line, key: a.key, message: 'unknown variable; ignored' });
      continue;
    }
    last.set(spec.name as Variable, a);
  }
  res.runsCommands = [...last.values()].some((a) => a.command || variable(a.key)?.kind === 'hook');
  return last;
}

/**
 * Stage 3: the string value of each variable, in 1.6's order. An empty
 * value counts as unset (1.6 tested `[ -z "$V" ]`). False when nothing
 * more can be resolved: BASE is missing, deferred, or not a directory.
 */
async function resolveValues(l: Loading, evaluate: Evaluator | undefined): Promise<boolean> {
  const name = basename(l.res.file).replace(/\.conf$/, '');
  for (const spec of VARIABLE_TABLE) {
    if (spec.kind === 'share') continue;
    const key = spec.name;
    const a = l.last.get(key);
    if (a?.command) {
      const v = await commandValue(l, spec, a, evaluate);
      if (v === undefined) {
        if (key === 'BASE' && l.res.deferred.includes('BASE')) return false; // nothing else can be resolved without BASE
        continue;
      }
      l.values[key] = v;
      l.res.resolved[key] = { value: v, source: { kind: 'command', line: a.line, text: a.text, deferred: false } };
    } else if (a && a.value !== '') {
      l.values[key] = a.value;
      l.res.resolved[key] = { value: a.value, source: { kind: 'line', line: a.line, text: a.text } };
    } else if (spec.kind === 'base') {
      problem(l, 'BASE', 'missing BASE=... (required: the subhost directory, relative to the config file)', a?.line);
      return false;
    } else {
      const { value, why } = spec.default;
      const ctx = { name, base: l.base, values: l.values };
      const v = value(ctx);
      l.values[key] = v;
      l.res.resolved[key] = { value: v, source: { kind: 'default', why: typeof why === 'string' ? why : why(ctx) } };
    }
    if (spec.kind === 'base' && !settleBase(l)) return false;
  }
  return true;
}

/**
 * The value of `!command` a: run when there is an evaluator, else
 * deferred (recorded as such). Undefined when refused, failed or deferred.
 */
async function commandValue(l: Loading, spec: VariableSpec, a: Assignment, evaluate: Evaluator | undefined): Promise<string | undefined> {
  const key = spec.name as Variable;
  const { file } = l.res;
  if (!spec.command) {
    problem(l, key, `${key} cannot be a !command: systemd must know it without running anything`, a.line);
    return undefined;
  }
  const cwd = key === 'BASE' ? dirname(file) : l.base;
  // The program must be root's alone, checked now (also by check and
  // the generator, which do not run it).
  const prog = checkCommand(file, a, cwd);
  if ('problem' in prog) {
    l.res.problems.push(prog.problem);
    return undefined;
  }
  let out: string | undefined;
  if (evaluate) {
    try {
      out = await evaluate(a.value, { key, cwd, config: file, program: prog.program });
    } catch (e) {
      problem(l, key, `command "${a.value}" failed: ${(e as Error).message}`, a.line);
      return undefined;
    }
  }
  if (out === undefined) {
    l.res.deferred.push(key);
    l.res.resolved[key] = { value: `!${a.value}`, source: { kind: 'command', line: a.line, text: a.text, deferred: true } };
    return undefined;
  }
  // 1.6 used the first line of the output (`read V`), trimmed.
  const v = (out.split('\n')[0] ?? '').trim();
  if (v === '') {
    problem(l, key, `command "${a.value}" printed nothing`, a.line);
    return undefined;
  }
  return v;
}

/** BASE, relative to the config file's directory; false when it must be a directory and is not. */
function settleBase(l: Loading): boolean {
  const b = resolvePath(dirname(l.res.file), l.values.BASE!);
  if (l.checkFs && !l.isDir(b)) {
    problem(l, 'BASE', `${b} is not a directory`, l.last.get('BASE')?.line);
    return false;
  }
  // Without checkFs (the generator, early at boot) BASE may live on a
  // filesystem not mounted yet: keep the path as written.
  l.base = realDir(b, l.realpaths) ?? b;
  l.values.BASE = l.base;
  l.res.resolved.BASE!.value = l.base;
  return true;
}

/**
 * Stage 4: each known value through its schema, into its typed form.
 * Paths are resolved against BASE as 1.6 did (it ran `cd $BASE` before
 * using them); a custom hook runs as root on the host, so it must be
 * root's alone.
 */
function validateFields(l: Loading): void {
  const { values, typed } = l;
  Object.assign(typed, { CONFIG: l.res.file, BASE: l.base, LOG: values.LOG ?? '' });
  const parse = <S extends z.ZodTypeAny>(key: Variable, schema: S, v: unknown): z.output<S> | undefined => {
    if (typeof v === 'string' && plainlyValid.get(schema)?.(v)) return v as z.output<S>;
    const ok = typeof v === 'string' ? knownValid(schema, v) : undefined;
    if (ok) return ok.data as z.output<S>;
    const r = schema.safeParse(v);
    if (r.success) {
      if (typeof v === 'string') remember(schema, v, r.data);
      return r.data;
    }
    problem(l, key, `"${String(values[key])}" ${firstIssue(r.error)}`, lineOf(l, key));
    return undefined;
  };
  const field = (key: Variable, schema: z.ZodTypeAny, v: unknown): void => {
    const data = parse(key, schema, v);
    if (data !== undefined) typed[key] = data;
  };
  const systemd: Record<string, string> = {};
  for (const spec of VARIABLE_TABLE) {
    // A 1.6 value not known yet (deferred, or refused) is not checked. One
    // beyond 1.6 always is: refused as a !command, it is also reported
    // as missing (`"undefined" Required`), as it always was.
    if (spec.era === '1.6' && !known(l, spec.name)) continue;
    switch (spec.kind) {
      case 'value':
        field(spec.name, spec.schema, values[spec.name]);
        break;
      case 'path': {
        const key = spec.name;
        const p = resolvePath(l.base, values[key]!);
        values[key] = p;
        l.res.resolved[key]!.value = p;
        field(key, spec.schema, p);
        break;
      }
      case 'hook': {
        const key = spec.name;
        const argv = parse(key, spec.schema, values[key]);
        if (argv) typed[key] = trustedHook(l, key, argv);
        break;
      }
      case 'cables':
        if (!typed.NAME) break;
        try {
          typed.CABLES = parseCables(values.CABLES!, typed.NAME as string);
        } catch (e) {
          problem(l, 'CABLES', (e as Error).message, lineOf(l, 'CABLES'));
        }
        break;
      case 'systemd': {
        const key = spec.name;
        if (!values[key]) break;
        const v = parse(key, spec.schema, values[key]);
        if (v !== undefined) systemd[spec.directive] = v;
        break;
      }
      case 'log':
        if (values.LOG) {
          l.res.warnings.push({
            file: l.res.file,
            line: lineOf(l, 'LOG'),
            key: 'LOG',
            message: 'ignored: overlay-boot 2 logs to the journal (journalctl -u subhost@NAME)',
          });
        }
        break;
      case 'base': // resolved (and checked) with its value
      case 'share': // every line: the next stage
        break;
    }
  }
  typed.SYSTEMD = systemd;
}

// The field schemas are pure functions of a value's text, and most
// values repeat from one config to the next (defaults, "none", "="):
// the generator, reading every registered config at each daemon-reload,
// would otherwise run the same schemas on the same strings a thousand
// times. Valid values are remembered per schema, for this process only;
// what is handed out is a copy (arrays of words), never shared.
const MEMO_MAX = 4096;
const memo = new WeakMap<z.ZodTypeAny, Map<string, unknown>>();
type Plain = string | number | boolean | string[];
const isPlain = (d: unknown): d is Plain =>
  ['string', 'number', 'boolean'].includes(typeof d) || (Array.isArray(d) && d.every((w) => typeof w === 'string'));

function remember(schema: z.ZodTypeAny, v: string, data: unknown): void {
  if (!isPlain(data)) return;
  let m = memo.get(schema);
  if (!m) {
    m = new Map();
    memo.set(schema, m);
  }
  if (m.size >= MEMO_MAX) m.clear();
  m.set(v, Array.isArray(data) ? [...data] : data);
}

function knownValid(schema: z.ZodTypeAny, v: string): { data: unknown } | undefined {
  const m = memo.get(schema);
  if (!m?.has(v)) return undefined;
  const d = m.get(v);
  return { data: Array.isArray(d) ? [...d] : d };
}

/** A hook as the config holds it. A custom one runs as root on the host: it must be root's alone. */
function trustedHook(l: Loading, key: HookVariable, argv: string[]): Hook {
  const hook = hookOf(key, argv);
  if ('builtin' in hook || namesBuiltin(key, argv[0]!)) return hook;
  const p = checkHook(l.res.file, key, argv[0]!, lineOf(l, key));
  if (p) {
    l.res.problems.push(p);
    l.untrustedHooks.add(key);
  }
  return hook;
}

/** Stage 5: SHARE=dir or SHARE=hostdir:subhostdir; the host dir is relative to BASE. */
function readShares(l: Loading): void {
  const shares: Share[] = [];
  for (const s of l.res.shares) {
    const colon = s.value.indexOf(':');
    const hostPart = colon < 0 ? s.value : s.value.slice(0, colon);
    const host = resolvePath(l.base, hostPart);
    const inside = colon < 0 ? host : s.value.slice(colon + 1);
    const r = ShareSchema.safeParse({ host, inside, line: s.line });
    if (!r.success) {
      const issue = r.error.issues[0]!;
      problem(l, 'SHARE', `"${s.value}": ${issue.path[0] === 'inside' ? 'subhost path' : 'host path'} ${issue.message}`, s.line);
    } else if (l.checkFs && !l.isDir(host) && !mountOver(deferredMounts(l), host)) {
      problem(l, 'SHARE', `"${s.value}": host directory ${host} does not exist`, s.line);
    } else {
      shares.push(r.data);
    }
  }
  l.typed.SHARE = shares;
}

/** Stage 6: directories that must exist (1.6 checked these at start; we check early), and custom hooks' programs. */
function checkFilesystem(l: Loading): void {
  const { values, typed } = l;
  // Paths under what a deferred !command mounts are checked at the start.
  const mounts = deferredMounts(l);
  for (const spec of VARIABLE_TABLE) {
    if (spec.kind === 'path') {
      const key = spec.name;
      // WORK only for an overlay (UPPER is not LOWER).
      if (key === 'WORK' && values.UPPER === values.LOWER) continue;
      if (!known(l, key) || !typed[key] || l.isDir(values[key]!)) continue;
      const m = mountOver(mounts, values[key]!);
      if (m) l.res.resolved[key]!.checkedAtStart = m;
      else problem(l, key, `${values[key]} is not a directory`, lineOf(l, key));
    } else if (spec.kind === 'hook') {
      const key = spec.name;
      const hook = typed[key] as Hook | undefined;
      // Built in (performed by the runtime itself), or refused already.
      if (!hook || !('argv' in hook) || namesBuiltin(key, hook.argv[0]!) || l.untrustedHooks.has(key)) continue;
      const program = hook.argv[0]!;
      try {
        const st = statSync(program);
        if (!st.isFile() || !(st.mode & 0o111)) problem(l, key, `${program} is not an executable file`, lineOf(l, key));
      } catch {
        problem(l, key, `${program} does not exist`, lineOf(l, key));
      }
    }
  }
}

/**
 * Directories of the host that no subhost may take as its UPPER, WORK or
 * LIVE (nor any directory holding one of them): a start writes into UPPER
 * and mounts on LIVE, and a contained subhost's root would write them.
 */
export const HOST_SYSTEM_DIRS = [
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/bin',
  '/usr/lib',
  '/usr/local',
  '/usr/sbin',
  '/usr/share',
  '/var',
  '/var/cache',
  '/var/lib',
  '/var/log',
  '/var/spool',
  '/var/tmp',
];

const isWithin = (a: string, b: string) => a === b || b === '/' || a.startsWith(`${b}/`);

/**
 * UPPER, WORK and LIVE are the subhost's own: not the host's root or a
 * system directory, not LOWER (but where the config uses the tree as it
 * is: UPPER = LOWER, LIVE too) nor a directory holding LOWER. Compared
 * resolved (`..`, symlinks) when the filesystem is looked at, as written
 * otherwise (the generator, early at boot).
 */
function ownDirs(l: Loading): void {
  const typed = l.typed as Partial<Record<Variable, string>>;
  // In place, or made by create right after the check (plannedDirs): nothing to resolve.
  const real = (p: string) => (l.checkFs && l.isDir(p) ? realpathIn(p, l.realpaths) : p);
  let lower: string;
  try {
    lower = typed.LOWER ? real(typed.LOWER) : '';
  } catch {
    lower = typed.LOWER ?? '';
  }
  for (const key of ['UPPER', 'WORK', 'LIVE'] as const) {
    const p = typed[key];
    if (!p || !known(l, key) || (key === 'WORK' && typed.UPPER === typed.LOWER)) continue;
    let r: string;
    try {
      r = real(p);
    } catch {
      continue; // does not exist: said above
    }
    const sys = HOST_SYSTEM_DIRS.find((d) => isWithin(d, r));
    const shown = r === p ? p : `${p} (${r})`;
    if (sys === '/') problem(l, key, `${shown} holds the host's root: a subhost's ${key} must be a directory of its own`, lineOf(l, key));
    else if (sys)
      problem(
        l,
        key,
        `${shown} holds the host's system directory ${sys}: a subhost's ${key} must be a directory of its own`,
        lineOf(l, key),
      );
    else if (lower && isWithin(lower, r) && !(r === lower && (key === 'UPPER' || (key === 'LIVE' && typed.UPPER === typed.LOWER))))
      problem(
        l,
        key,
        `${shown} ${r === lower ? 'is' : 'holds'} LOWER ${typed.LOWER}: a subhost's ${key} must be a directory of its own`,
        lineOf(l, key),
      );
  }
}

/**
 * A CABLES bridge that is an interface of another kind (`lo=`): said now,
 * as the netns unit would say it at the start. One that does not exist
 * yet is left to the start (ifup may make it).
 */
function checkBridges(l: Loading): void {
  for (const cable of (l.typed.CABLES as Cable[] | undefined) ?? []) {
    const br = cable.bridge;
    if (br && existsSync(`/sys/class/net/${br}`) && !existsSync(`/sys/class/net/${br}/bridge`)) {
      problem(l, 'CABLES', `${br} is not a bridge (the host end ${cable.hostIf} can only join a bridge)`, lineOf(l, 'CABLES'));
    }
  }
}

/** Stage 7: what no single field shows. */
function crossChecks(l: Loading): void {
  const { typed } = l;
  if (known(l, 'LIVE') && typed.LIVE === typed.LOWER && typed.UPPER !== typed.LOWER) {
    problem(l, 'LIVE', 'LIVE must not be LOWER', lineOf(l, 'LIVE'));
  } else {
    ownDirs(l);
  }
  for (const s of typed.SHARE as Share[]) {
    if (s.host === typed.LOWER) problem(l, 'SHARE', `${s.host} is LOWER itself`, s.line);
  }
}

/**
 * Where the deferred `!command`s may mount things, for the checks that
 * must wait for them: an overlay-diskfile value mounts on the directory
 * part of its MOUNT/PATH (lib/storage/diskfile.ts mountPointArg), relative
 * to BASE; what any other command mounts is unknown: anywhere under BASE.
 */
function deferredMounts(l: Loading): { key: Variable; root: string }[] {
  const base = l.base;
  return l.res.deferred.flatMap((key) => {
    const a = l.last.get(key);
    if (!a || !base) return [];
    const [prog, arg] = a.value.split(/\s+/).filter(Boolean);
    if (prog && arg && basename(prog) === 'overlay-diskfile') {
      const p = arg.replace(/^\//, '');
      const i = p.lastIndexOf('/');
      return [{ key, root: resolvePath(base, i < 0 ? p : p.slice(0, i)) }];
    }
    return [{ key, root: base }];
  });
}

/** Why PATH's check waits for the start, or undefined when it does not. */
function mountOver(mounts: { key: Variable; root: string }[], path: string): string | undefined {
  const m = mounts.find((x) => path === x.root || path.startsWith(x.root.endsWith('/') ? x.root : `${x.root}/`));
  return m && `under ${m.root}, which ${m.key}'s !command may mount`;
}

function finish(res: LoadResult): LoadResult {
  res.problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  res.warnings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return res;
}
