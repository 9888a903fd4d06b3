// lib/storage as data: overlay-diskfile's arguments, partition tables
// (sfdisk --json), blkid probes and their one-line errors; mountinfo and
// getfattr parsing; sizes.
import { describe, it, expect } from 'vitest';
import {
  parseDiskfileArgs,
  printedPath,
  mountPointArg,
  parseSfdiskJson,
  partitionExtent,
  parseBlkidExport,
  filesystemOf,
  accessFor,
} from '../../lib/storage/diskfile.js';
import { Failure, UsageError } from '../../lib/errors.js';
import { formatBytes } from '../../cli/support/format.js';
import { parseMountinfo, mountAt } from '../../lib/storage/mountinfo.js';
import { parseGetfattr, overlayAttrs, sameXattrs } from '../../lib/storage/xattr.js';

const DOS = JSON.stringify({
  partitiontable: {
    label: 'dos',
    id: '0x2a2a0580',
    device: 'disk.img',
    unit: 'sectors',
    sectorsize: 512,
    partitions: [
      { node: 'disk.img1', start: 2048, size: 4096, type: '83' },
      { node: 'disk.img2', start: 6144, size: 8192, type: '5' },
      { node: 'disk.img5', start: 8192, size: 2048, type: '83' },
    ],
  },
});
// GPT with a gap (no partition 2), 4 KiB sectors, and an image name ending in a digit.
const GPT = JSON.stringify({
  partitiontable: {
    label: 'gpt',
    device: 'vm1',
    unit: 'sectors',
    sectorsize: 4096,
    firstlba: 6,
    lastlba: 2554,
    partitions: [
      { node: 'vm1p1', start: 256, size: 512, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' },
      { node: 'vm1p3', start: 1024, size: 1024, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' },
    ],
  },
});

describe('overlay-diskfile arguments', () => {
  it('takes MOUNT/PATH, an optional IMAGE and an optional partition number', () => {
    expect(parseDiskfileArgs(['mnt/'])).toEqual({ path: 'mnt/', image: undefined, partition: undefined });
    expect(parseDiskfileArgs(['mnt/', 'disk.img'])).toEqual({ path: 'mnt/', image: 'disk.img', partition: undefined });
    expect(parseDiskfileArgs(['mnt/some/path', 'disk.img', '2'])).toEqual({ path: 'mnt/some/path', image: 'disk.img', partition: 2 });
    expect(parseDiskfileArgs(['--', 'mnt/', 'disk.img'])).toMatchObject({ image: 'disk.img' });
  });

  it('rejects what cannot be right as usage errors', () => {
    for (const argv of [
      [],
      ['a', 'b', '1', 'x'],
      ['mnt/', 'disk.img', 'two'],
      ['mnt/', 'disk.img', '0'],
      ['mnt/', 'disk.img', '-1'],
      ['--ro', 'mnt/'],
      ['/'],
      [''],
    ]) {
      expect(() => parseDiskfileArgs(argv), JSON.stringify(argv)).toThrow(UsageError);
    }
    expect(() => parseDiskfileArgs(['mnt/', 'disk.img', 'two'])).toThrow('PARTITION must be a partition number (1, 2, ...), not "two"');
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the title quotes 1.6's shell
  it('prints MOUNT/PATH less one leading "/" and mounts on the part before its last "/" (1.6: ${1#/}, ${1%/*})', () => {
    expect(printedPath('mnt/')).toBe('mnt/');
    expect(printedPath('/mnt/some/upper')).toBe('mnt/some/upper');
    expect(mountPointArg('mnt/')).toBe('mnt');
    expect(mountPointArg('mnt/some/upper')).toBe('mnt/some');
    expect(mountPointArg('/mnt/x')).toBe('mnt');
    expect(mountPointArg('mnt')).toBe('mnt');
  });

  it('is read-only for LOWER and read-write otherwise (and without OVERLAY_BOOT_KEY, as 1.6)', () => {
    expect(accessFor('LOWER')).toBe('ro');
    expect(accessFor('UPPER')).toBe('rw');
    expect(accessFor('WORK')).toBe('rw');
    expect(accessFor(undefined)).toBe('rw');
  });
});

describe('partition tables from sfdisk --json', () => {
  it("finds offset and size in bytes by partition number, with the table's sector size", () => {
    const dos = parseSfdiskJson(DOS);
    expect(dos).toMatchObject({ label: 'dos', sectorSize: 512 });
    expect(dos.partitions.map((p) => p.number)).toEqual([1, 2, 5]);
    expect(partitionExtent(dos, 1, 'disk.img')).toEqual({ offset: 2048 * 512, size: 4096 * 512 });
    expect(partitionExtent(dos, 5, 'disk.img')).toEqual({ offset: 8192 * 512, size: 2048 * 512 });
    const gpt = parseSfdiskJson(GPT);
    expect(gpt.partitions.map((p) => p.number)).toEqual([1, 3]);
    expect(partitionExtent(gpt, 3, 'vm1')).toEqual({ offset: 1024 * 4096, size: 1024 * 4096 });
  });

  it('says which partitions there are when the number is not one of them', () => {
    expect(() => partitionExtent(parseSfdiskJson(GPT), 2, 'vm1')).toThrow(
      new Failure('vm1 has no partition 2: its gpt partition table has 2 partitions (1, 3)'),
    );
    expect(() => partitionExtent(parseSfdiskJson(DOS), 4, 'disk.img')).toThrow(
      'disk.img has no partition 4: its dos partition table has 3 partitions (1, 2, 5)',
    );
    const one = JSON.stringify({
      partitiontable: { label: 'dos', device: 'a', sectorsize: 512, partitions: [{ node: 'a1', start: 1, size: 2 }] },
    });
    expect(() => partitionExtent(parseSfdiskJson(one), 2, 'a')).toThrow(
      'a has no partition 2: its dos partition table has 1 partition (only 1)',
    );
    const none = JSON.stringify({ partitiontable: { label: 'gpt', device: 'a', sectorsize: 512 } });
    expect(() => partitionExtent(parseSfdiskJson(none), 1, 'a')).toThrow(
      'a has no partition 1: its gpt partition table has 0 partitions (none)',
    );
  });

  it('refuses an extended partition, and output it cannot read', () => {
    expect(() => partitionExtent(parseSfdiskJson(DOS), 2, 'disk.img')).toThrow('partition 2 of disk.img is an extended partition');
    expect(() => parseSfdiskJson('not json')).toThrow(Failure);
    expect(() => parseSfdiskJson('{"partitiontable":{"partitions":[{"node":"x1"}]}}')).toThrow('partition 1 has no start or size');
  });
});

describe('filesystem probes (blkid -p -o export)', () => {
  it('mounts what blkid calls a filesystem, with its type', () => {
    const p = parseBlkidExport('DEVNAME=disk.img\nUUID=62e2\nVERSION=1.0\nBLOCK_SIZE=1024\nTYPE=ext4\nUSAGE=filesystem\n');
    expect(p).toEqual({ type: 'ext4', usage: 'filesystem', ptType: undefined });
    expect(filesystemOf(p, 'disk.img')).toBe('ext4');
  });

  it('explains everything else in one line', () => {
    expect(() => filesystemOf({}, 'partition 3 of d.img')).toThrow(
      'partition 3 of d.img holds no filesystem that blkid recognizes (unknown filesystem, or not formatted)',
    );
    expect(() => filesystemOf({ ptType: 'dos' }, 'd.img', 2)).toThrow(
      'd.img holds a dos partition table with 2 partitions, not a filesystem: give the partition number as the third argument',
    );
    expect(() => filesystemOf({ type: 'swap', usage: 'other' }, 'd.img')).toThrow(
      'd.img holds swap (other data), not a filesystem that can be mounted',
    );
    expect(() => filesystemOf({ type: 'crypto_LUKS', usage: 'crypto' }, 'd.img')).toThrow('holds crypto_LUKS (crypto data)');
    expect(() => filesystemOf({ usage: 'ambivalent' }, 'd.img')).toThrow('more than one filesystem signature');
  });
});

describe('mountinfo', () => {
  const text = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '64 22 7:0 / /srv/a\\040b/mnt ro,relatime - ext4 /dev/loop0 ro',
    '65 22 0:50 / /srv/x/live rw,relatime - overlay overlay rw,lowerdir=/,upperdir=/srv/x/root,workdir=/srv/x/work',
    '66 64 0:51 / /srv/a\\040b/mnt rw - tmpfs t rw',
  ].join('\n');
  it('unescapes mount points and finds the topmost mount on a path', () => {
    const m = parseMountinfo(text);
    expect(m.map((e) => e.point)).toEqual(['/', '/srv/a b/mnt', '/srv/x/live', '/srv/a b/mnt']);
    expect(mountAt('/srv/a b/mnt', m)).toMatchObject({ fstype: 'tmpfs', options: ['rw'] });
    expect(mountAt('/srv/a b', m)).toBeUndefined();
    expect(m[2]!.superOptions).toContain('upperdir=/srv/x/root');
  });
});

describe('getfattr output', () => {
  it('maps each file (names unescaped) to its attributes, hex values kept as printed', () => {
    const out = [
      '# file: /t/we ird\\012name\\134x=y',
      'user.a\\075b=0x31',
      'user.e=0x',
      '',
      '# file: /t/f',
      'trusted.overlay.origin=0x00fb21',
      'user.x=0x31',
      '',
      '# file: /t/\u00e9t\u00e9',
      'security.capability=0x0100000200',
      '',
    ].join('\n');
    const m = parseGetfattr(Buffer.from(out, 'utf8'));
    expect([...m.keys()]).toEqual(['/t/we ird\nname\\x=y', '/t/f', '/t/\u00e9t\u00e9']);
    expect([...m.get('/t/we ird\nname\\x=y')!]).toEqual([
      ['user.a=b', '0x31'],
      ['user.e', '0x'],
    ]);
    expect(overlayAttrs(m.get('/t/f')!)).toEqual(['trusted.overlay.origin']);
    expect(
      sameXattrs(
        m.get('/t/f')!,
        new Map([
          ['user.x', '0x31'],
          ['trusted.overlay.origin', '0x00fb21'],
        ]),
      ),
    ).toBe(true);
    expect(sameXattrs(m.get('/t/f')!, new Map([['user.x', '0x31']]))).toBe(false);
    expect(sameXattrs(new Map([['user.x', '0x31']]), new Map([['user.x', '0x32']]))).toBe(false);
  });
});

describe('sizes', () => {
  it('are human readable', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(4096)).toBe('4.0 KiB');
    expect(formatBytes(1536 * 1024)).toBe('1.5 MiB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
  });
});
