// lib/unit-file.ts: the one unit-file model and its one escaping function,
// by how systemd reads each kind of value (systemd.syntax(7), systemd.unit(5)).
import { describe, it, expect } from 'vitest';
import { UnitFile, unitValue, UnitValueError } from '../../lib/unit-file.js';

describe('unitValue', () => {
  it('doubles % where systemd expands specifiers, and only there', () => {
    expect(unitValue('SourcePath', '/srv/100%/x.conf', 'printf')).toBe('/srv/100%%/x.conf');
    expect(unitValue('RequiresMountsFor', ['/a%b', '/c'], 'words')).toBe('/a%%b /c');
    // CPUQuota=, MemoryMax= parse their own value: 50% is fifty percent.
    expect(unitValue('CPUQuota', '50%', 'verbatim')).toBe('50%');
  });
  it('quotes a word with spaces, quotes or backslashes, escaping " and \\ inside', () => {
    expect(unitValue('Environment', ['OVERLAY_BOOT_CONF=/srv/my host/x.conf'], 'words')).toBe('"OVERLAY_BOOT_CONF=/srv/my host/x.conf"');
    expect(unitValue('RequiresMountsFor', ['/a b', '/plain', "/it's"], 'words')).toBe('"/a b" /plain "/it\'s"');
    expect(unitValue('RequiresMountsFor', ['/say "hi"'], 'words')).toBe('"/say \\"hi\\""');
    expect(unitValue('RequiresMountsFor', ['/back\\slash'], 'words')).toBe('"/back\\\\slash"');
    expect(unitValue('RequiresMountsFor', ['/tab\there'], 'words')).toBe('"/tab\there"');
    expect(unitValue('Environment', ['A=50% of "x" \\ y'], 'words')).toBe('"A=50%% of \\"x\\" \\\\ y"');
    expect(unitValue('RequiresMountsFor', [], 'words')).toBe('');
  });
  it('writes a path with spaces as one printf value unquoted (SourcePath= takes the rest of the line)', () => {
    expect(unitValue('SourcePath', '/srv/my host/x.conf', 'printf')).toBe('/srv/my host/x.conf');
  });
  it('refuses what cannot be one line: line breaks (in every kind), a trailing backslash or edge whitespace unquoted', () => {
    for (const syntax of ['verbatim', 'printf', 'words'] as const) {
      expect(() => unitValue('K', syntax === 'words' ? ['a\nb'] : 'a\nb', syntax)).toThrow(UnitValueError);
      expect(() => unitValue('K', syntax === 'words' ? ['a\rb'] : 'a\rb', syntax)).toThrow(/line break/);
      expect(() => unitValue('K', syntax === 'words' ? ['a\0b'] : 'a\0b', syntax)).toThrow(UnitValueError);
    }
    expect(() => unitValue('SourcePath', '/x\\', 'printf')).toThrow(/backslash/);
    expect(() => unitValue('MemoryMax', ' 1G', 'verbatim')).toThrow(/whitespace/);
    // Quoted, a trailing backslash is just a character.
    expect(unitValue('RequiresMountsFor', ['/x\\'], 'words')).toBe('"/x\\\\"');
  });
});

describe('UnitFile', () => {
  it('writes the header, then sections in the order of first use, a blank line between two', () => {
    const u = new UnitFile(['Made by a test:', 'second line.'])
      .add('Unit', 'SourcePath', '/a%.conf')
      .addWords('Service', 'Environment', ['X=1', 'Y=a b'])
      .add('Unit', 'After', 'subhost@b.service')
      .comment('Service', 'why this is here')
      .add('Service', 'MemoryMax', '10%', 'verbatim');
    expect(u.text()).toBe(
      [
        '# Made by a test:',
        '# second line.',
        '[Unit]',
        'SourcePath=/a%%.conf',
        'After=subhost@b.service',
        '',
        '[Service]',
        'Environment=X=1 "Y=a b"',
        '# why this is here',
        'MemoryMax=10%',
        '',
      ].join('\n'),
    );
  });
  it('takes directive lines made elsewhere apart and checks them as any value', () => {
    const u = new UnitFile().addLines('Service', [
      '# a comment',
      'CapabilityBoundingSet=~',
      'SystemCallFilter=',
      'DeviceAllow=block-loop rw',
    ]);
    expect(u.text()).toBe('[Service]\n# a comment\nCapabilityBoundingSet=~\nSystemCallFilter=\nDeviceAllow=block-loop rw\n');
    expect(() => new UnitFile().addLines('Service', ['no equals sign'])).toThrow(UnitValueError);
    expect(() => new UnitFile().addLines('Service', ['Key=a\nInjected=yes'])).toThrow(/line break/);
  });
  it('refuses keys, sections and comments that would not stay one line', () => {
    expect(() => new UnitFile().add('Service', 'A=B', 'x')).toThrow(UnitValueError);
    expect(() => new UnitFile().add('Service', '', 'x')).toThrow(UnitValueError);
    expect(() => new UnitFile().add('Ser]vice', 'A', 'x')).toThrow(UnitValueError);
    expect(() => new UnitFile().comment('Service', 'a\n[Service]')).toThrow(UnitValueError);
    expect(() => new UnitFile(['x\ny'])).toThrow(UnitValueError);
  });
  it('is empty until a section has a line; the header alone is not content', () => {
    const u = new UnitFile(['header']);
    expect(u.empty()).toBe(true);
    u.add('Unit', 'After', 'x.service');
    expect(u.empty()).toBe(false);
  });
});
