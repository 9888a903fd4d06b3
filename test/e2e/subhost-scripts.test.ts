// The subhost-side init scripts of the package (subhost-scripts/, installed
// in /usr/share/overlay-boot/subhost-scripts): each one run as a START
// service inside a real subhost, the way an admin sets them up (a link in
// the subhost's /etc/init.d, settings in its /etc/default).
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, inside, journalOf, stopSubhost, counts, type Counts, ok, startOk } from './kit.js';

const SCRIPTS = '/usr/share/overlay-boot/subhost-scripts';
const U = (n: string) => `subhost@${n}.service`;

/** Link a packaged script into the subhost's /etc/init.d, as the man page says. */
async function linkScript(sb: Sandbox, upper: string, script: string): Promise<void> {
  await ok(sb.run(['mkdir', '-p', `${upper}/etc/init.d`]));
  await ok(sb.run(['ln', '-s', `${SCRIPTS}/${script}`, `${upper}/etc/init.d/${script}`]));
}

/** An init.d script of the test's own: plain sh, `$1` = start|stop. */
async function initScript(sb: Sandbox, upper: string, name: string, start: string): Promise<void> {
  await sb.writeFile(`${upper}/etc/init.d/${name}`, `#!/bin/sh\ncase "$1" in\nstart) ${start} ;;\nesac\nexit 0\n`, 0o755);
}

describe('subhost scripts as START services', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('devnodes: nodes, links and directories made in /dev survive a restart; mounts below /dev are not saved', async () => {
    const sb = sandbox();
    // mknod inside needs the host's CAP_MKNOD: not in a user namespace
    // (CONTAINMENT=private-users, the default), so the fence alone.
    const s = await makeSubhost(sb, 'dvn', 'BASE=.\nSTART=devnodes\nCONTAINMENT=contained\n');
    await linkScript(sb, `${s.base}/root`, 'devnodes');
    await register(sb, s.conf);

    await startOk(sb, 'dvn');
    expect(await sb.run(['test', '-e', `${s.base}/root/.devnodes.tgz`]).then((r) => r.exitCode)).toBe(1);
    await ok(
      inside(sb, 'dvn', [
        'sh',
        '-c',
        'mknod /dev/obt-null c 1 3 && ln -s obt-null /dev/obt-link && mkdir /dev/obt-dir && mknod /dev/obt-dir/zero c 1 5',
      ]),
    );
    expect(await stopSubhost(sb, 'dvn')).toBe('done');

    // Saved by the stop (through the reaper's `service devnodes stop`), atomically.
    const list = (await ok(sb.run(['tar', '-tzf', `${s.base}/root/.devnodes.tgz`]))).split('\n');
    expect(list).toEqual(expect.arrayContaining(['./obt-null', './obt-link', './obt-dir/zero', './null']));
    expect(list.filter((l) => l.startsWith('./pts/') && l !== './pts/')).toEqual([]);
    expect((await ok(sb.run(['sh', '-c', `ls -a ${s.base}/root`]))).split('\n').filter((f) => f.startsWith('.devnodes.tgz.'))).toEqual([]);

    // A fresh /dev at the next start, with the saved nodes back in it.
    await startOk(sb, 'dvn');
    expect((await ok(inside(sb, 'dvn', ['stat', '-c', '%F %t:%T', '/dev/obt-null', '/dev/obt-dir/zero']))).trim().split('\n')).toEqual([
      'character special file 1:3',
      'character special file 1:5',
    ]);
    expect((await ok(inside(sb, 'dvn', ['readlink', '/dev/obt-link']))).trim()).toBe('obt-null');
    // What the start made itself is left alone (devpts is the subhost's own).
    expect((await ok(inside(sb, 'dvn', ['sh', '-c', 'echo x > /dev/obt-null && stat -f -c %T /dev/pts']))).trim()).toBe('devpts');
    expect(await ok(inside(sb, 'dvn', ['service', 'devnodes', 'status']))).toMatch(/^\/\.devnodes\.tgz: saved .*, \d+ entries$/m);
    expect(await stopSubhost(sb, 'dvn')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it('wait-online: returns as soon as the gateway answers; gives up after WAIT_ONLINE_TIMEOUT when it does not', async () => {
    const sb = sandbox();
    // The host end of wol's cable is the gateway (TEST-NET-1, RFC 5737, in the sandbox's own netns).
    await sb.writeFile('/etc/network/interfaces.d/ob-wol', 'iface wol0 inet static\n    address 192.0.2.1/24\n');
    const mk = async (name: string, gw: string) => {
      const s = await makeSubhost(sb, name, 'BASE=.\nCABLES==\nSTART=netcfg wait-online after\n');
      const up = `${s.base}/root`;
      await linkScript(sb, up, 'wait-online');
      await initScript(
        sb,
        up,
        'netcfg',
        `ip addr add 192.0.2.2/24 dev eth0 && ip link set eth0 up && ip route add default via ${gw} && date +%s > /var/tmp/t0`,
      );
      await initScript(sb, up, 'after', 'date +%s > /var/tmp/t1');
      await sb.writeFile(`${up}/etc/default/wait-online`, 'WAIT_ONLINE_TIMEOUT=3\n');
      return s;
    };
    const on = await mk('wol', '192.0.2.1');
    const off = await mk('wof', '192.0.2.99'); // nobody: no ARP answer, no ping answer
    await register(sb, on.conf, off.conf);
    const elapsed = async (base: string) =>
      Number(await sb.readFile(`${base}/root/var/tmp/t1`)) - Number(await sb.readFile(`${base}/root/var/tmp/t0`));

    await startOk(sb, 'wol');
    expect(await elapsed(on.base)).toBeLessThan(3);
    expect(await journalOf(sb, U('wol'))).toMatch(/Waiting until gateway 192\.0\.2\.1 on eth0 answers/);
    expect((await inside(sb, 'wol', ['service', 'wait-online', 'status'])).stdout).toContain('gateway 192.0.2.1 answers');

    const t = Date.now();
    await startOk(sb, 'wof');
    expect(Date.now() - t).toBeGreaterThanOrEqual(3000);
    expect(await elapsed(off.base)).toBeGreaterThanOrEqual(3);
    expect(await elapsed(off.base)).toBeLessThan(10);
    expect(await journalOf(sb, U('wof'))).toContain('(no answer after 3s)');

    expect(await stopSubhost(sb, 'wol')).toBe('done');
    expect(await stopSubhost(sb, 'wof')).toBe('done');
    await sb.run(['rm', '/etc/network/interfaces.d/ob-wol']);
    expect(await counts(sb)).toEqual(clean);
  });

  it('wait-online without a default route does not wait', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'wnr', 'BASE=.\nSTART=wait-online\n');
    await linkScript(sb, `${s.base}/root`, 'wait-online');
    await register(sb, s.conf);
    const t = Date.now();
    await startOk(sb, 'wnr');
    expect(Date.now() - t).toBeLessThan(5000);
    expect(await journalOf(sb, U('wnr'))).toContain('No default route: not waiting');
    expect(await stopSubhost(sb, 'wnr')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });
});
