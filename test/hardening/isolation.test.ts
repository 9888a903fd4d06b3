// Isolation seen from inside a subhost: the host's mounts, processes,
// network interfaces and namespaces can neither be seen nor entered, and
// symlinks the subhost plants cannot make a host-side step act outside it.
import { describe, it, expect } from 'vitest';
import { useInstalledSandbox, makeSubhost, register, inside, stopSubhost } from '../e2e/kit.js';

describe('isolation', () => {
  const { sandbox } = useInstalledSandbox();

  it('host mounts, processes, interfaces and namespaces are out of reach', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'iso', 'BASE=.\nSTART=none\nCABLES==\n');
    await register(sb, s.conf);
    expect(await sb.startUnit('subhost@iso.service')).toBe('done');
    const sh = async (cmd: string) => await inside(sb, 'iso', ['sh', '-c', cmd]);

    // Processes: only the subhost's; PID 1 is the reaper; no systemd, journald or dbus.
    const comms = (await sh('cat /proc/[0-9]*/comm')).stdout;
    expect(comms).not.toMatch(/^(systemd|systemd-journal|dbus-daemon)$/m);
    // /proc/1/root is the subhost's own root: the conf (in the sandbox, outside LIVE) is not there.
    expect((await sh(`test -e /proc/1/root${s.conf}`)).exitCode).toBe(1);
    // Every process's namespaces are the subhost's.
    const ns = (await sh('for p in /proc/[0-9]*; do readlink $p/ns/mnt $p/ns/pid $p/ns/net; done | sort -u | wc -l')).stdout.trim();
    expect(Number(ns)).toBe(3);
    // nsenter into "PID 1" from inside lands in the subhost again (net included).
    const links = (await sh('nsenter -t 1 -m -n ip -o link show')).stdout;
    expect(links).toContain('eth0');
    expect(links).not.toContain('iso0');
    // Its pid namespace belongs to the host's user namespace
    // (CONTAINMENT=private-users, overlay-boot.conf(5)): root inside
    // cannot enter it again, let alone another.
    expect((await sh('nsenter -t 1 -p true')).stderr).toContain('Operation not permitted');
    // Host interfaces are not visible; sysfs is read-only.
    expect((await sh('ip -o link show')).stdout).not.toMatch(/iso0|obr|: lo@/);
    expect((await sh('echo 1 > /sys/class/net/lo/mtu')).exitCode).not.toBe(0);
    // The host's mount table does not leak: only the subhost's own mount points.
    const points = (await sh('cat /proc/self/mountinfo')).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[4])
      .sort();
    // (Below /proc: CONTAINMENT=contained's read-only binds and masks, tried in escape.test.ts.)
    expect(
      points.filter(
        (p) =>
          !['/', '/.reaper', '/dev', '/dev/console', '/dev/pts', '/etc/adjtime', '/proc', '/run', '/sys'].includes(p!) &&
          !p!.startsWith('/proc/'),
      ),
    ).toEqual([]);
    expect(await stopSubhost(sb, 'iso')).toBe('done');
  });

  it('symlinks planted in UPPER cannot make SHARE or PREMOUNT act outside the subhost', async () => {
    const sb = sandbox();
    // Host-side directories a malicious subhost would like us to write into.
    await sb.run(['mkdir', '-p', '/srv/victim', '/srv/victim2']);
    const s = await makeSubhost(sb, 'sym', 'BASE=.\nSTART=none\nSHARE=data:/srv/x/data\n', { dirs: ['root', 'work', 'live', 'data'] });
    // UPPER/srv/x -> /srv/victim (absolute: resolved on the host by a naive mkdir -p),
    // UPPER/etc/network -> /srv/victim2 (PREMOUNT writes interfaces there).
    await sb.run([
      'sh',
      '-c',
      `mkdir -p ${s.base}/root/srv ${s.base}/root/etc && ln -s /srv/victim ${s.base}/root/srv/x && ln -s /srv/victim2 ${s.base}/root/etc/network`,
    ]);
    await register(sb, s.conf);
    const r = await sb.startUnit('subhost@sym.service');
    // Whatever happens inside (the links resolve within the subhost), the host is untouched.
    expect((await sb.run(['ls', '-A', '/srv/victim', '/srv/victim2'])).stdout.replace(/\s+/g, ' ').trim()).toBe(
      '/srv/victim: /srv/victim2:',
    );
    if (r === 'done') {
      // Resolved as the subhost sees its own links: /srv/x -> /srv/victim inside it.
      await sb.writeFile(`${s.base}/data/f`, 'shared\n');
      expect((await inside(sb, 'sym', ['cat', '/srv/victim/data/f'])).stdout).toBe('shared\n');
      expect(await stopSubhost(sb, 'sym')).toBe('done');
    }
    expect((await sb.run(['ls', '-A', '/srv/victim', '/srv/victim2'])).stdout.replace(/\s+/g, ' ').trim()).toBe(
      '/srv/victim: /srv/victim2:',
    );
  });
});
