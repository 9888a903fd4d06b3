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
    // Only a syslog socket, and /dev/log pointing at it; not the native
    // one. Contained, it is the relay's (native/relay.c), not the host's.
    expect((await ok(inside(sb, 'mk1', ['ls', '/run/systemd/journal']))).trim()).toBe('dev-log');
    expect((await ok(inside(sb, 'mk1', ['readlink', '/dev/log']))).trim()).toBe('/run/systemd/journal/dev-log');
    const hostSocket = (await ok(sb.run(['stat', '-c', '%d:%i', '/run/systemd/journal/dev-log']))).trim();
    expect((await ok(inside(sb, 'mk1', ['stat', '-c', '%d:%i', '/run/systemd/journal/dev-log']))).trim()).not.toBe(hostSocket);
    // In the subhosts' own slice, with nspawn@'s task limit (no TASKS_MAX given).
    expect(await ok(sb.run(['systemctl', 'show', '-p', 'Slice,TasksMax,RestrictRealtime', 'subhost@mk1.service']))).toBe(
      'Slice=subhost.slice\nTasksMax=16384\nRestrictRealtime=yes\n',
    );
    await relayedToTheJournal(sb, 'mk1');
    await upperOutOfReach(sb, 'mk1');
  });

  /**
   * What the subhost's relay does (issue 20): /dev/console is a pty of its
   * own devpts (major 136), not the host's console (5:1), and what is
   * written to it is in the unit's journal, at info even when it starts
   * with "<1>" (SyslogLevelPrefix=no); a syslog line at alert reaches
   * journald as the unit's at crit: no line from inside is ever an
   * emergency, which journald walls to every host terminal.
   */
  async function relayedToTheJournal(sb: Sandbox, name: string) {
    expect((await ok(inside(sb, name, ['stat', '-c', '%t', '/dev/console']))).trim()).toBe('88');
    await ok(sb.run(['overlay-go', name, '--', 'sh', '-c', 'echo "<1>console line from inside" > /dev/console']), 'console');
    await ok(sb.run(['overlay-go', name, '--', 'logger', '-p', 'user.alert', '-t', 'capped', 'alert from inside']), 'logger');
    // Raw datagrams from a process that outlives them (and logger's, above,
    // from one that does not): each is the unit's, named by its own IDENT[PID].
    // Also the forms of "<PRI>" journald reads (1 to 3 digits), each
    // capped with its facility kept; a line without one is journald's
    // user.info. (Through the relay, emerg is harmless: it arrives as crit.)
    const lines = [
      '<14>credtest: from a live sender',
      '<0>edge0: a',
      '<000>edge1: b',
      '<8>edge2: c',
      '<25>edge3: d',
      '<191>edge4: e',
      'edge5: f',
    ];
    const perl = `use Socket; socket(S, AF_UNIX, SOCK_DGRAM, 0) or die; for my $l (${lines.map((l) => `'${l}'`).join(', ')}) { send(S, $l, 0, pack_sockaddr_un("/dev/log")) or die } sleep 2`;
    await ok(sb.run(['overlay-go', name, '--', 'perl', '-e', perl]), 'perl');
    const entries = async () =>
      (await sb.run(['journalctl', '--no-pager', '-o', 'json', '-u', `subhost@${name}.service`])).stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, string>);
    await until('the console line and the capped one in the journal', async () => {
      const e = await entries();
      return (
        ['capped', 'credtest', 'edge5'].every((t) => e.some((x) => x.SYSLOG_IDENTIFIER === t)) &&
        e.some((x) => x.MESSAGE === '<1>console line from inside')
      );
    });
    const e = await entries();
    expect(e.find((x) => x.MESSAGE === '<1>console line from inside')).toMatchObject({ PRIORITY: '6' });
    expect(e.find((x) => x.SYSLOG_IDENTIFIER === 'capped')).toMatchObject({
      MESSAGE: 'alert from inside',
      PRIORITY: '2',
      _SYSTEMD_UNIT: `subhost@${name}.service`,
    });
    expect(e.find((x) => x.SYSLOG_IDENTIFIER === 'credtest')).toMatchObject({
      PRIORITY: '6',
      _COMM: 'subhost-relay',
      _SYSTEMD_UNIT: `subhost@${name}.service`,
    });
    const pf = (id: string) => {
      const x = e.find((y) => y.SYSLOG_IDENTIFIER === id);
      // (journald leaves SYSLOG_FACILITY out for facility 0, kern.)
      return `${x?.PRIORITY}/${x ? (x.SYSLOG_FACILITY ?? '0') : '-'}`;
    };
    expect(['edge0', 'edge1', 'edge2', 'edge3', 'edge4', 'edge5'].map(pf)).toEqual(['2/0', '2/0', '2/1', '2/3', '7/23', '6/1']);
  }

  /**
   * A setuid-root binary the subhost writes lands in UPPER as it is; BASE
   * is root's alone (create makes it 0700), so no host user reaches it.
   * A BASE as create made it before (0755): it runs as root for anyone,
   * and check warns about it.
   */
  async function upperOutOfReach(sb: Sandbox, name: string) {
    const base = `${sb.dataDir}/${name}`;
    await ok(sb.run(['overlay-go', name, '--', 'sh', '-c', 'cp /usr/bin/id /var/tmp/suid-id && chmod 4755 /var/tmp/suid-id']), 'setuid');
    // Through sh: setpriv itself keeps root's capabilities until its exec.
    const asNobody = () =>
      sb.run([
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        'sh',
        '-c',
        'exec "$0" -u',
        `${base}/root/var/tmp/suid-id`,
      ]);
    const check = () => sb.run(['overlay-boot', 'check', `${base}/${name}.conf`]);
    const denied = await asNobody();
    const modes = (await sb.run(['stat', '-c', '%a %U %n', base, `${base}/root`, `${base}/root/var/tmp/suid-id`])).stdout;
    expect(denied.exitCode, `${denied.stdout}${denied.stderr}${modes}`).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);
    expect((await check()).stderr).not.toMatch(/reachable/);
    await ok(sb.run(['chmod', '755', base]));
    try {
      expect((await asNobody()).stdout.trim()).toBe('0');
      const warned = (await check()).stderr.trim().split('\n');
      expect(warned).toContain(
        `${base}/${name}.conf: warning: UPPER ${base}/root is reachable by users other than root (every directory down to it lets them search it; ` +
          `the last, ${base}, is mode 0755 owner 0): what the subhost writes there (setuid files, device nodes) is theirs to run or open; chmod 700 ${base} closes it`,
      );
      // Only warned about: check changes nothing.
      expect((await ok(sb.run(['stat', '-c', '%a', base]))).trim()).toBe('755');
    } finally {
      await ok(sb.run(['chmod', '700', base]));
    }
  }

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
    // Its /dev/console is its own pty too (1.6 made it the host's 5:1).
    expect((await ok(inside(sb, 'mk2', ['stat', '-c', '%t', '/dev/console']))).trim()).toBe('88');
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
