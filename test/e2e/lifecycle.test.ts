// subhost@NAME.service under a real systemd, driven over D-Bus: start and
// stop as 1.6 did, and what the subhost looks like from inside.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import {
  useInstalledSandbox,
  makeSubhost,
  register,
  inside,
  mainPid,
  state,
  counts,
  journalOf,
  stopSubhost,
  waitGone,
  type Counts,
  startOk,
} from './kit.js';

const U = (n: string) => `subhost@${n}.service`;

/** A tiny root from busybox-static: what a debootstrap LOWER would be, in 1 MB. */
async function busyboxTree(sb: Sandbox, dir: string): Promise<void> {
  const script = [
    `mkdir -p ${dir}/bin ${dir}/dev ${dir}/proc ${dir}/sys ${dir}/run ${dir}/etc ${dir}/tmp ${dir}/root`,
    `cp /usr/bin/busybox ${dir}/bin/busybox`,
    `for a in $(${dir}/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox ${dir}/bin/$a; done`,
    `echo 'root:x:0:0:root:/root:/bin/sh' > ${dir}/etc/passwd`,
  ].join(' && ');
  const r = await sb.run(['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
}

describe('subhost lifecycle', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('BASE=. alone: reaper as PID 1, hostname, overlay root that persists, nothing of the host visible', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'ex1', 'BASE=.\n');
    await register(sb, s.conf);
    await startOk(sb, 'ex1');
    expect(await state(sb, U('ex1'))).toBe('active');
    expect((await inside(sb, 'ex1', ['readlink', '/proc/1/exe'])).stdout.trim()).toBe('/.reaper');
    expect((await inside(sb, 'ex1', ['hostname'])).stdout.trim()).toBe('ex1');

    // / is the overlay; what is written inside lands in UPPER.
    const mi = (await inside(sb, 'ex1', ['cat', '/proc/self/mountinfo'])).stdout.trim().split('\n');
    const rootLine = mi.find((l) => l.split(' ')[4] === '/')!;
    expect(rootLine).toMatch(/ - overlay overlay .*upperdir=\/srv\/subhosts\/ex1\/root/);
    // Only the subhost's own mounts: no host mount, no old root.
    const points = mi.map((l) => l.split(' ')[4]!).sort();
    expect(points.filter((p) => !p.startsWith('/proc/'))).toEqual(
      // (/dev/console: a pty of its own devpts bound there; /dev/log is a
      // socket of the relay's, not the host's bound in: contained.)
      ['/', '/.reaper', '/dev', '/dev/console', '/dev/pts', '/etc/adjtime', '/proc', '/run', '/sys'].filter(
        (p) => p !== '/etc/adjtime' || points.includes(p),
      ),
    );
    // Below /proc, only CONTAINMENT=contained's read-only binds and masks (tried in test/hardening/escape.test.ts).
    expect(points).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sys/net', '/proc/kallsyms']));
    // No host process: only the subhost's, and PID 1 is the reaper.
    const ps = (await inside(sb, 'ex1', ['sh', '-c', 'for p in /proc/[0-9]*; do cat $p/comm; done'])).stdout;
    expect(ps).not.toMatch(/^systemd/m);
    expect(ps).toMatch(/^\.reaper$/m);
    // nsenter -t 1 -m from inside lands in the subhost's own mount namespace.
    const own = (await inside(sb, 'ex1', ['readlink', '/proc/self/ns/mnt'])).stdout.trim();
    const via = (await inside(sb, 'ex1', ['nsenter', '-t', '1', '-m', 'readlink', '/proc/self/ns/mnt'])).stdout.trim();
    expect(via).toBe(own);
    // The sandbox's own files (our BASE) are not reachable that way.
    expect((await inside(sb, 'ex1', ['nsenter', '-t', '1', '-m', 'test', '-e', s.conf])).exitCode).toBe(1);
    expect((await inside(sb, 'ex1', ['test', '-e', s.conf])).exitCode).toBe(1);
    // The start's mounts (the overlay on LIVE...) were made in the unit's own
    // mount namespace (subhost-enter makes it): none shows on the host.
    const hostMounts = (await sb.run(['cat', '/proc/1/mountinfo'])).stdout;
    expect(hostMounts).toContain(' /run/netns/ex1 '); // (what the host does see: the netns unit's)
    expect(hostMounts).not.toContain(`${s.base}/live`);
    expect(hostMounts).not.toContain(`upperdir=${s.base}/root`);
    // Its marker does not reach the subhost's processes.
    expect((await inside(sb, 'ex1', ['cat', '/proc/1/environ'])).stdout).not.toContain('OVERLAY_BOOT_MNTNS');

    expect((await inside(sb, 'ex1', ['sh', '-c', 'echo kept > /etc/written-inside'])).exitCode).toBe(0);
    expect(await stopSubhost(sb, 'ex1')).toBe('done');
    expect(await state(sb, U('ex1'))).toBe('inactive');
    expect(await sb.readFile(`${s.base}/root/etc/written-inside`)).toBe('kept\n');
    expect(await counts(sb)).toEqual(clean);

    await startOk(sb, 'ex1');
    expect((await inside(sb, 'ex1', ['cat', '/etc/written-inside'])).stdout).toBe('kept\n');
    expect(await stopSubhost(sb, 'ex1')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it('a separate LOWER tree (busybox), and UPPER equal to LOWER', async () => {
    const sb = sandbox();
    const tree = `${sb.dataDir}/bbtree`;
    await busyboxTree(sb, tree);
    const a = await makeSubhost(sb, 'tiny', `BASE=.\nCABLES= =\nSTART= none\nLOWER= ${tree}\n`);
    const b = await makeSubhost(sb, 'same', `BASE=.\nSTART=none\nUPPER=${tree}\nLOWER=${tree}\nRAM_SIZE=none\n`, { dirs: ['live'] });
    await register(sb, a.conf, b.conf);
    await startOk(sb, 'tiny');
    expect((await inside(sb, 'tiny', ['/bin/ls', '/bin/busybox'])).exitCode).toBe(0);
    expect((await inside(sb, 'tiny', ['test', '-e', '/usr/bin/systemctl'])).exitCode).toBe(1);
    expect((await inside(sb, 'tiny', ['cat', '/etc/network/interfaces'])).stdout).toContain('iface eth0 inet manual');
    await startOk(sb, 'same');
    const root = (await inside(sb, 'same', ['cat', '/proc/self/mountinfo'])).stdout.split('\n').find((l) => l.split(' ')[4] === '/')!;
    expect(root).not.toContain(' - overlay ');
    await inside(sb, 'same', ['sh', '-c', 'echo direct > /tmp/direct']);
    expect(await sb.readFile(`${tree}/tmp/direct`)).toBe('direct\n');
    expect(await stopSubhost(sb, 'tiny')).toBe('done');
    expect(await stopSubhost(sb, 'same')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it('CABLES: plain, fixed MAC and bridge give the interfaces on both ends, all gone after stop', async () => {
    const sb = sandbox();
    expect((await sb.run(['sh', '-c', 'ip link add obr0 type bridge && ip link set obr0 up'])).exitCode).toBe(0);
    const withBridge = await counts(sb);
    const s = await makeSubhost(sb, 'cab', 'BASE=.\nSTART=none\nCABLES= = =02:00:00:00:00:42 obr0=\n');
    await register(sb, s.conf);
    await startOk(sb, 'cab');
    const host = (await sb.run(['ip', '-o', 'link', 'show'])).stdout;
    expect(host).toMatch(/: cab0@if\d+: <[^>]*\bUP\b/);
    expect(host).toMatch(/: cab1@if\d+: /);
    expect(host).toMatch(/: cab2@if\d+: .* master obr0 /);
    expect((await sb.run(['ip', 'netns', 'list'])).stdout).toContain('cab');
    const inner = (await inside(sb, 'cab', ['ip', '-o', 'link', 'show'])).stdout;
    expect(inner).toMatch(/: lo: .*UP/);
    expect(inner).toMatch(/: eth0@if\d+: /);
    expect(inner).toMatch(/: eth1@if\d+: .*link\/ether 02:00:00:00:00:42/);
    expect(inner).toMatch(/: eth2@if\d+: /);
    expect(inner).not.toMatch(/cab\d/);
    expect(await stopSubhost(sb, 'cab')).toBe('done');
    expect(await counts(sb)).toEqual(withBridge);
    await sb.run(['ip', 'link', 'delete', 'obr0']);
    expect(await counts(sb)).toEqual(clean);
  });

  it('a host end with an ifupdown stanza is brought up with ifup, and ifdown at stop', async () => {
    const sb = sandbox();
    // TEST-NET-1 (RFC 5737): an address of our own, inside the sandbox's own netns.
    await sb.writeFile('/etc/network/interfaces.d/ob-test', 'iface ifu0 inet static\n    address 192.0.2.1/24\n');
    const s = await makeSubhost(sb, 'ifu', 'BASE=.\nSTART=none\nCABLES==\n');
    await register(sb, s.conf);
    await startOk(sb, 'ifu');
    expect((await sb.run(['ip', '-4', '-o', 'addr', 'show', 'dev', 'ifu0'])).stdout).toContain('inet 192.0.2.1/24');
    expect((await sb.run(['ifquery', '--state', 'ifu0'])).stdout.trim()).toBe('ifu0=ifu0');
    expect(await stopSubhost(sb, 'ifu')).toBe('done');
    expect((await sb.run(['ifquery', '--state', 'ifu0'])).stdout.trim()).toBe('');
    await sb.run(['rm', '/etc/network/interfaces.d/ob-test']);
    expect(await counts(sb)).toEqual(clean);
  });

  it('a .N CABLES entry makes a VLAN on the previous host end (or fails clearly where the kernel has no 802.1Q)', async () => {
    const sb = sandbox();
    const probe = await sb.run([
      'sh',
      '-c',
      'ip link add vp0 type veth peer name vp1 && ip link add link vp0 name vp0.5 type vlan id 5; r=$?; ip link delete vp0; exit $r',
    ]);
    const s = await makeSubhost(sb, 'vl', 'BASE=.\nSTART=none\nCABLES== =.12\n');
    await register(sb, s.conf);
    if (probe.exitCode === 0) {
      await startOk(sb, 'vl');
      expect((await sb.run(['ip', '-o', 'link', 'show'])).stdout).toMatch(/: vl0\.12@vl0: /);
      expect(await stopSubhost(sb, 'vl')).toBe('done');
    } else {
      console.log('this kernel has no 802.1Q VLAN support: checking the failure instead');
      expect(await sb.startUnit(U('vl'))).not.toBe('done');
      expect(await journalOf(sb, 'subhost-netns@vl.service')).toContain(
        'CABLES: cannot create vl0.12: ip link add link vl0 name vl0.12 type vlan id 12: Error: Unknown device type. (this kernel has no 802.1Q VLAN support: CONFIG_VLAN_8021Q)',
      );
      await waitGone(sb, 'vl');
    }
    expect(await counts(sb)).toEqual(clean);
  });

  it('START services start in order and stop in reverse order', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'svc', 'BASE=.\nSTART=svc-a svc-b\n');
    for (const x of ['a', 'b']) {
      await sb.writeFile(
        `${s.base}/root/etc/init.d/svc-${x}`,
        `${[
          '#!/bin/sh',
          'case "$1" in',
          `start) echo "start ${x}" >> /var/tmp/order; setsid sleep 1000 </dev/null >/dev/null 2>&1 & ;;`,
          `stop) echo "stop ${x}" >> /var/tmp/order ;;`,
          'esac',
        ].join('\n')}\n`,
        0o755,
      );
    }
    await register(sb, s.conf);
    await startOk(sb, 'svc');
    expect(await sb.readFile(`${s.base}/root/var/tmp/order`)).toBe('start a\nstart b\n');
    expect(await stopSubhost(sb, 'svc')).toBe('done');
    expect(await sb.readFile(`${s.base}/root/var/tmp/order`)).toBe('start a\nstart b\nstop b\nstop a\n');
    expect(await counts(sb)).toEqual(clean);
  });

  it('SHARE in both forms, RAM_SIZE as a size and none', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'shr', 'BASE=.\nSTART=none\nSHARE=data\nSHARE=other:/mnt/other\nRAM_SIZE=10M\n', {
      dirs: ['root', 'work', 'live', 'data', 'other'],
    });
    const n = await makeSubhost(sb, 'noram', 'BASE=.\nSTART=none\nRAM_SIZE=none\n');
    await sb.writeFile(`${s.base}/data/hello`, 'from host\n');
    await register(sb, s.conf, n.conf);
    await startOk(sb, 'shr');
    expect((await inside(sb, 'shr', ['cat', `${s.base}/data/hello`])).stdout).toBe('from host\n');
    expect((await inside(sb, 'shr', ['sh', '-c', 'echo from inside > /mnt/other/x'])).exitCode).toBe(0);
    expect(await sb.readFile(`${s.base}/other/x`)).toBe('from inside\n');
    const run = (await inside(sb, 'shr', ['cat', '/proc/self/mountinfo'])).stdout.split('\n').find((l) => l.split(' ')[4] === '/run')!;
    expect(run).toMatch(/ - tmpfs tmpfs .*size=10240k/);
    await startOk(sb, 'noram');
    const mi = (await inside(sb, 'noram', ['cat', '/proc/self/mountinfo'])).stdout;
    expect(mi.split('\n').some((l) => l.split(' ')[4] === '/run')).toBe(false);
    expect(await stopSubhost(sb, 'shr')).toBe('done');
    expect(await stopSubhost(sb, 'noram')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it('systemctl kill -s KILL, and killing the reaper alone, end clean; the next start works', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'kil', 'BASE=.\nSTART=none\nCABLES==\n');
    await register(sb, s.conf);
    await startOk(sb, 'kil');
    expect((await sb.systemctl('kill', '-s', 'KILL', U('kil'))).exitCode).toBe(0);
    await waitGone(sb, 'kil');
    expect(await counts(sb)).toEqual(clean);
    await startOk(sb, 'kil');
    const pid = await mainPid(sb, 'kil');
    expect((await sb.run(['kill', '-KILL', String(pid)])).exitCode).toBe(0);
    await waitGone(sb, 'kil');
    expect(await counts(sb)).toEqual(clean);
    await startOk(sb, 'kil');
    expect(await stopSubhost(sb, 'kil')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });
});
