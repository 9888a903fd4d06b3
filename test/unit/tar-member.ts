// Tar members made by hand, as GNU tar writes ustar headers: for archives
// no tar would make (hostile imports), in unit and e2e tests.

/** One ustar header block (+ data blocks) as GNU tar would write it. */
export function member(
  name: string,
  type: string,
  opts: { data?: string; link?: string; major?: number; minor?: number; mode?: number } = {},
): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, 'utf8');
  const oct = (n: number, off: number, len: number) => put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
  const data = Buffer.from(opts.data ?? '');
  put(name, 0, 100);
  oct(opts.mode ?? 0o644, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(data.length, 124, 12);
  oct(0, 136, 12);
  h.write(type, 156, 'latin1');
  put(opts.link ?? '', 157, 100);
  h.write('ustar\u000000', 257, 'latin1');
  oct(opts.major ?? 0, 329, 8);
  oct(opts.minor ?? 0, 337, 8);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([h, padded]);
}
export const tar = (...m: Buffer[]) => Buffer.concat([...m, Buffer.alloc(1024)]);

/** A pax extended header ('x') holding RECORDS, for the member after it. */
export function pax(records: Record<string, string>): Buffer {
  let data = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
    data += `${len}${body}`;
  }
  return member('./PaxHeaders/x', 'x', { data });
}
