// Daily use (issue 16): a subhost made, enabled and started with one
// `overlay-boot create`, answering ssh over its cable, and sshd's own log
// line for that login in the host's journal under subhost@NAME
// (`journalctl -u subhost@NAME -t sshd`), contained (the default) and
// with CONTAINMENT=none; `create` refusing a bad value with check's line
// and leaving nothing behind; `remove` keeping a non-empty UPPER unless
// --purge.
import { describe, it, expect, afterAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, inside, state, stopSubhost, counts, ok, until, containmentOf, sshArgv } from './kit.js';

describe('overlay-boot create / remove', () => {
  const { sandbox, clean } = useInstalledSandbox();
  let key: string;

  afterAll(async () => {
    // Only when a test failed half-way: each test removes its subhost itself.
    const sb = sandbox();
    if (sb.stopped) return;
    for (const n of ['mk1', 'mk2']) if ((await state(sb, `subhost@${n}.service`)) === 'active') await stopSubhost(sb, n);
  });

  /** ssh over the cable as root with the test's key. */
  const ssh = (sb: Sandbox, addr: string, command: string) => sb.run(sshArgv(key, addr, command));

  /**
   * `overlay-boot create --enable --now` of NAME with one cable and
   * START=ssh (LOWER: the sandbox's root, whose root may log in with the
   * test's key); the subhost end of the cable gets its address from the
   * sandbox side (ip -n: START has no networking), then ssh over it and
   * sshd's line for that login in `journalctl -u subhost@NAME -t sshd`.
   */
  async function createAndLogIn(sb: Sandbox, name: string, hostAddr: string, subAddr: string, extra: string[]) {
    const base = `${sb.dataDir}/${name}`;
    await sb.writeFile(`/etc/network/interfaces.d/ob-${name}`, `iface ${name}0 inet static\n    address ${hostAddr}/24\n`);
    const out = await ok(
      sb.run(['overlay-boot', 'create', '--base', base, '--cable', '=', '--start', 'ssh', ...extra, '--enable', '--now', name]),
      'create',
    );
    expect(out).toContain(`created subhost ${name}: ${base}/${name}.conf (UPPER ${base}/root)\n`);
    expect(out).toContain(`enabled subhost ${name}: ${base}/${name}.conf added to /etc/subhosts.conf\n`);
    expect(out).toMatch(new RegExp(`^started subhost ${name} \\(subhost@${name}\\.service, PID \\d+\\)$`, 'm'));
    expect(await state(sb, `subhost@${name}.service`)).toBe('active');
    // The config it wrote, as check reads it.
    expect(await ok(sb.run(['overlay-boot', 'check', `${base}/${name}.conf`]), 'check')).toMatch(/^START\s+ssh\s+line \d+: START=ssh$/m);
    await ok(sb.run(['ip', '-n', name, 'addr', 'add', `${subAddr}/24`, 'dev', 'eth0']));
    await ok(sb.run(['ip', '-n', name, 'link', 'set', 'eth0', 'up']));
    expect(await ok(ssh(sb, subAddr, 'echo "$(id -un) on $(cat /proc/sys/kernel/hostname)"'), 'ssh')).toBe(`root on ${name}\n`);
    // sshd's own line (through the subhost's /dev/log), attributed by
    // journald to the subhost's unit and filtered by its identifier.
    const journal = async () =>
      (await sb.run(['journalctl', '--no-pager', '-o', 'cat', '-u', `subhost@${name}.service`, '-t', 'sshd'])).stdout;
    await until(`sshd's line in the journal of subhost@${name}`, async () => (await journal()).includes(`from ${hostAddr}`));
    expect(await journal()).toMatch(new RegExp(`^Accepted publickey for root from ${hostAddr.replace(/\./g, '\\.')} port \\d+ ssh2`, 'm'));
    return base;
  }

  it('create --enable --now: a default (private-users) subhost answers ssh over its cable; sshd logs to the journal as subhost@NAME', async () => {
    const sb = sandbox();
    key = `${sb.dataDir}/create-key`;
    await ok(sb.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'obt-create-test', '-f', key]), 'ssh-keygen');
    await ok(sb.run(['install', '-d', '-m', '700', '/root/.ssh']));
    await sb.writeFile('/root/.ssh/authorized_keys', await sb.readFile(`${key}.pub`), 0o600);
    await createAndLogIn(sb, 'mk1', '192.0.2.1', '192.0.2.2', []);
    // private-users (the default: the config does not say): the reaper and
    // sshd show it (CAP_SYS_ADMIN of its own user namespace, the filter).
    const contained = { sysAdmin: true, seccomp: 2 };
    expect(containmentOf(await ok(inside(sb, 'mk1', ['cat', '/proc/1/status'])))).toEqual(contained);
    expect(await ok(inside(sb, 'mk1', ['cat', '/proc/1/uid_map']))).toMatch(/^\s*0\s+[1-9][0-9]+\s+65536\s*$/);
    const sshd = (await ok(inside(sb, 'mk1', ['cat', '/run/sshd.pid']))).trim();
    expect(containmentOf(await ok(inside(sb, 'mk1', ['cat', `/proc/${sshd}/status`])))).toEqual(contained);
    // Only the syslog socket, read-only (root inside cannot chmod the
    // host's), and /dev/log pointing at it; not the native one.
    expect((await ok(inside(sb, 'mk1', ['ls', '/run/systemd/journal']))).trim()).toBe('dev-log');
    expect((await ok(inside(sb, 'mk1', ['readlink', '/dev/log']))).trim()).toBe('/run/systemd/journal/dev-log');
    const chmod = await inside(sb, 'mk1', ['chmod', '600', '/run/systemd/journal/dev-log']);
    expect(chmod.stderr).toMatch(/Read-only file system/);
  });

  it('remove without --purge stops and unregisters it, and keeps its UPPER', async () => {
    const sb = sandbox();
    const base = `${sb.dataDir}/mk1`;
    await sb.writeFile(`${base}/root/kept-by-remove`, 'data\n');
    const out = await ok(sb.run(['overlay-boot', 'remove', 'mk1']), 'remove');
    expect(out).toContain('stopped subhost mk1\n');
    expect(out).toContain(`kept UPPER ${base}/root: it holds what the subhost wrote (overlay-boot remove --purge mk1 removes it)\n`);
    expect(await state(sb, 'subhost@mk1.service')).not.toBe('active');
    expect(await sb.readFile('/etc/subhosts.conf')).not.toContain(`${base}/mk1.conf`);
    expect((await sb.run(['ls', '-A', base])).stdout.trim()).toBe('root');
    expect(await sb.readFile(`${base}/root/kept-by-remove`)).toBe('data\n');
    await ok(sb.run(['rm', '-rf', base, '/etc/network/interfaces.d/ob-mk1']));
  });

  it('the same with CONTAINMENT=none, then remove --purge takes UPPER too and says so', async () => {
    const sb = sandbox();
    // journald's per-unit rate limit, made small for this unit (a drop-in;
    // create's enable reloads systemd before the start).
    const dropIn = '/run/systemd/system/subhost@mk2.service.d';
    await ok(sb.run(['mkdir', '-p', dropIn]));
    await sb.writeFile(`${dropIn}/50-test-ratelimit.conf`, '[Service]\nLogRateLimitIntervalSec=1s\nLogRateLimitBurst=20\n');
    const base = await createAndLogIn(sb, 'mk2', '192.0.2.5', '192.0.2.6', ['--containment', 'none']);
    // A flood through /dev/log is cut by it. journald says so, naming the
    // unit, with the first line it takes once the interval is over.
    // (overlay-go: its processes are in the subhost's cgroup, nsenter's are not.)
    await ok(sb.run(['overlay-go', 'mk2', '--', 'sh', '-c', 'seq 1 3000 | logger -t flood']), 'flood');
    const suppressed = async () => {
      await sb.run(['overlay-go', 'mk2', '--', 'logger', '-t', 'flood', 'after']);
      return (await sb.run(['journalctl', '--no-pager', '-o', 'cat', '-t', 'systemd-journald'])).stdout;
    };
    await until('journald suppressing the flood', async () =>
      /Suppressed \d+ messages from subhost@mk2\.service/.test(await suppressed()),
    ).catch(async (e) => {
      const n = (
        await sb.run([
          'sh',
          '-c',
          'journalctl -o cat -u subhost@mk2.service -t flood | wc -l; journalctl -o cat -t systemd-journald | tail; systemctl show -p LogRateLimitBurst,LogRateLimitIntervalUSec subhost@mk2.service',
        ])
      ).stdout;
      throw new Error(`${e}\n${n}`);
    });
    const kept = (await sb.run(['journalctl', '--no-pager', '-o', 'cat', '-u', 'subhost@mk2.service', '-t', 'flood'])).stdout;
    expect(kept.split('\n').filter(Boolean).length).toBeLessThan(3000);
    expect(containmentOf(await ok(inside(sb, 'mk2', ['cat', '/proc/1/status'])))).toEqual({ sysAdmin: true, seccomp: 0 });
    // Root inside is root on the host here: the native socket too.
    expect((await ok(inside(sb, 'mk2', ['ls', '/run/systemd/journal']))).trim().split('\n')).toEqual(['dev-log', 'socket']);
    // By its config file this time (NAME works the same: the first remove).
    const out = await ok(sb.run(['overlay-boot', 'remove', '--purge', `${base}/mk2.conf`]), 'remove --purge');
    expect(out).toMatch(new RegExp(`^purged UPPER ${base}/root \\(\\d+ files and directories the subhost wrote\\)$`, 'm'));
    expect(out).toContain('removed subhost mk2\n');
    expect((await sb.run(['test', '-e', base])).exitCode).toBe(1);
    await ok(sb.run(['rm', '-rf', '/etc/network/interfaces.d/ob-mk2', '/root/.ssh/authorized_keys', dropIn]));
    await sb.daemonReload();
    expect(await counts(sb)).toEqual(clean());
  });
});
