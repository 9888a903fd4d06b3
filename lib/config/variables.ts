// Every variable of a subhost .conf in one table, as Quadlet keeps the
// keys of each unit section in one: its name, its default (the value and
// the reason `check` shows), its schema, whether 1.6 read it or it is
// beyond 1.6 (for systemd), whether it may be a `!command`, whether it is
// a hook. The rows are in 1.6's reading order: values resolve, and
// `!command`s run, in this order (a command's working directory is BASE,
// so BASE comes before every path).
import type { z } from 'zod/v3';
import {
  NameSchema,
  AbsolutePath,
  RamSizeSchema,
  StartSchema,
  StartTimeoutSchema,
  CommandSchema,
  ContainmentSchema,
  JournalSchema,
  NameListSchema,
  BytesSchema,
  CpuQuotaSchema,
  CpuWeightSchema,
  IoWeightSchema,
  TasksMaxSchema,
  timeSpanSchema,
  type Hook,
  type SubhostConfig,
} from './fields.js';
import { libDir } from '../paths.js';

/** What a default may depend on: the config file's name (less .conf), the resolved BASE, and the values resolved before it (in the table's order). */
export interface DefaultContext {
  name: string;
  base: string;
  values?: Readonly<Record<string, string>>;
}

/**
 * How a value is validated and where it lands in the config:
 *  - value:   its schema's output, as is;
 *  - path:    resolved against BASE first (1.6 ran `cd $BASE`), then the schema;
 *  - hook:    a command line (the schema); exactly the built-in hook's path is the built-in hook;
 *  - systemd: checked only when set, and kept as the unit directive `directive`;
 *  - base, cables, log, share: one of a kind, each in its own stage of load.ts.
 */
type Kind =
  | { kind: 'value' | 'path'; schema: z.ZodTypeAny }
  | { kind: 'hook'; schema: typeof CommandSchema; builtin: string }
  | { kind: 'systemd'; schema: z.ZodType<string>; directive: string }
  | { kind: 'base' | 'cables' | 'log' | 'share' };

export type VariableSpec = Kind & {
  name: string;
  /** Read by 1.6, or beyond 1.6 (for systemd: its units' ordering, fence and resources). */
  era: '1.6' | 'beyond';
  /**
   * May be a `!command`: only 1.6's, and not NAME and LOG, which systemd
   * must know without running anything (SHARE: 1.6 never evaluated it).
   */
  command: boolean;
  /** The value and why, when the file gives none (or an empty one, as 1.6 tested `[ -z "$V" ]`). */
  default?: { value: (d: DefaultContext) => string; why: string | ((d: DefaultContext) => string) };
};

const none = () => '';
/** POSTMOUNT resolved to something other than the built-in hook. */
const customPostmount = (d: DefaultContext): boolean =>
  d.values?.POSTMOUNT !== undefined && d.values.POSTMOUNT !== packaged('overlay-postmount');
const systemdDefault = { value: none, why: "systemd's default" };
/** The package's own program (issue 13 makes the built-in hooks' paths real programs). */
const packaged = (program: string) => `${libDir()}/${program}`;
/** PREMOUNT, POSTMOUNT and INIT: a command line, or by default the built-in hook `builtin`. */
const hook = <N extends string>(name: N, builtin: string) =>
  ({
    name,
    era: '1.6',
    command: true,
    kind: 'hook',
    schema: CommandSchema,
    builtin,
    default: { value: () => packaged(builtin), why: 'built in' },
  }) as const;

export const VARIABLE_TABLE = [
  {
    name: 'NAME',
    era: '1.6',
    command: false,
    kind: 'value',
    schema: NameSchema,
    default: { value: (d) => d.name, why: 'the config file name less .conf' },
  },
  {
    name: 'LOG',
    era: '1.6',
    command: false,
    kind: 'log',
    default: { value: none, why: 'logs go to the journal (journalctl -u subhost@NAME)' },
  },
  // Required: relative to the config file's directory.
  { name: 'BASE', era: '1.6', command: true, kind: 'base' },
  { name: 'CABLES', era: '1.6', command: true, kind: 'cables', default: { value: none, why: 'no cables' } },
  {
    name: 'LIVE',
    era: '1.6',
    command: true,
    kind: 'path',
    schema: AbsolutePath,
    default: { value: (d) => `${d.base}/live`, why: 'BASE/live' },
  },
  {
    name: 'UPPER',
    era: '1.6',
    command: true,
    kind: 'path',
    schema: AbsolutePath,
    default: { value: (d) => `${d.base}/root`, why: 'BASE/root' },
  },
  {
    name: 'WORK',
    era: '1.6',
    command: true,
    kind: 'path',
    schema: AbsolutePath,
    default: { value: (d) => `${d.base}/work`, why: 'BASE/work' },
  },
  { name: 'LOWER', era: '1.6', command: true, kind: 'path', schema: AbsolutePath, default: { value: () => '/', why: 'the host root' } },
  {
    name: 'START',
    era: '1.6',
    command: true,
    kind: 'value',
    schema: StartSchema,
    default: { value: () => 'networking ssh', why: '1.6 default' },
  },
  hook('PREMOUNT', 'overlay-premount'),
  hook('POSTMOUNT', 'overlay-postmount'),
  hook('INIT', 'overlay-init'),
  {
    name: 'RAM_SIZE',
    era: '1.6',
    command: true,
    kind: 'value',
    schema: RamSizeSchema,
    default: { value: () => '50M', why: '1.6 default' },
  },
  {
    name: 'REAPER',
    era: '1.6',
    command: true,
    kind: 'value',
    schema: AbsolutePath,
    default: { value: () => '/.reaper', why: '1.6 default' },
  },
  // Every line counts (SHARE=dir or SHARE=hostdir:subhostdir).
  { name: 'SHARE', era: '1.6', command: false, kind: 'share' },
  // Beyond 1.6, never commands: the init script's limit per START entry,
  {
    name: 'START_TIMEOUT',
    era: 'beyond',
    command: false,
    kind: 'value',
    schema: StartTimeoutSchema,
    default: { value: () => '30s', why: 'each START entry may take 30 s, then it is stopped and the start carries on' },
  },
  // and for systemd.
  {
    name: 'CONTAINMENT',
    era: 'beyond',
    command: false,
    kind: 'value',
    schema: ContainmentSchema,
    // A custom POSTMOUNT runs as the host's root, which cannot create
    // files in an overlay of idmapped layers (EOVERFLOW): a 1.6 config
    // with one keeps working at contained.
    default: {
      value: (d) => (customPostmount(d) ? 'contained' : 'private-users'),
      why: (d) =>
        customPostmount(d)
          ? 'its POSTMOUNT is a custom hook, which runs as the host root and may create files under LIVE: no user namespace'
          : 'root inside is an unprivileged id range on the host (a user namespace)',
    },
  },
  {
    name: 'JOURNAL',
    era: 'beyond',
    command: false,
    kind: 'value',
    schema: JournalSchema,
    default: { value: () => 'yes', why: "/dev/log reaches the host's journal (journalctl -u subhost@NAME)" },
  },
  { name: 'AFTER', era: 'beyond', command: false, kind: 'value', schema: NameListSchema, default: { value: none, why: 'no ordering' } },
  {
    name: 'REQUIRES',
    era: 'beyond',
    command: false,
    kind: 'value',
    schema: NameListSchema,
    default: { value: none, why: 'no dependency' },
  },
  {
    name: 'MEMORY_MAX',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'MemoryMax',
    schema: BytesSchema,
    default: systemdDefault,
  },
  {
    name: 'MEMORY_HIGH',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'MemoryHigh',
    schema: BytesSchema,
    default: systemdDefault,
  },
  {
    name: 'CPU_QUOTA',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'CPUQuota',
    schema: CpuQuotaSchema,
    default: systemdDefault,
  },
  {
    name: 'CPU_WEIGHT',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'CPUWeight',
    schema: CpuWeightSchema,
    default: systemdDefault,
  },
  {
    name: 'IO_WEIGHT',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'IOWeight',
    schema: IoWeightSchema,
    default: systemdDefault,
  },
  {
    name: 'TASKS_MAX',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'TasksMax',
    schema: TasksMaxSchema,
    default: systemdDefault,
  },
  {
    name: 'TIMEOUT_START',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'TimeoutStartSec',
    schema: timeSpanSchema('90s'),
    default: systemdDefault,
  },
  {
    name: 'TIMEOUT_STOP',
    era: 'beyond',
    command: false,
    kind: 'systemd',
    directive: 'TimeoutStopSec',
    schema: timeSpanSchema('30s'),
    default: systemdDefault,
  },
] as const satisfies readonly VariableSpec[];

type Row = (typeof VARIABLE_TABLE)[number];
export type Variable = Row['name'];
export type HookVariable = Extract<Row, { kind: 'hook' }>['name'];

/** The variables, in 1.6's reading order (commands run in this order). */
export const VARIABLES: readonly Variable[] = VARIABLE_TABLE.map((v) => v.name);

const BY_NAME = new Map<string, VariableSpec>(VARIABLE_TABLE.map((v) => [v.name, v]));

/** The row of a variable, or undefined for a name no version of overlay-boot knows. */
export function variable(name: string): VariableSpec | undefined {
  return BY_NAME.get(name);
}

/** PREMOUNT, POSTMOUNT and INIT, in that order. */
export const HOOKS: readonly HookVariable[] = VARIABLE_TABLE.filter((v) => v.kind === 'hook').map((v) => v.name as HookVariable);

/**
 * The path that names a built-in hook: its default, and what `check`
 * shows for it. Writing exactly this path selects the built-in hook too
 * (as it always did); no program is run from it.
 */
export function builtinHookPath(key: HookVariable): string {
  const spec = BY_NAME.get(key) as Extract<VariableSpec, { kind: 'hook' }>;
  return packaged(spec.builtin);
}

/** A hook's command line (already split and checked by its schema) as the config holds it. */
export function hookOf(key: HookVariable, argv: string[]): Hook {
  return argv.length === 1 && argv[0] === builtinHookPath(key) ? { builtin: true } : { argv };
}

/** A hook as a command line, the built-in one as the path that names it (what `check` shows). */
export function hookArgv(key: HookVariable, hook: Hook): string[] {
  return 'builtin' in hook ? [builtinHookPath(key)] : hook.argv;
}

/**
 * Whether a custom hook's program is the path of the built-in one (with
 * arguments, then): the config checks never looked at that path, which
 * names no file of its own.
 */
export function namesBuiltin(key: HookVariable, program: string): boolean {
  return program === builtinHookPath(key);
}

export type ShownConfig = Omit<SubhostConfig, HookVariable> & Record<HookVariable, string[]>;

/** The config as `check --json` shows it: every hook as a command line. */
export function shownConfig(c: SubhostConfig): ShownConfig {
  const shown: Record<string, unknown> = { ...c };
  for (const k of HOOKS) shown[k] = hookArgv(k, c[k]);
  return shown as ShownConfig;
}
