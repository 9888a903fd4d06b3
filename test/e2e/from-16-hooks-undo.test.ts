// Issue 13 as a 1.6 user meets it (items 5, 6, 7 and the NAME half of 8):
// a wrapper hook that runs the default hook then adds its own step; a
// tree used in place (LIVE = UPPER = LOWER); overlay-diskfile(8)'s UPPER
// and WORK inside an image through the commands; a start killed by its
// timeout leaving UPPER as it was; overlay-clean-root NAME.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import {
  useInstalledSandbox,
  makeSubhost,
  register,
  counts,
  inside,
  journalOf,
  stopSubhost,
  waitGone,
  LIBDIR,
  type Counts,
  startOk,
  sh,
} from './kit.js';

const U = (n: string) => `subhost@${n}.service`;

/** Every entry under DIR with its type, mode, owner and size (what "UPPER as it was" compares). */
const listing = (dir: string) => `cd ${dir} && find . -printf '%p %y %m %U %G %s\\n' | sort`;

/** A tree to boot from on its own: busybox as /bin/*, nothing else. */
async function busyboxTree(sb: Sandbox, t: string): Promise<void> {
  await sh(
    sb,
    `
mkdir -p ${t}/bin ${t}/etc ${t}/tmp ${t}/root
cp /usr/bin/busybox ${t}/bin/busybox
for a in $(${t}/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox ${t}/bin/$a; done
echo 'root:x:0:0:root:/root:/bin/sh' > ${t}/etc/passwd
`,
  );
}

describe('1.6 hooks, trees in place, image-backed UPPER, killed starts', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('the default hooks exist where check shows them, and a 1.6 wrapper hook that runs the default and adds its own step works', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'wrap', 'x');
    await sb.writeFile(
      `${s.base}/premount.sh`,
      `#!/bin/sh\n${LIBDIR}/overlay-premount "$@" || exit 1\necho premount-wrapped > "$1/premount-mark"\n`,
      0o755,
    );
    await sb.writeFile(
      `${s.base}/postmount.sh`,
      `#!/bin/sh\n# 1.6 style: the default, then one more mount\n${LIBDIR}/overlay-postmount "$@" || exit 1\n` +
        'mkdir -p "$1/srv/extra" && mount -t tmpfs extra "$1/srv/extra" && echo added > "$1/srv/extra/hello"\n',
      0o755,
    );
    await sb.writeFile(
      `${s.base}/init.sh`,
      `#!/bin/sh\n${LIBDIR}/overlay-init | sed 's|^exec |echo init-wrapped > /run/init-mark; exec |'\n`,
      0o755,
    );
    await sb.writeFile(
      s.conf,
      `BASE=.\nSTART=none\nCABLES==\nPREMOUNT=${s.base}/premount.sh\nPOSTMOUNT=${s.base}/postmount.sh\nINIT=${s.base}/init.sh\n`,
      0o644,
    );

    // What check names as the defaults is there to be called.
    const check = await sb.run(['overlay-boot', 'check', '--json', s.conf]);
    expect(check.exitCode, check.stderr).toBe(0);
    for (const k of ['PREMOUNT', 'POSTMOUNT', 'INIT']) {
      const def = `${LIBDIR}/overlay-${k.toLowerCase()}`;
      expect((await sb.run(['test', '-x', def])).exitCode, def).toBe(0);
    }
    // Run by hand, outside a start, a default says what it is for.
    const alone = await sb.run([`${LIBDIR}/overlay-postmount`, '/x', '/y']);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain('overlay-postmount: runs only as (or from) a subhost');

    await register(sb, s.conf);
    await startOk(sb, 'wrap');
    // The defaults' work: the interfaces file with the cable's stanza, 1.6's /dev, sysfs, /run ...
    expect((await inside(sb, 'wrap', ['cat', '/etc/network/interfaces'])).stdout).toContain('iface eth0 inet manual');
    expect(
      (
        await inside(sb, 'wrap', [
          'sh',
          '-c',
          'test -c /dev/null && test -c /dev/console && test -L /dev/fd && test -d /dev/pts && test -d /sys/class/net && test -d /run/lock && echo ok',
        ])
      ).stdout,
    ).toBe('ok\n');
    const mounts = (await inside(sb, 'wrap', ['cat', '/proc/self/mountinfo'])).stdout;
    for (const p of ['/dev', '/dev/pts', '/sys', '/run', '/srv/extra']) expect(mounts).toMatch(new RegExp(` ${p.replace('/', '\\/')} `));
    // ... and each wrapper's own step.
    expect((await inside(sb, 'wrap', ['cat', '/premount-mark', '/srv/extra/hello', '/run/init-mark'])).stdout).toBe(
      'premount-wrapped\nadded\ninit-wrapped\n',
    );
    expect(await stopSubhost(sb, 'wrap')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it('LIVE = UPPER = LOWER uses the tree in place', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'inpl', 'x', { dirs: ['tree'] });
    await busyboxTree(sb, `${s.base}/tree`);
    await sb.writeFile(s.conf, 'BASE=.\nSTART=none\nLIVE=tree\nUPPER=tree\nLOWER=tree\n', 0o644);
    const check = await sb.run(['overlay-boot', 'check', s.conf]);
    expect(check.exitCode, check.stderr).toBe(0);
    await register(sb, s.conf);
    await startOk(sb, 'inpl');
    expect((await inside(sb, 'inpl', ['sh', '-c', 'echo in-place > /written; hostname'])).stdout).toBe('inpl\n');
    // The tree itself is the subhost's root: no overlay, no copy.
    expect(await sb.readFile(`${s.base}/tree/written`)).toBe('in-place\n');
    const root = (await inside(sb, 'inpl', ['cat', '/proc/self/mountinfo'])).stdout.split('\n').find((l) => l.split(' ')[4] === '/')!;
    expect(root).not.toContain('overlay');
    // No PREMOUNT for a tree used in place (as in 1.6).
    expect((await sb.run(['test', '-e', `${s.base}/tree/etc/network/interfaces`])).exitCode).toBe(1);
    expect(await stopSubhost(sb, 'inpl')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it("overlay-diskfile(8)'s UPPER and WORK inside an image: check, enable and start accept it, the start checks WORK", async () => {
    const sb = sandbox();
    const img = `${sb.dataDir}/dfw-img`;
    // One ext4 image holding upper/ and work/ (made without a loop device), mounted on BASE/mnt/some.
    await sh(sb, `mkdir -p ${img}/fs/upper ${img}/fs/work && mkfs.ext4 -q -F -d ${img}/fs ${img}/disk.img 4M && rm -r ${img}/fs`);
    const s = await makeSubhost(
      sb,
      'dfw',
      `BASE=.\nSTART=none\nUPPER=!overlay-diskfile mnt/some/upper ${img}/disk.img\nWORK=mnt/some/work\n`,
      { dirs: ['live', 'mnt/some'] },
    );
    await register(sb);
    const check = await sb.run(['overlay-boot', 'check', s.conf]);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`^WORK +${s.base}/mnt/some/work +.*checked at start`, 'm'));
    const enable = await sb.run(['overlay-boot', 'enable', s.conf]);
    expect(enable.exitCode, enable.stderr).toBe(0);
    const start = await sb.run(['overlay-boot', 'start', s.conf]);
    expect(start.exitCode, `${start.stdout}${start.stderr}`).toBe(0);
    expect((await inside(sb, 'dfw', ['sh', '-c', 'echo on-image > /persist'])).exitCode).toBe(0);
    expect(await stopSubhost(sb, 'dfw')).toBe('done');
    // The WORK check was deferred, not dropped: without the directory on the image, the start says so.
    await sh(
      sb,
      `mkdir -p ${img}/m && mount -o loop ${img}/disk.img ${img}/m && cat ${img}/m/upper/persist && rm -r ${img}/m/work && umount ${img}/m`,
    );
    expect((await sb.run(['overlay-boot', 'start', s.conf])).exitCode).toBe(1);
    await waitGone(sb, 'dfw');
    expect(await journalOf(sb, U('dfw'))).toContain(`WORK: ${s.base}/mnt/some/work is not a directory`);
    expect((await sb.run(['overlay-boot', 'disable', s.conf])).exitCode).toBe(0);
    expect(await counts(sb)).toEqual(clean);
  });

  // The native plan (one helper run), and a 1.6 wrapper POSTMOUNT (the
  // runtime's several helper runs and the default hook's, one journal).
  for (const [name, hooked] of [
    ['tmo', false],
    ['tmoh', true],
  ] as const)
    it(`a start killed by its timeout (a START entry that hangs) leaves UPPER as it was${hooked ? ', with a wrapper POSTMOUNT' : ''}`, async () => {
      const sb = sandbox();
      const s = await makeSubhost(sb, name, 'x', { dirs: ['root', 'work', 'live', 'mark'] });
      await sb.writeFile(`${s.base}/root/etc/motd`, 'user data\n');
      // Seen inside through the SHARE: the kill came after every setup step.
      await sb.writeFile(`${s.base}/root/hang.sh`, '#!/bin/sh\ntouch /srv/mark/started\nexec sleep 600\n', 0o755);
      const hook = hooked ? `POSTMOUNT=${s.base}/postmount.sh\n` : '';
      if (hooked) await sb.writeFile(`${s.base}/postmount.sh`, `#!/bin/sh\n${LIBDIR}/overlay-postmount "$@"\n`, 0o755);
      await sb.writeFile(s.conf, `BASE=.\nSTART=/hang.sh\nCABLES==\nSHARE=mark:/srv/mark\nTIMEOUT_START=3s\n${hook}`, 0o644);
      await register(sb, s.conf);
      await sb.daemonReload(); // TIMEOUT_START applies, and (without hooks) the generator's plan: the native path
      const before = await sh(sb, listing(`${s.base}/root`));
      expect(await sb.startUnit(U(name))).not.toBe('done');
      await waitGone(sb, name);
      expect(await sh(sb, `ls ${s.base}/mark`)).toBe('started\n');
      expect(await sh(sb, listing(`${s.base}/root`))).toBe(before);
      expect(await sb.readFile(`${s.base}/root/etc/motd`)).toBe('user data\n');
      expect(await counts(sb)).toEqual(clean);
      // And the next start, given time, works.
      await sb.writeFile(`${s.base}/root/hang.sh`, '#!/bin/sh\ntouch /srv/mark/started\n', 0o755);
      await startOk(sb, name);
      expect(await stopSubhost(sb, name)).toBe('done');
      expect(await counts(sb)).toEqual(clean);
    });

  it('overlay-clean-root NAME resolves NAME as the other commands do', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'clnm', 'BASE=.\nSTART=none\n');
    await register(sb, s.conf);
    const byName = await sb.run(['overlay-clean-root', '--dry-run', 'clnm']);
    expect(byName.exitCode, byName.stderr).toBe(0);
    const byConf = await sb.run(['overlay-clean-root', '--dry-run', s.conf]);
    expect(byConf.exitCode, byConf.stderr).toBe(0);
    expect(byName.stdout).toBe(byConf.stdout);
    expect(byName.stdout).toContain(`${s.base}/root`);
    const unknown = await sb.run(['overlay-clean-root', '--dry-run', 'nosuch']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/no config for subhost "?nosuch"?/);
  });
});
