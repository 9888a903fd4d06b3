// The one argument parser of the package's programs: `--flag`, `--option
// VALUE` / `--option=VALUE`, short aliases, positionals, and a `--` that
// ends the options (what follows goes to `rest`). An unknown option is a
// usage error, never taken for a file name.
import { UsageError } from './errors.js';

export interface ParsedArgs {
  flags: Set<string>;
  options: Map<string, string>;
  positionals: string[];
  /** What came after `--` (undefined when there was no `--`). */
  rest?: string[];
  help: boolean;
}

export interface ArgSpec {
  flags?: string[];
  options?: string[];
  /** Short forms: `-n` -> `--dry-run`. */
  aliases?: Record<string, string>;
}

/** Parses argv by `spec`; `-h` is `--help`. */
export function parseArgs(argv: string[], spec: ArgSpec = {}): ParsedArgs {
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
      const given = eq < 0 ? a : a.slice(0, eq);
      const key = spec.aliases?.[given] ?? given;
      if (spec.flags?.includes(key) && eq < 0) {
        flags.add(key);
      } else if (spec.options?.includes(key)) {
        const v = eq < 0 ? argv[++i] : a.slice(eq + 1);
        if (v === undefined) throw new UsageError(`${given} needs a value`);
        options.set(key, v);
      } else {
        throw new UsageError(`unknown option ${given}`);
      }
      continue;
    }
    positionals.push(a);
  }
  return { flags, options, positionals, help };
}

/** The operands: positionals, then what followed `--`. */
export const operands = (a: ParsedArgs): string[] => [...a.positionals, ...(a.rest ?? [])];
