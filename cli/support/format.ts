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
