// nameProblem() (no zod, for status and list) says what NameSchema says.
import { describe, it, expect } from 'vitest';
import { nameProblem } from '../../lib/config/name.js';
import { NameSchema } from '../../lib/config/fields.js';

describe('nameProblem', () => {
  const names = [
    'web',
    'a',
    '_x',
    'db-1.test',
    '9',
    '',
    '-x',
    '.x',
    'a/b',
    'a b',
    'é',
    'x'.repeat(64),
    'x'.repeat(65),
    '-'.repeat(70),
    'ok\n',
  ];
  for (const n of names) {
    it(`${JSON.stringify(n.length > 20 ? `${n.slice(0, 8)}...(${n.length})` : n)}`, () => {
      const r = NameSchema.safeParse(n);
      expect(nameProblem(n)).toBe(r.success ? undefined : r.error.issues[0]!.message);
    });
  }
});
