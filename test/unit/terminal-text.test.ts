// terminalText: the one escaping of text from inside a subhost before it
// reaches a terminal (status, list, check, errors).
import { describe, it, expect } from 'vitest';
import { terminalText } from '../../cli/support/format.js';
import { renderOne, renderTable, statusFrom } from '../../cli/support/status.js';

/** Any control character (but the newline between rows), line separator or bidi control. */
const unsafe = (t: string) =>
  [...t].some((ch) => {
    const c = ch.codePointAt(0)!;
    return (
      (c !== 0x0a && c < 0x20) ||
      (c >= 0x7f && c < 0xa0) ||
      [0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069].includes(c)
    );
  });

describe('terminalText', () => {
  it('leaves printable text alone, UTF-8 included', () => {
    expect(terminalText('eth0 10.0.0.2/24')).toBe('eth0 10.0.0.2/24');
    expect(terminalText('grün ✓ 名前')).toBe('grün ✓ 名前');
  });
  it('shows ESC sequences, newlines, tabs, DEL and C1 controls as escapes', () => {
    expect(terminalText('\x1b[2J\x1b]0;pwned\x07')).toBe('\\x1b[2J\\x1b]0;pwned\\x07');
    expect(terminalText('a\nb\r\tc\x7f')).toBe('a\\x0ab\\x0d\\x09c\\x7f');
    expect(terminalText('x\u009b31m')).toBe('x\\u{9b}31m');
  });
  it('shows bidi overrides and line separators, and escapes the backslash itself', () => {
    expect(terminalText('a\u202ecba\u2028')).toBe('a\\u{202e}cba\\u{2028}');
    expect(terminalText('C:\\x1b')).toBe('C:\\\\x1b');
  });
  it('shows bytes that are not UTF-8 as \\xNN, and decodes those that are', () => {
    // A lone 0x9b is CSI on 8-bit terminals; overlong, surrogate and truncated forms too.
    expect(terminalText(Buffer.from([0x65, 0x9b, 0x31, 0x6d]))).toBe('e\\x9b1m');
    expect(terminalText(Buffer.from([0xc0, 0x9b]))).toBe('\\xc0\\x9b');
    expect(terminalText(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
    expect(terminalText(Buffer.from([0x61, 0xe2, 0x82]))).toBe('a\\xe2\\x82');
    expect(terminalText(Buffer.from('grün\x1b', 'utf8'))).toBe('grün\\x1b');
    expect(terminalText(Buffer.from([0xc2, 0x9b]))).toBe('\\u{9b}');
  });
  it('leaves nothing a terminal would act on, whatever the input', () => {
    for (let c = 0; c < 0x110000; c += c < 0x3000 ? 1 : 97) {
      if (c >= 0xd800 && c < 0xe000) continue;
      const out = terminalText(`a${String.fromCodePoint(c)}b`);
      expect(unsafe(out), `U+${c.toString(16)}`).toBe(false);
    }
  });
});

describe('status and list escape what came from inside', () => {
  const unit = { LoadState: 'loaded', ActiveState: 'active', SubState: 'running' };
  const s = statusFrom('web', unit, { MainPID: 7 }, undefined, [{ ifname: 'ev\x1b]0;x\x07il', family: 'inet', address: '10.0.0.2/24' }]);
  it('in the table and in status NAME', () => {
    expect(renderTable([s])).toContain('ev\\x1b]0;x\\x07il 10.0.0.2/24');
    expect(renderOne(s)).toContain('Addresses: ev\\x1b]0;x\\x07il 10.0.0.2/24');
    expect(unsafe(renderTable([s]) + renderOne(s).replace(/\n/g, ''))).toBe(false);
  });
  it('but not in --json: JSON.stringify keeps it exact', () => {
    const json = JSON.stringify(s);
    expect(json).toContain('"ifname":"ev\\u001b]0;x\\u0007il"');
    expect(JSON.parse(json).addresses[0].ifname).toBe('ev\x1b]0;x\x07il');
  });
});
