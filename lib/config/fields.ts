// The subhost config as zod schemas: one schema per 1.6 variable, turning
// the (trimmed, already evaluated) string value into its typed form, and
// the schema of the whole resolved config. Types come from here.
import { z } from 'zod/v3';
import { CableSchema } from './cables.js';
import { NAME_MAX, NAME_MESSAGES, NAME_RE, nameProblem } from './name.js';

// A NAME's rules (and why): name.ts.
export const NameSchema = z
  .string()
  .min(1, NAME_MESSAGES.empty)
  .max(NAME_MAX, NAME_MESSAGES.long)
  .regex(NAME_RE, { message: NAME_MESSAGES.chars });

const AbsolutePath = z
  .string()
  .min(1, 'must not be empty')
  .refine((p) => p.startsWith('/'), 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

// tmpfs size= syntax: a number with an optional k/m/g/t suffix or a %.
export const RamSizeSchema = z.union([
  z.literal('none'),
  z.string().regex(/^[0-9]+[kKmMgGtT%]?$/, { message: 'must be a size such as 50M, 1G or 10%, or "none"' }),
]);

/** START: service names or absolute commands; `none` (or nothing) means no services. */
export const StartSchema = z
  .string()
  .transform((s) => s.split(/\s+/).filter((w) => w && w !== 'none'))
  .pipe(
    z.array(
      z.string().regex(/^[^'"\\$`;&|<>(){}*?]+$/, {
        message: 'entries must be plain service names or absolute paths (no shell syntax)',
      }),
    ),
  );

/**
 * START_TIMEOUT (beyond 1.6): how long one START entry may run before the
 * init script stops it and carries on with the next; seconds, or 0 / "infinity"
 * for no limit. A time span as systemd writes them: 30, 30s, 2min, 1h.
 */
export const StartTimeoutSchema = z
  .string()
  .regex(/^([0-9]+(s|min|h)?|infinity)$/, {
    message: 'must be a time span in seconds, minutes or hours such as 30s or 2min, or "infinity"',
  })
  .transform((v) => {
    if (v === 'infinity') return 0;
    const n = Number(/^[0-9]+/.exec(v)![0]);
    return v.endsWith('min') ? n * 60 : v.endsWith('h') ? n * 3600 : n;
  })
  .refine((n) => n <= 86400 * 365, 'must be at most a year');

/** PREMOUNT/POSTMOUNT/INIT: a command line, split on blanks as 1.6's unquoted use did. */
export const CommandSchema = z
  .string()
  .transform((s) => s.split(/\s+/).filter(Boolean))
  .pipe(z.array(z.string()).min(1, 'must not be empty'))
  .refine((argv) => argv[0]!.startsWith('/'), 'the command must be an absolute path');

export const ShareSchema = z.object({
  host: AbsolutePath,
  inside: AbsolutePath.refine((p) => p !== '/', 'cannot be / (the subhost root)'),
  line: z.number().int().positive(),
});
export type Share = z.infer<typeof ShareSchema>;

/**
 * A hook as the config holds it: the built-in one (1.6's overlay-premount,
 * overlay-postmount or overlay-init, which the runtime performs itself),
 * or a custom command line run as root on the host.
 */
export const HookSchema = z.union([z.object({ builtin: z.literal(true) }), z.object({ argv: z.array(z.string()).min(1) })]);
export type Hook = z.infer<typeof HookSchema>;

// Keys beyond 1.6, read by the generator and turned into the systemd
// directive of the same meaning on subhost@NAME.service (the directive of
// each is in the table of variables, variables.ts). An empty value (or no
// line) leaves systemd's default.
const Bytes = /^([0-9]+[KMGT]?|[0-9]+(\.[0-9]+)?%|infinity)$/;
export const BytesSchema = z
  .string()
  .regex(Bytes, { message: 'must be bytes with an optional K, M, G or T suffix, a percentage, or "infinity"' });
export const CpuQuotaSchema = z.string().regex(/^[0-9]+%$/, { message: 'must be a percentage such as 50% or 200%' });
export const CpuWeightSchema = z
  .string()
  .regex(/^(idle|[0-9]+)$/, { message: 'must be a number from 1 to 10000, or "idle"' })
  .refine((v) => v === 'idle' || (+v >= 1 && +v <= 10000), 'must be a number from 1 to 10000, or "idle"');
export const IoWeightSchema = z
  .string()
  .regex(/^[0-9]+$/, { message: 'must be a number from 1 to 10000' })
  .refine((v) => +v >= 1 && +v <= 10000, 'must be a number from 1 to 10000');
export const TasksMaxSchema = z.string().regex(/^([0-9]+%?|infinity)$/, { message: 'must be a number, a percentage, or "infinity"' });
/** A systemd time span; `example` is what the message suggests (90s for starting, 30s for stopping). */
export const timeSpanSchema = (example: string) =>
  z.string().regex(/^([0-9]+(ms|s|min|h)?|infinity)$/, { message: `must be a time span such as ${example} or 2min` });

/**
 * CONTAINMENT: how far root inside reaches the host (beyond 1.6; see
 * overlay-boot.conf(5)). `private-users` is the default for every config,
 * 1.6 ones included: root inside is an unprivileged id range on the host
 * (a user namespace, the layers seen through idmapped mounts), with
 * `contained`'s fence too; `contained` is that fence without the user
 * namespace; `none` is 1.6's behaviour, root inside is root on the host.
 */
export const CONTAINMENT_LEVELS = ['private-users', 'contained', 'none'] as const;
export const ContainmentSchema = z
  .string()
  .superRefine((v, ctx) => {
    if (!(CONTAINMENT_LEVELS as readonly string[]).includes(v)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be "private-users" (the default), "contained" (no user namespace) or "none" (root inside is root on the host)',
      });
    }
  })
  .transform((v) => v as (typeof CONTAINMENT_LEVELS)[number]);
export type Containment = z.infer<typeof ContainmentSchema>;

/**
 * JOURNAL: whether the subhost's /dev/log reaches the host's journald
 * (beyond 1.6). `no` for a subhost that runs its own syslog daemon and
 * wants its lines in its own files only.
 */
export const JournalSchema = z.enum(['yes', 'no'], { errorMap: () => ({ message: 'must be "yes" (the default) or "no"' }) });

/** AFTER: subhosts (by NAME) this one starts after, and REQUIRES: ones it cannot run without. */
export const NameListSchema = z.string().transform((s, ctx) => {
  const names = s.split(/\s+/).filter(Boolean);
  for (const n of names) {
    if (!NameSchema.safeParse(n).success) ctx.addIssue({ code: 'custom', message: `contains "${n}", which is not a subhost NAME` });
  }
  return names;
});

export const SubhostConfigSchema = z.object({
  CONFIG: AbsolutePath,
  NAME: NameSchema,
  BASE: AbsolutePath,
  LIVE: AbsolutePath,
  UPPER: AbsolutePath,
  WORK: AbsolutePath,
  LOWER: AbsolutePath,
  CABLES: z.array(CableSchema),
  START: z.array(z.string()),
  PREMOUNT: HookSchema,
  POSTMOUNT: HookSchema,
  INIT: HookSchema,
  RAM_SIZE: RamSizeSchema,
  REAPER: AbsolutePath,
  SHARE: z.array(ShareSchema),
  LOG: z.string(),
  AFTER: z.array(NameSchema),
  REQUIRES: z.array(NameSchema),
  CONTAINMENT: z.enum(CONTAINMENT_LEVELS),
  JOURNAL: z.enum(['yes', 'no']),
  /** Seconds one START entry may take; 0: no limit. */
  START_TIMEOUT: z.number().int().nonnegative(),
  SYSTEMD: z.record(z.string(), z.string()),
});
export type SubhostConfig = z.infer<typeof SubhostConfigSchema>;

export { AbsolutePath };

/**
 * Values that certainly pass a schema and come out unchanged, told
 * without zod: a zod parse was, per config, the largest part of loading
 * one when the generator reads 1000 of them (the paths and the NAME
 * differ from one config to the next; other values repeat, see load.ts).
 * Only the plain valid case: anything else goes through the schema
 * itself, and its message. test/unit/fields.test.ts holds each to imply
 * its schema's success.
 */
export const plainlyValid = new Map<z.ZodTypeAny, (v: string) => boolean>([
  [AbsolutePath, (v) => v.startsWith('/') && !v.split('/').includes('..')],
  [NameSchema, (v) => nameProblem(v) === undefined],
]);
