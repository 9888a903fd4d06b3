// overlay-clean-root's core (lib/storage/clean.ts) on real overlays, as
// root, without systemd: LOWER/UPPER/WORK live on a tmpfs that a holder
// process (`unshare -m`) mounts in its own mount namespace; the overlay is
// mounted only in short-lived `nsenter` + `unshare -m` children, which
// build UPPER the way a subhost would (copy-ups, whiteouts, opaque
// directories) and list the merged view. This test process reaches the
// tmpfs through /proc/HOLDER/root. When the holder ends (its stdin closes
// when this process dies), the tmpfs and everything on it go with it.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanRoot, type CleanReport } from '../../lib/storage/clean.js';

let holder: ResultPromise | undefined;
let mnt = ''; // the tmpfs, as the holder's namespace names it
let via = ''; // /proc/HOLDER/root: the holder's namespace, as this process reaches it
let n = 0;
let dir = ''; // this test's directory on the tmpfs (holder's view)

beforeAll(async () => {
  mnt = mkdtempSync(join(tmpdir(), 'ob-clean-'));
  holder = execa(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs -o size=64m,mode=755 obclean "${mnt}" && echo ready && exec cat >/dev/null`,
    ],
    { stdin: 'pipe', stderr: 'inherit' },
  );
  await new Promise<void>((resolve, reject) => {
    holder!.stdout!.once('data', () => resolve());
    holder!.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  via = `/proc/${holder.pid}/root`;
});

afterAll(async () => {
  holder?.stdin?.end();
  await holder?.catch(() => undefined);
  rmdirSync(mnt);
});

/** Run a bash script in the holder's mount namespace, cwd = this test's dir. */
async function sh(script: string): Promise<string> {
  const r = await execa('nsenter', ['-t', String(holder!.pid), '-m', 'bash', '-ec', `cd "${dir}"\n${script}`], { reject: false });
  if (r.exitCode !== 0) throw new Error(`script failed (${r.exitCode}): ${r.stderr}\n${script}`);
  return r.stdout;
}

/** Run a script with the overlay lower+upper mounted on ./m (in a namespace of its own, gone when it ends). */
function withOverlay(script: string, opts = ''): Promise<string> {
  return sh(
    `unshare -m --propagation private bash -ec 'mount -t overlay overlay -o ${opts}lowerdir="$PWD/lower",upperdir="$PWD/upper",workdir="$PWD/work" m && cd m && ${script.replace(/'/g, `'\\''`)}'`,
  );
}

// Everything the merged view shows, except timestamps, inode numbers and
// directory sizes and link counts (which depend on the layers, not on the
// content): type, mode, owner, size, link count, symlink target, device
// numbers, extended attributes and content hashes.
const LISTING = `
export LC_ALL=C
find . -mindepth 1 ! -type d -printf '%p %y %m %U:%G %s %n [%l]\\n' | sort
find . -mindepth 1 -type d -printf '%p %y %m %U:%G\\n' | sort
find . \\( -type c -o -type b \\) -print0 | sort -z | xargs -0r stat -c '%n %t:%T'
find . -type f -print0 | sort -z | xargs -0r sha256sum
find . -print0 | sort -z | xargs -0r getfattr -h -d -m - -e hex 2>&1
`;
const merged = () => withOverlay(LISTING);

/** UPPER itself, byte for byte: the merged listing plus times, applied to upper/. */
const upperListing = () => sh(`cd upper\n${LISTING}\nfind . -printf '%p %T@ %C@ %n %s\\n' | sort`);

const clean = (dryRun = false, work = `${via}${dir}/work`): Promise<CleanReport> =>
  cleanRoot({ upper: `${via}${dir}/upper`, lower: `${via}${dir}/lower`, work, dryRun });

beforeEach(async () => {
  dir = `${mnt}/t${++n}`;
  await execa('nsenter', ['-t', String(holder!.pid), '-m', 'mkdir', '-p', `${dir}/lower`, `${dir}/upper`, `${dir}/work`, `${dir}/m`]);
});

const removedOf = (r: CleanReport) => r.removed.map((x) => x.rel).sort();
const keptOf = (r: CleanReport) => Object.fromEntries(r.kept.map((k) => [k.rel, k.reason]));

// LOWER, and an UPPER that a subhost could have produced: identical copies
// written over LOWER's files (as a package reinstall does), changes of
// every kind, and overlayfs's own entries made through a real overlay.
const SETUP = `
mkdir -p lower/etc lower/d lower/dmode lower/opq lower/sub lower/hl lower/sparse lower/dev
echo hello > lower/etc/same
: > lower/etc/empty
echo lower > lower/etc/content
echo m > lower/etc/mode
echo o > lower/etc/owner
echo x > lower/etc/xattr;   setfattr -n user.k -v 1 lower/etc/xattr
echo x > lower/etc/xsame;   setfattr -n user.k -v 1 lower/etc/xsame
echo a > lower/etc/acl
ln -s target lower/etc/lsame
ln -s a lower/etc/ldiff
mknod lower/dev/null c 1 3; mknod lower/dev/zero c 1 5; mkfifo lower/dev/fifo
echo in-d > lower/d/f
mkdir lower/rd lower/rd2; echo in-rd > lower/rd/f; echo in-rd2 > lower/rd2/f
echo in-dmode > lower/dmode/f
echo opq > lower/opq/f; echo other > lower/opq/g
echo gone > lower/etc/gone
echo copied > lower/etc/copied
echo h > lower/hl/a; ln lower/hl/a lower/hl/b
echo s > lower/hl/s1; echo s > lower/hl/s2
dd if=/dev/urandom of=lower/sparse/f bs=4096 count=1 seek=255 status=none
head -c 1048576 /dev/zero > lower/sparse/dense
dd if=lower/sparse/f of=lower/sparse/dense bs=4096 skip=255 seek=255 count=1 conv=notrunc status=none
ln -s /etc lower/sub/escape
echo root > lower/sub/plain

mkdir -p upper/etc upper/d upper/dmode upper/hl upper/sparse upper/dev upper/newdir upper/sub/escape
cp -a lower/etc/same lower/etc/empty lower/etc/xsame lower/etc/lsame upper/etc/
echo upper > upper/etc/content; touch -r lower/etc/content upper/etc/content
cp -a lower/etc/mode upper/etc/mode; chmod 600 upper/etc/mode
cp -a lower/etc/owner upper/etc/owner; chown 1:1 upper/etc/owner
cp -a lower/etc/xattr upper/etc/xattr; setfattr -n user.k -v 2 upper/etc/xattr
cp -a lower/etc/acl upper/etc/acl
setfattr -n system.posix_acl_access -v 0x0200000001000600ffffffff020004000100000004000400ffffffff10000400ffffffff20000400ffffffff upper/etc/acl
chmod 644 upper/etc/acl
ln -s b upper/etc/ldiff
cp -a lower/dev/null lower/dev/fifo upper/dev/; mknod upper/dev/zero c 1 3
cp -a lower/d/f upper/d/f
cp -a lower/dmode/f upper/dmode/f; chmod 700 upper/dmode
cp -a lower/hl/a upper/hl/a; ln upper/hl/a upper/hl/b
cp -a lower/hl/s1 upper/hl/s1; ln upper/hl/s1 upper/hl/s2
truncate -s 1048576 upper/sparse/f; dd if=lower/sparse/f of=upper/sparse/f bs=4096 skip=255 seek=255 count=1 conv=notrunc status=none
touch -r lower/sparse/f upper/sparse/f
cp --sparse=always lower/sparse/dense upper/sparse/dense
echo new > upper/newdir/f
cp -a /etc/passwd upper/sub/escape/passwd
cp -a lower/sub/plain upper/sub/plain
`;

// Through the overlay: a whiteout, an opaque directory holding a file
// identical to LOWER's, a renamed directory (redirect) holding one too, and
// a copy-up that ends identical (it carries trusted.overlay.origin, which is
// bookkeeping: it goes).
const THROUGH_OVERLAY = `
rm etc/gone
rm -r opq; mkdir opq; cp -a ../lower/opq/f opq/f
rm -r rd2; mv rd rd2; cp -a ../lower/rd2/f rd2/f
chmod 600 etc/copied; chmod 644 etc/copied
`;
const throughOverlay = () => withOverlay(THROUGH_OVERLAY, 'redirect_dir=on,');

describe('cleanRoot on a real overlay', () => {
  it('removes identical entries only, and the merged view stays the same', async () => {
    await sh(SETUP);
    await throughOverlay();
    const before = await merged();
    expect(before).toContain('./etc/same f 644');
    expect(before).not.toContain('./etc/gone');

    const r = await clean();
    expect(removedOf(r)).toEqual([
      'd',
      'd/f',
      'dev/fifo',
      'dev/null',
      'dmode/f',
      'etc/copied',
      'etc/empty',
      'etc/lsame',
      'etc/same',
      'etc/xsame',
      'hl/a',
      'hl/b',
      'sparse',
      'sparse/dense',
      'sparse/f',
      'sub/plain',
    ]);
    const kept = keptOf(r);
    expect(kept).toMatchObject({
      'etc/content': 'differs from LOWER (content)',
      'etc/mode': 'differs from LOWER (mode)',
      'etc/owner': 'differs from LOWER (owner or group)',
      'etc/xattr': 'differs from LOWER (extended attributes)',
      'etc/acl': 'differs from LOWER (extended attributes)',
      'etc/ldiff': 'differs from LOWER (symlink target)',
      'dev/zero': 'differs from LOWER (device number)',
      'etc/gone': 'whiteout',
      opq: 'opaque directory',
      rd: 'whiteout',
      rd2: 'redirected (renamed) directory',
      dmode: 'differs from LOWER (mode)',
      newdir: 'only in UPPER',
      'hl/s1': 'differs from LOWER (hard link count)',
      'hl/s2': 'differs from LOWER (hard link count)',
      'sub/escape': 'differs from LOWER (directory over symlink)',
    });
    // Nothing under the opaque or redirected directories, nor under the directory over LOWER's symlink, was even looked at.
    expect(Object.keys(kept).filter((k) => /^(opq|rd2|sub\/escape)\//.test(k))).toEqual([]);
    // Space: what the removed files took (the hard-linked pair once, the sparse file as allocated).
    expect(r.bytes).toBe(r.removed.reduce((s, x) => s + x.bytes, 0));
    expect(r.removed.find((x) => x.rel === 'hl/b')!.bytes).toBe(0);
    expect(r.removed.find((x) => x.rel === 'sparse/f')!.bytes).toBeLessThan(64 * 1024);
    expect(r.removed.find((x) => x.rel === 'sparse/dense')!.bytes).toBeLessThan(64 * 1024);

    const after = await merged();
    expect(after).toEqual(before);
    // overlayfs's own entries are still in UPPER, as they were.
    const up = await sh(
      'stat -c "%n %F %t:%T" upper/etc/gone; getfattr -h -n trusted.overlay.opaque --only-values upper/opq; echo; ls upper/opq upper/rd2 upper/sub/escape',
    );
    expect(up).toBe('upper/etc/gone character special file 0:0\ny\nupper/opq:\nf\n\nupper/rd2:\nf\n\nupper/sub/escape:\npasswd');
  });

  it('--dry-run changes nothing in UPPER and reports the same plan', async () => {
    await sh(SETUP);
    await throughOverlay();
    const before = await upperListing();
    const dry = await clean(true);
    expect(dry.dryRun).toBe(true);
    expect(await upperListing()).toEqual(before);
    const real = await clean(false);
    expect(removedOf(real)).toEqual(removedOf(dry));
    expect(real.bytes).toBe(dry.bytes);
    expect(await upperListing()).not.toEqual(before);
    // A second run finds nothing more to do.
    expect((await clean(false)).removed).toEqual([]);
  });

  it('hard links go only all together, and only over one LOWER inode with the same links', async () => {
    await sh(`
mkdir -p lower/x upper/x
echo a > lower/x/a; ln lower/x/a lower/x/a2
echo b > lower/x/b; ln lower/x/b lower/x/b2; ln lower/x/b lower/x/b3
cp -a lower/x/a upper/x/a; ln upper/x/a upper/x/a2
cp -a lower/x/b upper/x/b; ln upper/x/b upper/x/b2; ln upper/x/b upper/x/elsewhere
mkdir -p lower/y lower/o upper/y upper/o
echo c > lower/y/c; ln lower/y/c lower/o/c
cp -a lower/y/c upper/y/c; ln upper/y/c upper/o/c
setfattr -n trusted.overlay.opaque -v y upper/o
`);
    const before = await merged();
    const r = await clean();
    expect(removedOf(r)).toEqual(['x/a', 'x/a2']);
    // y/c is identical to y/c in LOWER, links and all, but its other link is inside an opaque directory.
    expect(keptOf(r)).toMatchObject({
      'x/b': expect.any(String),
      'x/b2': expect.any(String),
      'x/elsewhere': 'only in UPPER',
      o: 'opaque directory',
      'y/c': 'hard link of an entry that stays',
    });
    expect(await merged()).toEqual(before);
  });

  it('never touches WORK, even inside UPPER, nor what lies across a mount point', async () => {
    await sh(`
mkdir -p lower/wk lower/mp upper/wk upper/mp
echo w > lower/wk/f; cp -a lower/wk/f upper/wk/f
echo p > lower/mp/f
mount -t tmpfs mp upper/mp && cp -a lower/mp/f upper/mp/f
`);
    try {
      const r = await clean(false, `${via}${dir}/upper/wk`);
      expect(r.removed).toEqual([]);
      expect(keptOf(r)).toEqual({
        wk: 'WORK (overlayfs workdir)',
        mp: 'a mount point in UPPER (overlayfs does not see what is mounted there)',
      });
    } finally {
      await sh('umount upper/mp');
    }
  });

  it('with UPPER inside LOWER (as with LOWER=/), UPPER and WORK are never compared with themselves', async () => {
    // LOWER is this test's dir: upper/upper/z would shadow UPPER/z itself, upper/work/f WORK/f.
    await sh('mkdir -p upper/upper upper/work; echo z > upper/z; cp -a upper/z upper/upper/z; echo w > work/f; cp -a work/f upper/work/f');
    const r = await cleanRoot({ upper: `${via}${dir}/upper`, lower: `${via}${dir}`, work: `${via}${dir}/work` });
    expect(r.removed).toEqual([]);
    expect(keptOf(r)).toMatchObject({
      upper: 'its LOWER counterpart is UPPER or WORK itself',
      work: 'its LOWER counterpart is UPPER or WORK itself',
      z: 'only in UPPER',
    });
    expect(await sh('cat upper/upper/z upper/z upper/work/f')).toBe('z\nz\nw');
  });
});
