// 1.6's START as 1.6 read it (stop-16 stops these, reversed): the first
// `START=` line (`grep "^START=" | read V`), blanks trimmed, "networking
// ssh" when there is none; a !command is not run (nothing to stop).
import { describe, it, expect } from 'vitest';
import { start16 } from '../../lib/legacy16.js';

describe('start16', () => {
  it.each([
    ['BASE=.\nSTART= rsyslog networking ssh\n', ['rsyslog', 'networking', 'ssh']],
    ['BASE=.\n', ['networking', 'ssh']],
    ['START=\n', ['networking', 'ssh']],
    ['START= a\nSTART= b\n', ['a']],
    ['# START=x\n  START = y\nSTART=z\n', ['z']],
    ['START=!echo a b\n', []],
  ])('%j', (text, want) => {
    expect(start16(text)).toEqual(want);
  });
});
