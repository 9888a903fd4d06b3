// How the commands show systemd's values and sizes to people: uint64
// counters, timestamps, bytes, CPU time, and columns.

/** 2^64-1: what systemd reports for an unknown 64-bit counter (no accounting). */
export const UINT64_MAX = 18446744073709551615n;

/** A uint64 property as JSON: null when unknown, a number when exact, else a decimal string. */
export function u64(v: unknown): number | string | null {
  if (v === undefined || v === null) return null;
  const b = typeof v === 'bigint' ? v : BigInt(v as number);
  if (b === UINT64_MAX) return null;
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

/** A realtime timestamp in microseconds (0 = never) as an ISO string, or null. */
export function usecToIso(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const b = typeof v === 'bigint' ? v : BigInt(v as number);
  if (b === 0n || b === UINT64_MAX) return null;
  return new Date(Number(b / 1000n)).toISOString();
}

/**
 * 1536 -> "1.5 KiB", 1 -> "1 byte"; null (unknown) -> "-". Binary units
 * spelled out: the same in a table (status, list) and in a sentence
 * (overlay-clean-root: "saved 1.5 MiB").
 */
export function formatBytes(n: number | string | null): string {
  if (n === null) return '-';
  const b = Number(n);
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${b} ${b === 1 ? 'byte' : 'bytes'}`;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** CPU time in nanoseconds: "1.234s", "2min 3.4s", "1h 2min". */
export function formatNsec(n: number | string | null): string {
  if (n === null) return '-';
  const s = Number(n) / 1e9;
  if (s < 60) return `${s < 10 ? s.toFixed(3) : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}min ${(s - m * 60).toFixed(1)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m - h * 60}min`;
}

/** An ISO timestamp as local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(iso: string | null): string {
  if (!iso) return '-';
  const d = new Date(iso);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Rows under a header, columns padded to their widest cell; the last column is not padded. */
export function renderColumns(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/**
 * Text that may have come from inside a subhost (interface names,
 * addresses, hostnames, journal lines, paths under UPPER), made safe to
 * print on a terminal: every control character (C0, DEL, C1: ESC and CSI
 * start the sequences that move the cursor, retitle the window or answer
 * back), the line and paragraph separators and the bidi overrides (text
 * that reads differently from what it is) shown as `\xNN` or `\u{NNNN}`,
 * a backslash as `\\` (so the escapes are unambiguous), and bytes that
 * are not UTF-8 as `\xNN`. The one escaping function of the commands;
 * never applied to --json output, where JSON.stringify's escapes keep it
 * exact.
 */
export function terminalText(s: string | Uint8Array): string {
  if (typeof s !== 'string') return bytesText(s);
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c < 0xa0) || UNSAFE_FORMAT.has(c) || (c >= 0xd800 && c < 0xe000)) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out;
}

/** Line/paragraph separators and the bidi embeddings, overrides and isolates. */
const UNSAFE_FORMAT = new Set([0x2028, 0x2029, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

/** Bytes as UTF-8 where they are (then as terminalText), each other byte as \xNN. */
function bytesText(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = utf8Length(b, i);
    if (n === 0) {
      out += `\\x${b[i]!.toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += terminalText(Buffer.from(b.subarray(i, i + n)).toString('utf8'));
      i += n;
    }
  }
  return out;
}

/** The length of the well-formed UTF-8 sequence at b[i] (RFC 3629: no overlongs, surrogates or > U+10FFFF), or 0. */
function utf8Length(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const [lo, hi] = c === 0xe0 ? [0xa0, 0xbf] : c === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const [lo, hi] = c === 0xf0 ? [0x90, 0xbf] : c === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
