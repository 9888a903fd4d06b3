// The shortcut past zod for plain valid values (fields.ts plainlyValid):
// whatever it lets through, the schema itself accepts, unchanged.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { AbsolutePath, NameSchema, plainlyValid } from '../../lib/config/fields.js';

const tricky = [
  '',
  '/',
  '//',
  '/..',
  '/a/..',
  '/a/../b',
  '/a/..b',
  '/a/b..',
  '/a/./b',
  'a',
  './a',
  ' /a',
  '/a b',
  '/a\n',
  '/ä',
  '.',
  '..',
  '_',
  '-a',
  '.a',
  'a.b-c_d',
  'a/b',
  'a b',
  'ä',
  'x'.repeat(64),
  'x'.repeat(65),
  `/${'x'.repeat(5000)}`,
];

describe('plainlyValid: a value it lets through passes its schema unchanged', () => {
  for (const [schema, name] of [
    [AbsolutePath, 'AbsolutePath'],
    [NameSchema, 'NameSchema'],
  ] as const) {
    const fast = plainlyValid.get(schema)!;
    const implies = (v: string) => {
      if (!fast(v)) return true;
      const r = schema.safeParse(v);
      return r.success && r.data === v;
    };

    it(`${name}: tricky values`, () => {
      for (const v of tricky) expect(implies(v), JSON.stringify(v)).toBe(true);
    });

    it(`${name}: random values, of the characters that matter`, () => {
      const ch = fc.constantFrom('/', '.', '..', 'a', 'Z', '0', '_', '-', ' ', '\n', 'ä', '%', ':');
      fc.assert(
        fc.property(fc.array(ch, { maxLength: 80 }), (parts) => implies(parts.join(''))),
        { numRuns: 3000 },
      );
      fc.assert(fc.property(fc.string({ maxLength: 80 }), implies), { numRuns: 3000 });
    });
  }

  it('it does let the common values through (else it would save nothing)', () => {
    expect(plainlyValid.get(AbsolutePath)!('/srv/subhosts/web/live')).toBe(true);
    expect(plainlyValid.get(NameSchema)!('web-01')).toBe(true);
    expect(plainlyValid.get(AbsolutePath)!('/srv/../etc')).toBe(false);
    expect(plainlyValid.get(NameSchema)!('x'.repeat(65))).toBe(false);
  });
});
