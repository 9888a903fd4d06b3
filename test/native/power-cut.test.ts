// A power cut at every write step of a first start (issue 21): the start
// writes its files into UPPER (etc/network/interfaces before the overlay,
// /.reaper through it) on a loop-mounted ext4; it is killed at write step
// N (native/ops.c write_step: create, data, fsync, rename, directory
// fsync, per file), and the filesystem is cut off at once with
// FS_IOC_SHUTDOWN and no log flush (what xfstests' godown does for a
// power cut), then mounted again. Each file must then be whole or absent,
// and the next start must leave every file whole and no temporary file
// that the subhost could see. The last round cuts right after a start that
// succeeded (1.6 and 2.0 before issue 21 left an empty interfaces file).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNative, REAPER, SE } from './harness.js';

let dir = '';
const INTERFACES = '# Generated for pc subhost\nauto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet manual\n';

// FS_IOC_SHUTDOWN = _IOR('X', 125, __u32); FS_GOING_DOWN_NOLOGFLUSH = 2.
const SHUTDOWN = `import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587d, struct.pack('I', 2))`;

/**
 * One round in a mount namespace of its own (the loop mount ends with it,
 * autoclear frees the device): a fresh ext4, a first start killed at
 * write step `at` ('none': not killed), the cut, a remount; then what the
 * files are, a next start, and what they are after it.
 */
async function round(at: string) {
  const script = `
img=$D/img; m=$D/m; rm -f $img; mkdir -p $m
# subhost-enter mounts in this namespace (as in the unit's, which lives
# as long as the subhost): no unmount of the overlay syncs UPPER for it.
export OVERLAY_BOOT_MNTNS=$(stat -L -c %i /proc/self/ns/mnt)
mkfs.ext4 -q -F $img 16M
mount -o loop $img $m
mkdir -p $m/root $m/work $m/live
sync -f $m   # the admin's directories, made long before
start() {
  $SE guard $m/live guard $m/root \\
    write-if-missing $m/root/etc/network/interfaces 644 "$INTERFACES" \\
    mount overlay overlay $m/live - lowerdir=/,upperdir=$m/root,workdir=$m/work \\
    install-if-missing $REAPER $m/live/.reaper 755
}
rc=0; OVERLAY_BOOT_FAULT_KILL_AT=$AT start || rc=$?
echo "rc=$rc"
python3 -c "$SHUTDOWN" $m
umount $m/live 2>/dev/null || true
umount $m
mount -o loop $img $m
state() {
  printf '%s' "$INTERFACES" > $D/want
  if [ ! -e $m/root/etc/network/interfaces ]; then echo "$1interfaces=absent"
  elif cmp -s $D/want $m/root/etc/network/interfaces; then echo "$1interfaces=whole"
  else echo "$1interfaces=torn"; fi
  if [ ! -e $m/root/.reaper ]; then echo "$1reaper=absent"
  elif cmp -s $REAPER $m/root/.reaper; then echo "$1reaper=whole"
  else echo "$1reaper=torn"; fi
  echo "$1tmp=$(cd $m/root && find . -name '*.overlay-boot-new' | sort | tr '\\n' ' ')"
}
state cut-
start
state next-
umount $m/live
umount $m
`;
  const r = await execa('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script], {
    reject: false,
    env: { D: dir, SE, REAPER, AT: at, INTERFACES, SHUTDOWN },
  });
  const kv = Object.fromEntries(
    r.stdout
      .split('\n')
      .map((l) => l.split('='))
      .filter((p) => p.length === 2),
  );
  return { ...r, kv };
}

describe('a power cut at every write step of a first start', () => {
  beforeAll(async () => {
    await buildNative();
    dir = mkdtempSync(join(tmpdir(), 'ob-power-cut-'));
  });
  afterAll(() => {
    if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves each file whole or absent, and the next start leaves both whole and no temporary file', async () => {
    const seen: string[] = [];
    for (let n = 1; n < 40; n++) {
      const r = await round(`write:${n}`);
      // The shell reports the kill; nothing else is said.
      expect(r.stderr.replace(/^.*Killed\n?/m, ''), `write:${n}`).toBe('');
      const killed = r.kv.rc === '137';
      seen.push(`${n}:${r.kv['cut-interfaces']}/${r.kv['cut-reaper']}`);
      for (const f of ['interfaces', 'reaper']) {
        expect(r.kv[`cut-${f}`], `write:${n}: ${f} after the cut`).toMatch(/^(absent|whole)$/);
        expect(r.kv[`next-${f}`], `write:${n}: ${f} after the next start`).toBe('whole');
      }
      expect(r.kv['next-tmp'], `write:${n}`).toBe('');
      if (!killed) {
        // Past the last write step: 2 files x 5 steps each were cut at.
        expect(r.kv.rc).toBe('0');
        expect(n).toBe(11);
        break;
      }
    }
    // Both files went from absent to whole along the way, each at its rename.
    expect(seen[0]).toBe('1:absent/absent');
    expect(seen.at(-1)).toBe('11:whole/whole');
  }, 120_000);

  // Before issue 21: interfaces empty (written, never synced) and .reaper absent.
  it('a cut right after a start that succeeded keeps what it wrote whole', async () => {
    const r = await round('none');
    expect(r.kv.rc).toBe('0');
    expect([r.kv['cut-interfaces'], r.kv['cut-reaper'], r.kv['cut-tmp']]).toEqual(['whole', 'whole', '']);
  }, 60_000);
});
