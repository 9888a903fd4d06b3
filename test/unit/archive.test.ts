// The import's archive checks (cli/support/archive.ts scanTar) against
// archives GNU tar makes of real trees (accepted) and hand-made hostile
// ones (refused, each for its own reason); the travelling config's rules.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, linkSync, readFileSync, rmSync, truncateSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { scanTar, plainPath, exportTarArgs, MANIFEST, CONFIG, Refused } from '../../cli/support/archive.js';
import {
  importedConfig,
  untrustedKeys,
  exportedConfig,
  spool,
  trailerOf,
  recordedIds,
  parseManifest,
  LiveScan,
  PACKAGE_VERSION,
} from '../../cli/support/transfer.js';
import { createHash } from 'node:crypto';
import { member, pax, tar } from './tar-member.js';

const ROOT = new URL('../../', import.meta.url).pathname;

const scan = (b: Buffer) => scanTar(Readable.from([b]));
const refusal = async (b: Buffer) => {
  try {
    await scan(b);
  } catch (e) {
    if (e instanceof Refused) return e.message;
    throw e;
  }
  return 'accepted';
};

const manifest = member(MANIFEST, '0', { data: '{}' });
const conf = member(CONFIG, '0', { data: 'BASE=.\n' });
const up = (p = '') => `overlay-boot-export/upper${p}`;
const exportOf = (...m: Buffer[]) => tar(manifest, conf, member(`${up()}/`, '5'), ...m);

describe('plainPath', () => {
  it('takes ./ and trailing / away, refuses the rest', () => {
    expect(plainPath('./a/b/')).toBe('a/b');
    expect(plainPath('./')).toBe('.');
    expect(() => plainPath('/etc/passwd')).toThrow(/absolute/);
    expect(() => plainPath('a/../../b')).toThrow(/"\.\."/);
    expect(() => plainPath('a//b')).toThrow(/plain/);
  });
});

describe('scanTar', () => {
  it('accepts a well-formed export with a whiteout, a hard link, a symlink anywhere', async () => {
    const s = await scan(
      exportOf(
        pax({ path: `${up()}/etc/`, 'SCHILY.xattr.trusted.overlay.opaque': 'y' }),
        member(`${up()}/etc/`, '5'),
        member(`${up()}/etc/gone`, '3'),
        member(`${up()}/a`, '0', { data: 'x', mode: 0o4755 }),
        member(`${up()}/b`, '1', { link: `${up()}/a` }),
        member(`${up()}/l`, '2', { link: '/etc/passwd' }),
      ),
    );
    expect(s.layout).toBe('export');
    expect(s.config).toBe('BASE=.\n');
    expect(s.counts).toMatchObject({ whiteouts: 1, hardlinks: 1, symlinks: 1, setid: 1 });
  });

  it.each([
    ['a path with ..', exportOf(member(`${up()}/../../etc/x`, '0')), /leads out/],
    ['an absolute path', tar(member('./', '5'), member('/etc/cron.d/x', '0')), /absolute/],
    [
      'a symlink, then a file through it',
      exportOf(member(`${up()}/l`, '2', { link: '/etc' }), member(`${up()}/l/passwd`, '0')),
      /not a directory/,
    ],
    ['a member whose directory is not listed', exportOf(member(`${up()}/x/y`, '0')), /not listed before/],
    ['a device node', exportOf(member(`${up()}/sda`, '3', { major: 8, minor: 0 })), /character device 8:0/],
    ['a block device', exportOf(member(`${up()}/sda`, '4', { major: 8 })), /block device/],
    ['a hard link out', exportOf(member(`${up()}/h`, '1', { link: '../../etc/shadow' })), /leads out/],
    ['a hard link to nothing before it', exportOf(member(`${up()}/h`, '1', { link: `${up()}/later` })), /not listed before/],
    ['a member twice', exportOf(member(`${up()}/a`, '0'), member(`${up()}/a`, '2', { link: '/' })), /twice/],
    ['a member outside upper/', exportOf(member('overlay-boot-export/other', '0')), /outside/],
    ['a global pax header', tar(member('./', '5'), member('pax_global_header', 'g')), /global/],
    ['a multi-volume member', exportOf(member(`${up()}/m`, 'M')), /type "M"/],
    ['a file named like a directory', exportOf(member(`${up()}/d/`, '0')), /ending in/],
    ['a pax path with ..', exportOf(pax({ path: `${up()}/../../x` }), member(`${up()}/x`, '0')), /leads out/],
    [
      'a sparse name outside sparse format 1.0',
      exportOf(pax({ 'GNU.sparse.name': `${up()}/ok`, path: `${up()}/x/../../y` }), member(`${up()}/ok`, '0')),
      /sparse format/,
    ],
    [
      'two pax headers for one member',
      exportOf(pax({ path: `${up()}/a` }), pax({ mtime: '1' }), member(`${up()}/a`, '0')),
      /two extended headers/,
    ],
    [
      'a whiteout whose pax device numbers are not 0:0',
      exportOf(pax({ 'SCHILY.devmajor': '1', 'SCHILY.devminor': '1' }), member(`${up()}/w`, '3')),
      /character device 1:1/,
    ],
    ['a truncated archive', exportOf(member(`${up()}/a`, '0', { data: 'x' })).subarray(0, 512 * 4), /ends/],
  ])('refuses %s', async (_what, archive, why) => {
    expect(await refusal(archive)).toMatch(why);
  });

  it('refuses bytes that are not tar', async () => {
    expect(await refusal(Buffer.alloc(2048, 0x41))).toMatch(/checksum/);
  });

  it('takes a plain tree (machinectl export-tar) whole', async () => {
    const s = await scan(tar(member('./', '5'), member('./etc/', '5'), member('./etc/hostname', '0', { data: 'x\n' })));
    expect(s.layout).toBe('tree');
    expect(s.members).toBe(3);
  });

  it('accepts what GNU tar makes of a real tree with exportTarArgs (sparse, hard links, symlinks)', async () => {
    const d = mkdtempSync(`${tmpdir()}/obt-archive-`);
    try {
      mkdirSync(`${d}/meta/overlay-boot-export`, { recursive: true });
      writeFileSync(`${d}/meta/${MANIFEST}`, '{"format":"overlay-boot-export"}');
      writeFileSync(`${d}/meta/${CONFIG}`, 'BASE=.\n');
      mkdirSync(`${d}/u/etc`, { recursive: true });
      writeFileSync(`${d}/u/etc/a`, 'a');
      linkSync(`${d}/u/etc/a`, `${d}/u/etc/b`);
      symlinkSync('/etc/passwd', `${d}/u/p`);
      symlinkSync('./etc/a', `${d}/u/rel`);
      writeFileSync(`${d}/u/sparse`, '');
      truncateSync(`${d}/u/sparse`, 64 << 20);
      appendFileSync(`${d}/u/sparse`, 'end');
      const r = await execa('tar', exportTarArgs(`${d}/meta`, `${d}/u`), { encoding: 'buffer', stripFinalNewline: false });
      const s = await scan(Buffer.from(r.stdout));
      expect(s.layout).toBe('export');
      expect(s.counts).toMatchObject({ hardlinks: 1, symlinks: 2, sparse: 1 });
      expect(s.bytes).toBe(1 + (64 << 20) + 3);
      // Symlink targets are the subhost's own: never renamed.
      const list = (await execa('tar', ['-tvf', '-'], { input: Buffer.from(r.stdout) })).stdout;
      expect(list).toMatch(/upper\/rel -> \.\/etc\/a$/m);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('the travelling config', () => {
  it('export: BASE=., NAME, no UPPER/WORK/LIVE, LOWER absolute', () => {
    const t = exportedConfig('BASE=/srv/x\nUPPER=/data/up\nLOWER=lower\nSTART=ssh\n', 'web', '/srv/x/lower');
    expect(t.split('\n').slice(1)).toEqual(['BASE=.', 'NAME=web', 'LOWER=/srv/x/lower', 'START=ssh', '']);
    expect(() => exportedConfig('UPPER=!/bin/mnt\n', 'web', '/')).toThrow(/!command/);
  });
  it('import: refuses what an archive may not choose, renames', () => {
    expect(importedConfig('BASE=.\nNAME=a\nSTART=ssh\n', 'b', 'a').split('\n').slice(1, 4)).toEqual(['BASE=.', 'NAME=b', 'START=ssh']);
    expect(() => importedConfig('BASE=/etc\n', 'b', 'a')).toThrow(/BASE must be/);
    expect(() => importedConfig('BASE=.\nUPPER=/\n', 'b', 'a')).toThrow(/UPPER/);
    expect(() => importedConfig('BASE=.\nSTART=a\0b\n', 'b', 'a')).toThrow(/NUL/);
    expect(() => importedConfig('BASE=.\nSTART=a\r\n', 'b', 'a')).toThrow(/CR/);
    expect(untrustedKeys('LOWER=!/bin/sh\nSHARE=/etc\nCONTAINMENT=none\nPREMOUNT=/x\nSTART=ssh\n')).toHaveLength(4);
    expect(untrustedKeys('START=ssh\nCONTAINMENT=contained\n')).toEqual([]);
  });
  it('the manifest: refused unless its words are plain (they reach the config and the terminal)', () => {
    const m = { format: 'overlay-boot-export', version: 1, name: 'web', exportedFrom: 'host1' };
    expect(parseManifest(JSON.stringify(m)).name).toBe('web');
    expect(() => parseManifest(JSON.stringify({ ...m, exportedFrom: 'h\nSHARE=/:/host' }))).toThrow(/host name/);
    expect(() => parseManifest(JSON.stringify({ ...m, name: 'a\nb' }))).toThrow(/name may contain only/);
    expect(() => parseManifest(JSON.stringify({ ...m, version: 2 }))).toThrow(/version 2/);
    expect(() => parseManifest('{')).toThrow(/not JSON/);
    expect(importedConfig('BASE=.\n', 'b', 'x\ny').split('\n')[0]).toMatch(/export of x\?y\.$/);
  });
  it("the manifest's id range: the private-users record when there is one", () => {
    const d = mkdtempSync(`${tmpdir()}/obt-ids-`);
    try {
      mkdirSync(`${d}/by-name`);
      symlinkSync('231072', `${d}/by-name/web`);
      expect(recordedIds('web', d)).toEqual({ first: 231072, count: 65536 });
      expect(recordedIds('other', d)).toBeNull();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
  it("the package version is package.json's", () => {
    expect(PACKAGE_VERSION).toBe(JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).version);
  });
});

describe('spool with the checksum trailer', () => {
  const body = Buffer.alloc(300_000, 7);
  const hex = createHash('sha256').update(body).digest('hex');
  it('keeps the stream, checks the trailer', async () => {
    const d = mkdtempSync(`${tmpdir()}/obt-spool-`);
    try {
      const chunks = [body.subarray(0, 100_000), body.subarray(100_000), Buffer.from(trailerOf(hex))];
      expect(await spool(Readable.from(chunks), `${d}/ok`, true)).toEqual({ sha256: hex, bytes: body.length });
      expect(readFileSync(`${d}/ok`).equals(body)).toBe(true);
      const bad = [body.subarray(1), Buffer.from(trailerOf(hex))];
      await expect(spool(Readable.from(bad), `${d}/bad`, true)).rejects.toThrow(/does not match/);
      await expect(spool(Readable.from([body]), `${d}/cut`, true)).rejects.toThrow(/without its checksum/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('LiveScan: the check while the stream arrives', () => {
  const feedAll = async (b: Buffer, size = 1000) => {
    const live = new LiveScan();
    try {
      for (let i = 0; i < b.length; i += size) await live.feed(b.subarray(i, i + size));
      return await live.end();
    } catch (e) {
      live.abort();
      throw e;
    }
  };
  const good = exportOf(member(`${up()}/a`, '0', { data: 'x'.repeat(5000) }));
  it('reads a plain and a zstd stream fed in pieces', async () => {
    expect((await feedAll(good)).layout).toBe('export');
    const z = Buffer.from((await execa('zstd', ['-q', '-c'], { input: good, encoding: 'buffer' })).stdout);
    expect((await feedAll(z, 7)).members).toBe(4);
  });
  it('refuses a hostile member, a damaged zstd stream and a short one', async () => {
    await expect(feedAll(exportOf(member(`${up()}/sda`, '4')))).rejects.toThrow(/block device/);
    const big = exportOf(...Array.from({ length: 400 }, (_, i) => member(`${up()}/f${i}`, '0', { data: String(i).repeat(300) })));
    const z = Buffer.from((await execa('zstd', ['-q', '-c'], { input: big, encoding: 'buffer' })).stdout);
    await expect(feedAll(z.subarray(0, z.length - 200))).rejects.toThrow(Refused);
    await expect(feedAll(Buffer.from('abc'))).rejects.toThrow(Refused);
  });
});
