// overlay-diskfile and overlay-clean-root under a real systemd: subhosts
// whose LOWER, or UPPER+WORK, live on disk image files (a whole-filesystem
// image and two partitions of a partitioned one), mounted by
// `VAR=!overlay-diskfile ...` in the subhost unit's own mount namespace;
// images that cannot be mounted fail the start with a clear journal line;
// and cleaning the UPPER tree of a stopped subhost (never a running one).
import { describe, it, expect, beforeAll } from 'vitest';
import { useSandbox } from '../sandbox/vitest.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { installUnits, makeSubhost, register, inside, counts, journalOf, stopSubhost, waitGone, type Counts, startOk, sh } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;

/** Loop devices (name, read-only flag, offset) backed by `image`: the sandbox shares the host's kernel and /dev. */
async function loopsOf(sb: Sandbox, image: string): Promise<string[]> {
  const r = await sb.run(['losetup', '--list', '--noheadings', '--output', 'NAME,RO,OFFSET', '--associated', image]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .sort();
}

/** Loop devices are released asynchronously (autoclear, when the last mount of the filesystem goes). */
async function noLoopsLeft(sb: Sandbox, images: string[]): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const left = (await Promise.all(images.map((i) => loopsOf(sb, i)))).flat();
    if (left.length === 0) return;
    if (Date.now() > end) throw new Error(`loop devices left: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SECTOR = 512;
// disk.img: 1 = LOWER tree (8 MiB), 2 = upper/ and work/ (4 MiB), 3 = never formatted (1 MiB).
const P1 = 2048;
const P2 = P1 + 16384;
const P3 = P2 + 8192;

describe('disk image storage (overlay-diskfile) and overlay-clean-root', () => {
  const sandbox = useSandbox();
  let clean: Counts;
  let img: string;
  beforeAll(async () => {
    const sb = sandbox();
    await installUnits(sb);
    await sb.run(['sh', '-c', 'ip netns add warmup && ip netns delete warmup']);
    clean = await counts(sb);
    img = `${sb.dataDir}/img`;
    // Images made without a loop device or a mount: mkfs.ext4 -d fills the
    // filesystem from a directory, -E offset= puts it inside a partition.
    await sh(
      sb,
      `
mkdir -p ${img}/tree/bin ${img}/tree/dev ${img}/tree/proc ${img}/tree/sys ${img}/tree/run ${img}/tree/etc ${img}/tree/tmp ${img}/tree/root ${img}/rw/upper ${img}/rw/work
cd ${img}
cp /usr/bin/busybox tree/bin/busybox
for a in $(tree/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox tree/bin/$a; done
echo 'root:x:0:0:root:/root:/bin/sh' > tree/etc/passwd
echo whole > tree/from-image
mkfs.ext4 -q -F -d tree lower.img 8M
echo partition-1 > tree/from-image
truncate -s $(( (${P3} + 2048) * ${SECTOR} )) disk.img
printf 'label: dos\\nstart=${P1}, size=16384, type=83\\nstart=${P2}, size=8192, type=83\\nstart=${P3}, size=2048, type=83\\n' | sfdisk -q disk.img
mkfs.ext4 -q -F -E offset=$((${P1} * ${SECTOR})) -d tree disk.img 8M
mkfs.ext4 -q -F -E offset=$((${P2} * ${SECTOR})) -d rw disk.img 4M
rm -r tree rw
`,
    );
  }, 60_000);

  it('LOWER on a whole-filesystem image: mounted read-only for the subhost only, loop device gone after stop', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'dfl', `BASE=.\nSTART=none\nLOWER=!overlay-diskfile mnt/ ${img}/lower.img\n`, {
      dirs: ['root', 'work', 'live', 'mnt'],
    });
    await register(sb, s.conf);
    expect(await loopsOf(sb, `${img}/lower.img`)).toEqual([]);
    // Contained, the unit may open loop devices only with the generator's
    // drop-in for this config: listed but not reloaded, the start says so.
    expect(await sb.startUnit(U('dfl'))).not.toBe('done');
    expect(await journalOf(sb, U('dfl'))).toContain("the unit's device policy refuses loop devices");
    await sb.daemonReload();
    await startOk(sb, 'dfl');
    expect((await inside(sb, 'dfl', ['cat', '/from-image'])).stdout).toBe('whole\n');
    expect((await inside(sb, 'dfl', ['test', '-e', '/usr/bin/systemctl'])).exitCode).toBe(1);
    const root = (await inside(sb, 'dfl', ['cat', '/proc/self/mountinfo'])).stdout.split('\n').find((l) => l.split(' ')[4] === '/')!;
    expect(root).toContain(`lowerdir=${s.base}/mnt,upperdir=${s.base}/root`);
    // One loop device, read-only, for this image; the mount is not the sandbox's.
    expect(await loopsOf(sb, `${img}/lower.img`)).toEqual([expect.stringMatching(/^\/dev\/loop\d+ 1 0$/)]);
    expect(await sh(sb, 'cat /proc/self/mountinfo')).not.toContain(`${s.base}/mnt`);
    expect(await sh(sb, `ls ${s.base}/mnt`)).toBe('');
    // Written inside lands in UPPER (BASE/root), not in the read-only image.
    expect((await inside(sb, 'dfl', ['sh', '-c', 'echo up > /written'])).exitCode).toBe(0);

    expect(await stopSubhost(sb, 'dfl')).toBe('done');
    await noLoopsLeft(sb, [`${img}/lower.img`]);
    expect(await sb.readFile(`${s.base}/root/written`)).toBe('up\n');
    expect(await counts(sb)).toEqual(clean);
  });

  it('LOWER and UPPER+WORK on two partitions of one image; what is written persists on the image', async () => {
    const sb = sandbox();
    const conf = `${[
      'BASE=.',
      'START=none',
      // Relative image path: the command runs in BASE.
      'UPPER=!overlay-diskfile rw/upper ../img/disk.img 2',
      'WORK=rw/work',
      'LOWER=!overlay-diskfile lo/ ../img/disk.img 1',
    ].join('\n')}\n`;
    const s = await makeSubhost(sb, 'dfp', conf, { dirs: ['live', 'rw', 'lo'] });
    await register(sb, s.conf);
    await sb.daemonReload(); // the drop-in that lets the unit open loop devices
    const disk = `${img}/disk.img`;
    await startOk(sb, 'dfp');
    expect((await inside(sb, 'dfp', ['cat', '/from-image'])).stdout).toBe('partition-1\n');
    const root = (await inside(sb, 'dfp', ['cat', '/proc/self/mountinfo'])).stdout.split('\n').find((l) => l.split(' ')[4] === '/')!;
    expect(root).toContain(`lowerdir=${s.base}/lo,upperdir=${s.base}/rw/upper,workdir=${s.base}/rw/work`);
    // Partition 1 read-only, partition 2 read-write, each at its offset.
    const loops = (await loopsOf(sb, disk)).map((l) => l.split(' ').slice(1).join(' ')).sort();
    expect(loops).toEqual([`0 ${P2 * SECTOR}`, `1 ${P1 * SECTOR}`]);
    expect((await inside(sb, 'dfp', ['sh', '-c', 'echo kept > /persist'])).exitCode).toBe(0);

    expect(await stopSubhost(sb, 'dfp')).toBe('done');
    await noLoopsLeft(sb, [disk]);
    // The data is on the image, not in the (unmounted) directory.
    expect(await sh(sb, `ls -A ${s.base}/rw ${s.base}/lo`)).toBe(`${s.base}/lo:\n\n${s.base}/rw:\n`);
    expect(await counts(sb)).toEqual(clean);

    await startOk(sb, 'dfp');
    expect((await inside(sb, 'dfp', ['cat', '/persist'])).stdout).toBe('kept\n');
    expect(await stopSubhost(sb, 'dfp')).toBe('done');
    await noLoopsLeft(sb, [disk]);
    expect(await counts(sb)).toEqual(clean);
  });

  const failures: { title: string; value: string; message: string }[] = [
    { title: 'a missing image', value: 'mnt/ missing.img', message: 'overlay-diskfile: image BASE/missing.img does not exist' },
    {
      title: 'a partition that does not exist',
      value: 'mnt/ IMG/disk.img 4',
      message: 'overlay-diskfile: IMG/disk.img has no partition 4: its dos partition table has 3 partitions (1, 2, 3)',
    },
    {
      title: 'an unknown filesystem',
      value: 'mnt/ IMG/disk.img 3',
      message:
        'overlay-diskfile: partition 3 of IMG/disk.img holds no filesystem that blkid recognizes (unknown filesystem, or not formatted)',
    },
    {
      title: 'a partitioned image without a partition number',
      value: 'mnt/ IMG/disk.img',
      message:
        'overlay-diskfile: IMG/disk.img holds a dos partition table with 3 partitions, not a filesystem: give the partition number as the third argument',
    },
  ];
  for (const [i, f] of failures.entries()) {
    it(`start fails, saying why in the journal, for ${f.title}`, async () => {
      const sb = sandbox();
      const name = `dfe${i}`;
      const s = await makeSubhost(sb, name, `BASE=.\nSTART=none\nLOWER=!overlay-diskfile ${f.value.replace('IMG', img)}\n`, {
        dirs: ['root', 'work', 'live', 'mnt'],
      });
      await register(sb, s.conf);
      expect(await sb.startUnit(U(name))).not.toBe('done');
      await waitGone(sb, name);
      const journal = await journalOf(sb, U(name));
      expect(journal).toContain(f.message.replace('BASE', s.base).replace('IMG', img));
      expect(journal).toMatch(/LOWER: command "overlay-diskfile .*" failed: exit status 1/);
      await noLoopsLeft(sb, [`${img}/disk.img`]);
      expect(await counts(sb)).toEqual(clean);
    });
  }

  it('overlay-clean-root: refuses while the subhost runs; then --dry-run changes nothing and a real run removes the identical files', async () => {
    const sb = sandbox();
    // LOWER: a plain tree on the data tmpfs (a LOWER of / would be the sandbox's whole root).
    await sh(
      sb,
      `
T=${img}/ctree; mkdir -p $T/etc $T/bin $T/proc $T/dev $T/sys $T/run $T/tmp
cp /usr/bin/busybox $T/bin/busybox
for a in $($T/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox $T/bin/$a; done
echo same > ${img}/ctree/etc/same; echo lower > ${img}/ctree/etc/differs
`,
    );
    const s = await makeSubhost(sb, 'cln', `BASE=.\nSTART=none\nLOWER=${img}/ctree\n`);
    await register(sb, s.conf);
    await sh(sb, `cd ${s.base}/root && mkdir etc && cp -a ${img}/ctree/etc/same etc/same && echo upper > etc/differs`);
    await startOk(sb, 'cln');
    const running = await sb.run(['overlay-clean-root', s.conf]);
    expect(running.exitCode).toBe(1);
    expect(running.stderr).toBe(
      `overlay-clean-root: subhost cln is running (subhost@cln.service is active): stop it first (systemctl stop subhost@cln.service)\n`,
    );
    expect(await sb.readFile(`${s.base}/root/etc/same`)).toBe('same\n');
    expect(await stopSubhost(sb, 'cln')).toBe('done');

    const listing = `cd ${s.base}/root && find . -printf '%p %y %m %U %G %s %T@ %C@\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum && getfattr -R -d -m - -e hex . 2>&1`;
    const before = await sh(sb, listing);
    const dry = await sb.run(['overlay-clean-root', '--dry-run', s.conf]);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`would remove ${s.base}/root/etc/same\n`);
    expect(dry.stdout).not.toContain('etc/differs');
    expect(dry.stdout).toMatch(/^would remove 1 file and 0 directories from .*, saving [\d.]+ \w+ \(dry run: nothing changed\)$/m);
    expect(await sh(sb, listing)).toBe(before);
    const verbose = await sb.run(['overlay-clean-root', '--dry-run', '--verbose', s.conf]);
    expect(verbose.stdout).toContain(`kept ${s.base}/root/etc/differs: differs from LOWER (content)\n`);
    expect(verbose.stdout).toMatch(/^kept \d+: .*\b1 differs from LOWER\b/m);

    const real = await sb.run(['overlay-clean-root', s.conf]);
    expect(real.exitCode).toBe(0);
    expect(real.stdout).toContain(`removed ${s.base}/root/etc/same\n`);
    expect(real.stdout).toMatch(/^removed 1 file and 0 directories from .*, saved [\d.]+ \w+$/m);
    expect(await sh(sb, `ls ${s.base}/root/etc`)).toContain('differs');
    expect((await sb.run(['test', '-e', `${s.base}/root/etc/same`])).exitCode).toBe(1);
    await startOk(sb, 'cln');
    expect((await inside(sb, 'cln', ['cat', '/etc/same', '/etc/differs'])).stdout).toBe('same\nupper\n');
    expect(await stopSubhost(sb, 'cln')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it('overlay-clean-root explains why it will not clean an image-backed UPPER', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'clx', `BASE=.\nSTART=none\nUPPER=!overlay-diskfile rw/upper ${img}/disk.img 2\nWORK=rw/work\n`, {
      dirs: ['live', 'rw'],
    });
    const r = await sb.run(['overlay-clean-root', s.conf]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /^overlay-clean-root: .*clx\.conf: UPPER is computed when the subhost starts \(!overlay-diskfile rw\/upper .*\), inside the subhost's own mount namespace: overlay-clean-root runs no commands/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await loopsOf(sb, `${img}/disk.img`)).toEqual([]);
  });
});
