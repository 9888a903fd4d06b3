// How the page shows numbers and times (as overlay-boot status does).

export function bytes(n: number | string | null | undefined): string {
  if (n === null || n === undefined) return '—';
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function cpu(nsec: number | string | null | undefined): string {
  if (nsec === null || nsec === undefined) return '—';
  const s = Number(nsec) / 1e9;
  return s < 60 ? `${s.toFixed(s < 10 ? 2 : 1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** "3 min ago", or the date for older ones. */
export function since(iso: string | null): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleString();
}
