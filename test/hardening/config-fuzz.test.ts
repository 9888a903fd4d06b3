// Property-based fuzzing of the config parser and validator: thousands of
// generated configs, each accepted (a typed config) or rejected with
// structured one-line problems naming the file; never an exception.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadConfig, VARIABLES } from '../../lib/config/load.js';
import { formatProblem } from '../../lib/config/problem.js';

const RUNS = 4000;
const fuzzed = { configs: 0, accepted: 0, rejected: 0 };

// Values that look like what admins write, what 1.6 accepted, and junk.
const value = fc.oneof(
  fc.constantFrom(
    '.',
    '..',
    '/',
    'root',
    'live',
    'work',
    '/nonexistent',
    'none',
    '50M',
    '1G',
    '10%',
    '0',
    'lots',
    '=',
    ' = ',
    'br0=',
    '=02:00:00:00:00:01',
    '=.12',
    'br0=.5',
    '=01:00:00:00:00:01',
    '= =.4095',
    'a=b=c',
    'networking ssh',
    '/usr/bin/true',
    'ssh;reboot',
    '$(id)',
    'x:y',
    '/tmp:/srv',
    'infinity',
    '150%',
    'idle',
    '2min',
  ),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: fc.constantFrom('a', '/', '.', '=', ':', ' ', '!', '-', '%', '1', '\\', '"', "'"), maxLength: 30 }),
  fc.string({ maxLength: 8 }).map((s) => `!${s}`),
);
const key = fc.oneof(fc.constantFrom(...VARIABLES), fc.constantFrom('FOO', 'base', 'Base', '_X', '9X', ''));
const line = fc.oneof(
  fc
    .tuple(fc.constantFrom('', ' ', '\t'), key, fc.constantFrom('=', ' = ', '= ', '=='), value)
    .map(([ws, k, eq, v]) => `${ws}${k}${eq}${v}`),
  fc.constantFrom('', '# comment', '   ', 'BASE=.', 'garbage line', '\r', '=', '#BASE=/'),
  fc.string({ maxLength: 40 }),
);
const confText = fc.array(line, { maxLength: 14 }).map((ls) => ls.join(fc.sample(fc.constantFrom('\n', '\r\n'), 1)[0]));

describe('config fuzzing', () => {
  it(`${RUNS} generated configs: accepted, or rejected with one-line problems; never a crash`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ob-fuzz-'));
    for (const d of ['root', 'live', 'work']) mkdirSync(join(dir, d));
    const file = join(dir, 'fz.conf');
    try {
      await fc.assert(
        fc.asyncProperty(confText, async (text) => {
          const r = await loadConfig(file, { text });
          fuzzed.configs++;
          if (r.config) {
            fuzzed.accepted++;
            expect(r.problems).toEqual([]);
            expect(r.config.NAME).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
            expect(r.config.BASE.startsWith('/')).toBe(true);
          } else {
            if (r.deferred.length === 0) expect(r.problems.length).toBeGreaterThan(0);
            if (r.problems.length) fuzzed.rejected++;
          }
          for (const p of [...r.problems, ...r.warnings]) {
            expect(typeof p.message).toBe('string');
            const one = formatProblem(p);
            expect(one.startsWith(file)).toBe(true);
            expect(one).not.toMatch(/[\n\r]/);
          }
        }),
        { numRuns: RUNS },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`fuzzed ${fuzzed.configs} configs: ${fuzzed.accepted} accepted, ${fuzzed.rejected} rejected`);
    expect(fuzzed.accepted).toBeGreaterThan(0);
    expect(fuzzed.rejected).toBeGreaterThan(0);
  }, 120_000);
});
