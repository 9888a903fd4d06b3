// Editing /etc/subhosts.conf (enable/disable), replacing it atomically,
// and finding which config a subhost uses.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { statSync, readFileSync, readdirSync, symlinkSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addConfLine, removeConfLines, configOf, sameFile, readTextOrEmpty } from '../../cli/support/conf.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { findConf, lookupFiles } from '../../lib/registry.js';
import { fixture, type Fixture } from './helpers.js';

let f: Fixture;
beforeEach(() => {
  f = fixture();
});
afterEach(() => f.cleanup());

const is = (p: string) => (t: string) => t === p;

describe('subhosts.conf edits', () => {
  it('enable appends one line, keeps everything else, never duplicates', () => {
    const text = '# comment\n/a.conf  # first\n\n/b.conf /c.conf\n';
    const r = addConfLine(text, '/d.conf', is('/d.conf'));
    expect(r).toEqual({ text: `${text}/d.conf\n`, changed: true });
    expect(addConfLine(text, '/c.conf', is('/c.conf'))).toEqual({ text, changed: false });
    // A commented-out path does not count as listed.
    expect(addConfLine('# /d.conf\n', '/d.conf', is('/d.conf')).text).toBe('# /d.conf\n/d.conf\n');
    expect(addConfLine('/a.conf', '/d.conf', is('/d.conf')).text).toBe('/a.conf\n/d.conf\n');
    expect(addConfLine('', '/d.conf', is('/d.conf')).text).toMatch(/^# .*\n\/d\.conf\n$/);
  });
  it('disable removes the path wherever it is, and a line left empty with its comment', () => {
    const text = '# comment\n/a.conf  # about a\n\n  /b.conf /c.conf # b and c\n/a.conf\n';
    expect(removeConfLines(text, is('/a.conf'))).toEqual({
      text: '# comment\n\n  /b.conf /c.conf # b and c\n',
      removed: ['/a.conf', '/a.conf'],
    });
    expect(removeConfLines(text, is('/b.conf')).text).toBe('# comment\n/a.conf  # about a\n\n  /c.conf # b and c\n/a.conf\n');
    expect(removeConfLines(text, is('/x.conf'))).toEqual({ text, removed: [] });
    expect(removeConfLines('/a.conf', is('/a.conf')).text).toBe('');
    expect(removeConfLines('x\n/a.conf', is('/a.conf')).text).toBe('x\n');
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file with the same mode, leaves no temporary file, writes through a symlink', () => {
    const real = join(f.dir, 'real.conf');
    writeFileSync(real, 'old\n');
    chmodSync(real, 0o640);
    const link = join(f.dir, 'subhosts.conf');
    symlinkSync('real.conf', link);
    writeFileAtomic(link, 'new\n');
    expect(readFileSync(real, 'utf8')).toBe('new\n');
    expect(statSync(real).mode & 0o777).toBe(0o640);
    expect(readdirSync(f.dir).sort()).toEqual(['real.conf', 'subhosts.conf']);
    const fresh = join(f.dir, 'fresh');
    writeFileAtomic(fresh, 'x\n');
    expect(statSync(fresh).mode & 0o777).toBe(0o644);
    expect(readTextOrEmpty(join(f.dir, 'absent'))).toBe('');
  });
  it('as plans are written: a forced mode (root only: the init script), parent directories made', () => {
    const plan = join(f.dir, 'plans', 'x.start');
    writeFileAtomic(plan, 'a\0', { mode: 0o600, mkdirMode: 0o700 });
    expect(statSync(join(f.dir, 'plans')).mode & 0o777).toBe(0o700);
    expect(statSync(plan).mode & 0o777).toBe(0o600);
    chmodSync(plan, 0o644);
    writeFileAtomic(plan, 'b\0', { mode: 0o600 });
    expect([readFileSync(plan, 'utf8'), statSync(plan).mode & 0o777]).toEqual(['b\0', 0o600]);
    expect(readdirSync(join(f.dir, 'plans'))).toEqual(['x.start']);
  });
});

describe('configOf', () => {
  it('the generator drop-in first, then the configs listed (by NAME= or file name)', () => {
    f.mkdirs('a', 'b');
    const a = f.conf('BASE=.\n', 'a/alpha.conf');
    const b = f.conf('NAME=beta\nBASE=.\n', 'b/whatever.conf');
    const list = f.conf(`# c\n${join(f.dir, 'missing.conf')}\n${a}\n${b}\n`, 'subhosts.conf');
    expect(configOf('alpha', [], list)).toEqual({ conf: a, how: 'listed', where: `${list}:3` });
    expect(configOf('beta', [], list)).toEqual({ conf: b, how: 'listed', where: `${list}:4` });
    expect(configOf('whatever', [], list)).toBeUndefined();
    expect(configOf('alpha', ['A=1', 'OVERLAY_BOOT_CONF=/x/alpha.conf'], list)).toEqual({
      conf: '/x/alpha.conf',
      how: 'generator',
      where: `${list} (generated unit)`,
    });
    expect(configOf('obt-unit-test-none', [], join(f.dir, 'absent'))).toBeUndefined();
  });
  it("is the runtime's lookup too (findConf), with its own OVERLAY_BOOT_CONF; a miss says where it looked", () => {
    const a = f.conf('BASE=.\n', 'alpha.conf');
    const list = f.conf(`${a}\n`, 'subhosts.conf');
    expect(findConf('alpha', '', list)).toEqual(configOf('alpha', [], list));
    expect(findConf('alpha', '/x/alpha.conf', list)).toEqual(configOf('alpha', ['OVERLAY_BOOT_CONF=/x/alpha.conf'], list));
    expect(findConf('obt-unit-test-none', '', list)).toEqual({
      error:
        'no config for subhost "obt-unit-test-none": looked at $OVERLAY_BOOT_CONF (unset), /run/overlay-boot/registry/obt-unit-test-none.conf (absent) ' +
        `and the 1 config(s) listed in ${list} (none has NAME obt-unit-test-none)`,
    });
    expect(lookupFiles('alpha', list)).toEqual(['/run/overlay-boot/registry/alpha.conf', list]);
  });
  it('sameFile: same path, or the same file through a symlink', () => {
    const a = f.conf('BASE=.\n', 'a.conf');
    symlinkSync('a.conf', join(f.dir, 'l.conf'));
    expect(sameFile(a, join(f.dir, 'l.conf'))).toBe(true);
    expect(sameFile(a, join(f.dir, '.', 'a.conf'))).toBe(true);
    expect(sameFile(a, join(f.dir, 'b.conf'))).toBe(false);
  });
});
