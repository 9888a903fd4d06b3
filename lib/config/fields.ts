// The subhost config as zod schemas: one schema per 1.6 variable, turning
// the (trimmed, already evaluated) string value into its typed form, and
// the schema of the whole resolved config. Types come from here.
import { z } from 'zod/v3';
import { CableSchema } from './cables.js';

// A NAME is used as a netns name (/run/netns/NAME), as the instance of
// subhost@NAME.service and as the prefix of host-side interface names.
// Only characters that need no escaping in a unit instance are allowed,
// so that %i is NAME verbatim. ('-' needs none in an instance; note that
// %I would turn it into '/', which is why the units use %i.)
export const NameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, {
    message: 'may contain only letters, digits, ".", "_" and "-", and must start with a letter, digit or "_"',
  });

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
  PREMOUNT: z.array(z.string()),
  POSTMOUNT: z.array(z.string()),
  INIT: z.array(z.string()),
  RAM_SIZE: RamSizeSchema,
  REAPER: AbsolutePath,
  SHARE: z.array(ShareSchema),
  LOG: z.string(),
});
export type SubhostConfig = z.infer<typeof SubhostConfigSchema>;

export { AbsolutePath };
