// lib/idrange.ts: the id range record subhost-netns writes (native/idrange.c),
// as check and status read it and a purge frees it.
import { mkdtempSync, mkdirSync, symlinkSync, existsSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { freeRange, rangeText, recordedRange } from '../../lib/idrange.js';

function ids(): string {
  const d = mkdtempSync(join(tmpdir(), 'ob-ids-'));
  mkdirSync(join(d, 'by-name'));
  mkdirSync(join(d, 'by-base'));
  return d;
}

describe('id range records', () => {
  it('reads BASE from by-name/NAME, none when there is no record or it is not a number', () => {
    const d = ids();
    symlinkSync('1681522688', join(d, 'by-name/web'));
    symlinkSync('garbage', join(d, 'by-name/bad'));
    expect(recordedRange('web', d)).toEqual({ base: 1681522688, last: 1681588223 });
    expect(rangeText(recordedRange('web', d)!)).toBe('1681522688-1681588223');
    expect(recordedRange('none', d)).toBeUndefined();
    expect(recordedRange('bad', d)).toBeUndefined();
  });
  it('frees both links, the claim only when it is NAME’s', () => {
    const d = ids();
    symlinkSync('524288', join(d, 'by-name/a'));
    symlinkSync('a', join(d, 'by-base/524288'));
    symlinkSync('589824', join(d, 'by-name/b'));
    symlinkSync('other', join(d, 'by-base/589824'));
    expect(freeRange('a', d)).toEqual({ base: 524288, last: 589823 });
    expect(existsSync(join(d, 'by-name/a'))).toBe(false);
    expect(existsSync(join(d, 'by-base/524288'))).toBe(false);
    freeRange('b', d);
    expect(readlinkSync(join(d, 'by-base/589824'))).toBe('other');
    expect(freeRange('a', d)).toBeUndefined();
  });
});
