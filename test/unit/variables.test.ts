// The table of variables (lib/config/variables.ts) is the one place that
// says what each variable is: its order, defaults, schema, era, whether it
// may be a command or is a hook. What is derived from it, and what the
// README says of it, agree with it.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  VARIABLE_TABLE,
  VARIABLES,
  HOOKS,
  variable,
  builtinHookPath,
  hookOf,
  hookArgv,
  namesBuiltin,
  shownConfig,
} from '../../lib/config/variables.js';
import type { SubhostConfig } from '../../lib/config/fields.js';
import { libDir } from '../../lib/paths.js';

describe('the table of variables', () => {
  it("lists 1.6's variables in 1.6's reading order, then the ones beyond 1.6", () => {
    expect(VARIABLES).toEqual([
      'NAME',
      'LOG',
      'BASE',
      'CABLES',
      'LIVE',
      'UPPER',
      'WORK',
      'LOWER',
      'START',
      'PREMOUNT',
      'POSTMOUNT',
      'INIT',
      'RAM_SIZE',
      'REAPER',
      'SHARE',
      'START_TIMEOUT',
      'CONTAINMENT',
      'JOURNAL',
      'AFTER',
      'REQUIRES',
      'MEMORY_MAX',
      'MEMORY_HIGH',
      'CPU_QUOTA',
      'CPU_WEIGHT',
      'IO_WEIGHT',
      'TASKS_MAX',
      'TIMEOUT_START',
      'TIMEOUT_STOP',
    ]);
    expect(VARIABLE_TABLE.filter((v) => v.era === '1.6').map((v) => v.name)).toEqual(VARIABLES.slice(0, 15));
  });

  it("lets only 1.6's variables be !commands, and not NAME, LOG or SHARE", () => {
    expect(VARIABLE_TABLE.filter((v) => v.command).map((v) => v.name)).toEqual([
      'BASE',
      'CABLES',
      'LIVE',
      'UPPER',
      'WORK',
      'LOWER',
      'START',
      'PREMOUNT',
      'POSTMOUNT',
      'INIT',
      'RAM_SIZE',
      'REAPER',
    ]);
  });

  it('has a default for every variable but BASE (required) and SHARE (every line counts)', () => {
    expect(VARIABLE_TABLE.filter((v) => !('default' in v)).map((v) => v.name)).toEqual(['BASE', 'SHARE']);
  });

  it('knows the hooks, and no other name', () => {
    expect(HOOKS).toEqual(['PREMOUNT', 'POSTMOUNT', 'INIT']);
    expect(variable('PREMOUNT')?.kind).toBe('hook');
    expect(variable('FOO')).toBeUndefined();
    expect(variable('base')).toBeUndefined();
  });

  it("agrees with README.md's configuration reference: every key, its default, its directive", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const ref = readme.slice(readme.indexOf('## Configuration reference'), readme.indexOf('## Differences from 1.6'));
    const rows = new Map([...ref.matchAll(/^\| `([A-Z_]+)` \| ([^|]*) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    expect([...rows.keys()].sort()).toEqual([...VARIABLES].sort());
    for (const v of VARIABLE_TABLE) {
      const second = rows.get(v.name)!;
      if (v.kind === 'systemd') expect(second, v.name).toBe(`\`${v.directive}=\``);
      else if (v.kind === 'hook') expect(second, v.name).toBe('built in');
      else if (/^`[^`]+`$/.test(second) && 'default' in v) {
        expect(v.default.value({ name: 'n', base: 'BASE' }), v.name).toBe(second.slice(1, -1));
      }
    }
  });
});

describe('built-in hooks', () => {
  it('are named by a path in the package (what check shows), 1.6 names', () => {
    expect(HOOKS.map(builtinHookPath)).toEqual([
      `${libDir()}/overlay-premount`,
      `${libDir()}/overlay-postmount`,
      `${libDir()}/overlay-init`,
    ]);
  });

  it('are selected by exactly that path; anything else is a custom command line', () => {
    expect(hookOf('INIT', [builtinHookPath('INIT')])).toEqual({ builtin: true });
    expect(hookOf('INIT', [builtinHookPath('PREMOUNT')])).toEqual({ argv: [builtinHookPath('PREMOUNT')] });
    expect(hookOf('INIT', [builtinHookPath('INIT'), 'x'])).toEqual({ argv: [builtinHookPath('INIT'), 'x'] });
    expect(hookOf('PREMOUNT', ['/bin/true', '-v'])).toEqual({ argv: ['/bin/true', '-v'] });
    expect(namesBuiltin('INIT', builtinHookPath('INIT'))).toBe(true);
    expect(namesBuiltin('INIT', '/bin/true')).toBe(false);
  });

  it('show as command lines, the built-in ones as their path (check --json)', () => {
    expect(hookArgv('POSTMOUNT', { builtin: true })).toEqual([builtinHookPath('POSTMOUNT')]);
    expect(hookArgv('POSTMOUNT', { argv: ['/h', 'a'] })).toEqual(['/h', 'a']);
    const c = { NAME: 'x', PREMOUNT: { builtin: true }, POSTMOUNT: { argv: ['/q'] }, INIT: { builtin: true } } as unknown as SubhostConfig;
    expect(shownConfig(c)).toEqual({
      NAME: 'x',
      PREMOUNT: [builtinHookPath('PREMOUNT')],
      POSTMOUNT: ['/q'],
      INIT: [builtinHookPath('INIT')],
    });
    expect(Object.keys(shownConfig(c))).toEqual(['NAME', 'PREMOUNT', 'POSTMOUNT', 'INIT']);
  });
});
