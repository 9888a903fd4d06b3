// overlay-diskfile mounting for real, without systemd: each scenario runs
// in a private mount namespace (`unshare -m`, standing in for the one
// subhost-enter makes for subhost@NAME.service), so its mounts end
// with it; the loop devices must end too (autoclear).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../dist/overlay-diskfile.cjs', import.meta.url).pathname;
let dir = '';

const loops = async (image: string) =>
  (await execa('losetup', ['--list', '--noheadings', '--output', 'NAME', '--associated', image])).stdout.split('\n').filter(Boolean);

async function waitNoLoops(image: string): Promise<void> {
  for (let i = 0; i < 100 && (await loops(image)).length; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await loops(image)).toEqual([]);
}

/** A script in its own mount namespace, cwd = the test dir (BASE), with $DF the command. */
async function inNamespace(script: string) {
  return execa('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script], {
    cwd: dir,
    reject: false,
    env: { DF: `${process.execPath} ${BIN}`, ACTION: 'overlay-boot' },
  });
}

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first`);
  dir = mkdtempSync(join(tmpdir(), 'ob-diskfile-'));
  await execa(
    'sh',
    [
      '-ec',
      `
mkdir -p t1/a t2/upper t2/work m1 m2 m3
echo one > t1/a/x
truncate -s 8M disk.img
printf 'label: dos\\nstart=2048, size=4096, type=83\\nstart=6144, size=8192, type=83\\n' | sfdisk -q disk.img
mkfs.ext4 -q -F -E offset=$((2048*512)) -d t1 disk.img 2M
mkfs.ext4 -q -F -E offset=$((6144*512)) -d t2 disk.img 4M
mkfs.ext4 -q -F -d t1 whole.img 2M
`,
    ],
    { cwd: dir },
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('overlay-diskfile in a private mount namespace', () => {
  it("mounts LOWER read-only and UPPER read-write at the partitions' offsets; once per mount point", async () => {
    const r = await inNamespace(`
OVERLAY_BOOT_KEY=LOWER $DF m1/a disk.img 1
OVERLAY_BOOT_KEY=UPPER $DF m2/upper disk.img 2
OVERLAY_BOOT_KEY=WORK $DF /m2/work disk.img 2
OVERLAY_BOOT_KEY=LOWER $DF m3/ whole.img
cat m1/a/x m3/a/x
echo w > m2/upper/w && cat m2/upper/w
touch m1/a/y 2>/dev/null && echo writable || echo read-only
losetup --list --noheadings --output RO,OFFSET,SIZELIMIT --associated disk.img | sort
awk '$5 ~ /\\/m[123]$/ {print $5, $6}' /proc/self/mountinfo | sed "s|$PWD/||"
`);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').map((l) => l.trim().replace(/\s+/g, ' '))).toEqual([
      'm1/a',
      'm2/upper',
      'm2/work',
      'm3/',
      'one',
      'one',
      'w',
      'read-only',
      `0 ${6144 * 512} ${8192 * 512}`,
      `1 ${2048 * 512} ${4096 * 512}`,
      'm1 ro,relatime',
      'm2 rw,relatime',
      'm3 ro,relatime',
    ]);
    await waitNoLoops(`${dir}/disk.img`);
    await waitNoLoops(`${dir}/whole.img`);
    // The data written to the image's upper/ is there on the next mount.
    const again = await inNamespace('OVERLAY_BOOT_KEY=UPPER $DF m2/upper disk.img 2 >/dev/null; cat m2/upper/w');
    expect(again.stdout).toBe('w');
    await waitNoLoops(`${dir}/disk.img`);
  });

  it('leaves a mount point that is already mounted alone', async () => {
    const r = await inNamespace(`
mount -t tmpfs already m1
OVERLAY_BOOT_KEY=LOWER $DF m1/ disk.img 1
grep -c " $PWD/m1 " /proc/self/mountinfo
`);
    expect(r.stdout).toBe('m1/\n1');
    expect(await loops(`${dir}/disk.img`)).toEqual([]);
  });

  it('reports a mount that fails in one line', async () => {
    // A filesystem blkid knows but the kernel cannot mount from this image: a truncated ext4.
    const r = await inNamespace(`
head -c 1200000 whole.img > cut.img
OVERLAY_BOOT_KEY=LOWER $DF m1/ cut.img
`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^overlay-diskfile: cannot mount ${dir}/cut.img \\(ext4, ro\\) on ${dir}/m1: `));
    await waitNoLoops(`${dir}/cut.img`);
  });
});
