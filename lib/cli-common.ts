// What every user command shares: errors and exit codes, a small
// argument parser, NAME-or-CONF arguments, and human formatting.
//
// Exit codes: 0 success, 1 failure, 2 bad usage (like systemctl and the
// 1.6 scripts' `exit 1`); `status NAME` also uses 3 ("not running").
// Errors are one line, prefixed with the command's name.
import { lstatSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { NameSchema } from './config/fields.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_RUNNING = 3;
/** Refused for lack of privilege (sysexits' EX_NOPERM): the message says what to do. */
export const EXIT_NOPERM = 77;

/** The example polkit rule for a group of subhost admins (polkit/50-overlay-boot.rules). */
export const RULE_EXAMPLE = '/usr/share/doc/overlay-boot/examples/50-overlay-boot.rules';

/** The one line for a user without the privilege `what` needs. */
export function refusal(what: string): string {
  return `${what} needs root: run it with sudo, or join a group that polkit lets manage subhosts (example rule: ${RULE_EXAMPLE})`;
}

/** systemd (through polkit) refused a call of a user who is not root. */
export function isPolkitDenial(e: unknown): boolean {
  const type = (e as { type?: unknown }).type;
  return type === 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired' || type === 'org.freedesktop.DBus.Error.AccessDenied';
}

/** A bad call: the command prints its usage and exits 2. */
export class UsageError extends Error {}

/** A failure the user can act on: one line (or more, already formatted), exit 1 unless told. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = EXIT_FAILURE) {
    super(message);
  }
}

/**
 * Runs a command's main and exits with its status. Errors: one line
 * `PROG: message`; usage errors add the usage text and exit 2.
 */
export function runMain(prog: string, usage: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`${prog}: ${e.message}\n${usage}`);
        process.exit(EXIT_USAGE);
      }
      if (e instanceof CliError) {
        process.stderr.write(prefixLines(prog, e.message));
        process.exit(e.exitCode);
      }
      if (isPolkitDenial(e)) {
        // systemd's "Interactive authentication required." says nothing about what to do.
        process.stderr.write(`${prog}: ${refusal('acting on a subhost\'s unit')}\n`);
        process.exit(EXIT_NOPERM);
      }
      process.stderr.write(`${prog}: ${errorText(e)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}

/** `PROG: ` before the first line; the following lines (details) as they are. */
export function prefixLines(prog: string, message: string): string {
  return `${prog}: ${message.replace(/\n*$/, '')}\n`;
}

/** The message of anything thrown (D-Bus errors carry their text in message). */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return e.message || code || e.name;
  }
  return String(e);
}

export interface ParsedArgs {
  flags: Set<string>;
  options: Map<string, string>;
  positionals: string[];
  /** What came after `--` (undefined when there was no `--`). */
  rest?: string[];
  help: boolean;
}

/**
 * Parses `--flag`, `--option VALUE` / `--option=VALUE`, positionals and a
 * `--` that ends the options (what follows goes to `rest`). Unknown
 * options are usage errors. `-h` is `--help`.
 */
export function parseArgs(argv: string[], spec: { flags?: string[]; options?: string[] } = {}): ParsedArgs {
  const flags = new Set<string>();
  const options = new Map<string, string>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { flags, options, positionals, rest: argv.slice(i + 1), help };
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const key = eq < 0 ? a : a.slice(0, eq);
      if (spec.flags?.includes(key) && eq < 0) {
        flags.add(key);
      } else if (spec.options?.includes(key)) {
        const v = eq < 0 ? argv[++i] : a.slice(eq + 1);
        if (v === undefined) throw new UsageError(`${key} needs a value`);
        options.set(key, v);
      } else {
        throw new UsageError(`unknown option ${key}`);
      }
      continue;
    }
    positionals.push(a);
  }
  return { flags, options, positionals, help };
}

/**
 * Whether a command argument names a config file rather than a subhost:
 * it has a "/" or ends in .conf (as 1.6's `overlay-stop tiny.conf`), or it
 * is an existing file in the current directory.
 */
export function looksLikeConf(arg: string): boolean {
  if (arg.includes('/') || arg.endsWith('.conf')) return true;
  try {
    return statSync(arg).isFile();
  } catch {
    return false;
  }
}

/** A NAME given on the command line, checked as the config schema checks NAME=. */
export function checkName(name: string): string {
  const r = NameSchema.safeParse(name);
  if (!r.success) throw new CliError(`"${name}" is not a subhost NAME: it ${r.error.issues[0]?.message ?? 'is invalid'}`);
  return name;
}

/** The absolute path of a CONF argument; it must exist. */
export function confPath(arg: string): string {
  const p = resolve(arg);
  // lstat: a dangling or looping symlink is there, and loading it says why it is refused.
  try {
    lstatSync(p);
  } catch {
    throw new CliError(`${arg}: no such config file`);
  }
  return p;
}

// ---- formatting -----------------------------------------------------

/** 2^64-1: what systemd reports for an unknown 64-bit counter (no accounting). */
export const UINT64_MAX = 18446744073709551615n;

/** A uint64 property as JSON: null when unknown, a number when exact, else a decimal string. */
export function u64(v: unknown): number | string | null {
  if (v === undefined || v === null) return null;
  const b = typeof v === 'bigint' ? v : BigInt(v as number);
  if (b === UINT64_MAX) return null;
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

/** A realtime timestamp in microseconds (0 = never) as an ISO string, or null. */
export function usecToIso(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const b = typeof v === 'bigint' ? v : BigInt(v as number);
  if (b === 0n || b === UINT64_MAX) return null;
  return new Date(Number(b / 1000n)).toISOString();
}

/** 1536 -> "1.5K", like systemctl (base 1024). */
export function formatBytes(n: number | string | null): string {
  if (n === null) return '-';
  let v = Number(n);
  const units = ['B', 'K', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[i]}`;
}

/** CPU time in nanoseconds: "1.234s", "2min 3.4s", "1h 2min". */
export function formatNsec(n: number | string | null): string {
  if (n === null) return '-';
  const s = Number(n) / 1e9;
  if (s < 60) return `${s < 10 ? s.toFixed(3) : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}min ${(s - m * 60).toFixed(1)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m - h * 60}min`;
}

/** An ISO timestamp as local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(iso: string | null): string {
  if (!iso) return '-';
  const d = new Date(iso);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Rows under a header, columns padded to their widest cell; the last column is not padded. */
export function renderColumns(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n') + '\n';
}
