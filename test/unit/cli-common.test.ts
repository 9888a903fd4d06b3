// The pure parts the programs share: argument parsing (lib/args.ts),
// errors (lib/errors.ts), and the commands' NAME-or-CONF and formatting of
// systemd's values (cli/support/).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs, operands } from '../../lib/args.js';
import { UsageError, Failure, prefixLines } from '../../lib/errors.js';
import { looksLikeConf, checkName } from '../../cli/support/subhost.js';
import { u64, usecToIso, formatBytes, formatNsec, renderColumns } from '../../cli/support/format.js';

describe('parseArgs', () => {
  it('flags, options in both forms, positionals, and -- ending the options', () => {
    const a = parseArgs(['--json', 'x', '--out=o', '--in', 'i', '--', '--json', 'y'], { flags: ['--json'], options: ['--out', '--in'] });
    expect([...a.flags]).toEqual(['--json']);
    expect(Object.fromEntries(a.options)).toEqual({ '--out': 'o', '--in': 'i' });
    expect(a.positionals).toEqual(['x']);
    expect(a.rest).toEqual(['--json', 'y']);
    expect(a.help).toBe(false);
  });
  it('no -- gives no rest; -h and --help are help; a lone - is a positional', () => {
    expect(parseArgs(['a', '-']).rest).toBeUndefined();
    expect(parseArgs(['a', '-']).positionals).toEqual(['a', '-']);
    expect(parseArgs(['-h']).help).toBe(true);
    expect(parseArgs(['x', '--help']).help).toBe(true);
    expect(parseArgs(['--']).rest).toEqual([]);
  });
  it('unknown options and missing values are usage errors', () => {
    expect(() => parseArgs(['--bogus'])).toThrow(new UsageError('unknown option --bogus'));
    expect(() => parseArgs(['--json=1'], { flags: ['--json'] })).toThrow(UsageError);
    expect(() => parseArgs(['--in'], { options: ['--in'] })).toThrow(new UsageError('--in needs a value'));
  });
  it('short aliases name their long option; operands are the positionals and what follows --', () => {
    const spec = { flags: ['--dry-run'], aliases: { '-n': '--dry-run' } };
    expect([...parseArgs(['-n', 'a.conf'], spec).flags]).toEqual(['--dry-run']);
    expect(() => parseArgs(['-x'], spec)).toThrow(new UsageError('unknown option -x'));
    expect(operands(parseArgs(['a', '--', '-b', 'c'], spec))).toEqual(['a', '-b', 'c']);
    expect(operands(parseArgs(['a']))).toEqual(['a']);
  });
});

describe('NAME or CONF', () => {
  it('a path or a .conf is a CONF, so is an existing file; anything else a NAME', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ob-cli-'));
    try {
      writeFileSync(join(dir, 'plain'), 'BASE=.\n');
      expect(looksLikeConf('/etc/x.conf')).toBe(true);
      expect(looksLikeConf('./tiny')).toBe(true);
      expect(looksLikeConf('tiny.conf')).toBe(true);
      expect(looksLikeConf('tiny')).toBe(false);
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        expect(looksLikeConf('plain')).toBe(true);
      } finally {
        process.chdir(cwd);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('NAMEs are checked as NAME= is', () => {
    expect(checkName('web-1.a_b')).toBe('web-1.a_b');
    expect(() => checkName('-x')).toThrow(Failure);
    expect(() => checkName('a b')).toThrow(/"a b" is not a subhost NAME: it may contain only/);
  });
});

describe('systemd values', () => {
  it('uint64: 2^64-1 is unknown (null), exact below 2^53, a string above', () => {
    expect(u64(18446744073709551615n)).toBeNull();
    expect(u64(undefined)).toBeNull();
    expect(u64(0n)).toBe(0);
    expect(u64(123456789n)).toBe(123456789);
    expect(u64(9007199254740993n)).toBe('9007199254740993');
    expect(JSON.stringify({ v: u64(5n) })).toBe('{"v":5}');
  });
  it('timestamps in microseconds; 0 is never', () => {
    expect(usecToIso(0n)).toBeNull();
    expect(usecToIso(1700000000123456n)).toBe('2023-11-14T22:13:20.123Z');
  });
  it('bytes and CPU time as systemctl shows them', () => {
    expect(formatBytes(null)).toBe('-');
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50.0 MiB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
    expect(formatBytes('1024')).toBe('1.0 KiB');
    expect(formatNsec(null)).toBe('-');
    expect(formatNsec(1_234_000_000)).toBe('1.234s');
    expect(formatNsec(125e9)).toBe('2min 5.0s');
    expect(formatNsec(3720e9)).toBe('1h 2min');
  });
  it('columns are padded to the widest cell, the last is not', () => {
    expect(
      renderColumns(
        ['A', 'BB', 'C'],
        [
          ['xxx', 'y', 'z'],
          ['1', '2', ''],
        ],
      ),
    ).toBe('A    BB  C\nxxx  y   z\n1    2\n');
  });
  it('an error message gets the command name once, details stay as they are', () => {
    expect(prefixLines('overlay-go', 'x is not running\n')).toBe('overlay-go: x is not running\n');
    expect(prefixLines('overlay-boot', 'failed\n  detail')).toBe('overlay-boot: failed\n  detail\n');
  });
});
