// The user commands (overlay-boot start/stop/status/list/enable/disable,
// overlay-stop, overlay-go, overlay-share) as installed in a sandbox
// systemd (/usr/sbin, like the .deb), run inside it, compared with what
// systemd itself reports over D-Bus.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox, RunResult } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, inside, mainPid, state, counts, waitGone, type Counts } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;
const UNIT = 'org.freedesktop.systemd1.Unit';
const SERVICE = 'org.freedesktop.systemd1.Service';
const UINT64_MAX = 18446744073709551615n;

/** A command as a user runs it, inside the sandbox. */
function cli(sb: Sandbox, argv: string[], opts: { input?: string } = {}): Promise<RunResult> {
  return sb.run(argv, { ...opts, timeoutMs: 60_000 });
}

async function ok(sb: Sandbox, argv: string[]): Promise<RunResult> {
  const r = await cli(sb, argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: exit ${r.exitCode}\n${r.stdout}${r.stderr}`);
  return r;
}

async function waitState(sb: Sandbox, unit: string, want: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while ((await state(sb, unit)) !== want) {
    if (Date.now() > end) throw new Error(`${unit} did not become ${want}: ${await state(sb, unit)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const usecIso = (v: unknown) => (BigInt(v as bigint) === 0n ? null : new Date(Number(BigInt(v as bigint) / 1000n)).toISOString());
const counter = (v: unknown) => (BigInt(v as bigint) === UINT64_MAX ? null : Number(v));

/** status --json of NAME against the unit's properties read over D-Bus. */
async function expectStatusMatchesSystemd(sb: Sandbox, s: Record<string, unknown>): Promise<void> {
  const unit = U(String(s.name));
  const active = String(await sb.unitProperty(unit, UNIT, 'ActiveState'));
  expect(s.state).toBe(active);
  expect(s.subState).toBe(String(await sb.unitProperty(unit, UNIT, 'SubState')));
  const pid = Number(await sb.unitProperty(unit, SERVICE, 'MainPID'));
  expect(s.mainPid).toBe(pid === 0 ? null : pid);
  const since = active === 'active' ? 'ActiveEnterTimestamp' : 'InactiveEnterTimestamp';
  expect(s.since).toBe(usecIso(await sb.unitProperty(unit, UNIT, since)));
  // Counters move between two reads: known-ness and type must agree.
  for (const [k, p] of [
    ['tasks', 'TasksCurrent'],
    ['memory', 'MemoryCurrent'],
    ['cpuNsec', 'CPUUsageNSec'],
  ] as const) {
    const v = counter(await sb.unitProperty(unit, SERVICE, p));
    if (v === null) expect(s[k]).toBeNull();
    else expect(typeof s[k]).toBe('number');
  }
}

describe('commands', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('start/stop an unregistered config by path (1.6 form) and by NAME; status reports what systemd reports', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'un1', 'BASE=.\nSTART=none\nCABLES==\n');
    let r = await ok(sb, ['overlay-boot', s.conf]);
    expect(r.stdout).toMatch(/^started subhost un1 \(subhost@un1\.service, PID \d+\)/);
    expect(await state(sb, U('un1'))).toBe('active');
    // Registered for this boot by the symlink the runtime's lookup finds.
    expect((await sb.run(['readlink', '/run/overlay-boot/registry/un1.conf'])).stdout.trim()).toBe(s.conf);
    expect((await inside(sb, 'un1', ['hostname'])).stdout.trim()).toBe('un1');

    r = await ok(sb, ['overlay-boot', 'status', '--json', 'un1']);
    const st = JSON.parse(r.stdout);
    await expectStatusMatchesSystemd(sb, st);
    expect(st).toMatchObject({
      name: 'un1',
      unit: U('un1'),
      state: 'active',
      config: s.conf,
      configFrom: expect.stringContaining('/run/overlay-boot/registry/un1.conf'),
    });
    // The veth's inside end, no loopback; no address is configured on it (START=none).
    expect(st.addresses).toEqual([]);
    await ok(sb, ['ip', '-n', 'un1', 'addr', 'add', '192.0.2.7/24', 'dev', 'eth0']);
    expect(JSON.parse((await ok(sb, ['overlay-boot', 'status', '--json', 'un1'])).stdout).addresses).toEqual([
      { ifname: 'eth0', family: 'inet', address: '192.0.2.7/24' },
    ]);
    r = await ok(sb, ['overlay-boot', 'status', 'un1']);
    expect(r.stdout).toMatch(/^State: +active \(running\)$/m);
    expect(r.stdout).toContain(`Main PID:  ${await mainPid(sb, 'un1')} `);
    expect(r.stdout).toContain('eth0 192.0.2.7/24');

    // Starting what runs already is fine.
    expect((await ok(sb, ['overlay-boot', 'start', 'un1'])).stdout).toContain('already running');

    r = await ok(sb, ['overlay-stop', 'un1']);
    expect(await state(sb, U('un1'))).toBe('inactive');
    expect(await state(sb, `subhost-netns@un1.service`)).toBe('inactive'); // waited for, not just queued
    r = await cli(sb, ['overlay-boot', 'status', '--json', 'un1']);
    expect(r.exitCode).toBe(3);
    const gone = JSON.parse(r.stdout);
    await expectStatusMatchesSystemd(sb, gone);
    expect(gone).toMatchObject({ state: 'inactive', mainPid: null, addresses: [] });
    expect(await counts(sb)).toEqual(clean);

    // By NAME now that it is registered for this boot; stopped by its path.
    await ok(sb, ['overlay-boot', 'start', 'un1']);
    expect(await state(sb, U('un1'))).toBe('active');
    await ok(sb, ['overlay-stop', s.conf]);
    expect(await state(sb, U('un1'))).toBe('inactive');
    r = await cli(sb, ['overlay-stop', 'un1']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('overlay-stop: un1 is not running\n');
    expect(await counts(sb)).toEqual(clean);
  });

  it('a config listed in /etc/subhosts.conf: start by NAME, stop by path; list; busctl has the same effect', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'reg1', 'BASE=.\nSTART=none\n');
    const idle = await makeSubhost(sb, 'reg2', 'BASE=.\nSTART=none\n');
    await register(sb, s.conf, idle.conf);
    await ok(sb, ['overlay-boot', 'start', 'reg1']);
    expect((await sb.run(['test', '-e', '/run/overlay-boot/registry/reg1.conf'])).exitCode).toBe(1);
    let st = JSON.parse((await ok(sb, ['overlay-boot', 'status', '--json', 'reg1'])).stdout);
    expect(st).toMatchObject({ state: 'active', config: s.conf, configFrom: '/etc/subhosts.conf:2' });

    // list: every subhost known (reg2 only listed, never started), as systemd reports them.
    const list = JSON.parse((await ok(sb, ['overlay-boot', 'list', '--json'])).stdout) as Record<string, unknown>[];
    expect(list.map((x) => x.name)).toEqual(expect.arrayContaining(['reg1', 'reg2']));
    for (const x of list) await expectStatusMatchesSystemd(sb, x);
    expect(list.find((x) => x.name === 'reg2')).toMatchObject({
      state: 'inactive',
      mainPid: null,
      config: idle.conf,
      configFrom: '/etc/subhosts.conf:3',
    });
    const table = (await ok(sb, ['overlay-boot', 'list'])).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME +STATE +SINCE +PID +TASKS +MEMORY +CPU +CONFIG +ADDRESSES$/);
    expect(table.find((l) => l.startsWith('reg1 '))).toMatch(
      new RegExp(`^reg1 +active \\(running\\) +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +${await mainPid(sb, 'reg1')} .*${s.conf}`),
    );
    expect(table.find((l) => l.startsWith('reg2 '))).toMatch(new RegExp(`^reg2 +inactive \\(dead\\) +- +- +- +- +- +${idle.conf} +-$`));
    // overlay-go without NAME: the running ones.
    expect((await ok(sb, ['overlay-go'])).stdout).toBe('Select subhost: reg1\n');

    await ok(sb, ['overlay-stop', s.conf]);
    expect(await state(sb, U('reg1'))).toBe('inactive');

    // Not ours: systemd's API through busctl, then our commands see the same.
    const bus = ['busctl', 'call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager'];
    await ok(sb, [...bus, 'StartUnit', 'ss', U('reg1'), 'replace']);
    await waitState(sb, U('reg1'), 'active');
    st = JSON.parse((await ok(sb, ['overlay-boot', 'status', '--json', 'reg1'])).stdout);
    await expectStatusMatchesSystemd(sb, st);
    expect((await ok(sb, ['overlay-go', 'reg1', '--', 'hostname'])).stdout).toBe('reg1\n');
    await ok(sb, [...bus, 'StopUnit', 'ss', U('reg1'), 'replace']);
    await waitGone(sb, 'reg1');
    expect((await cli(sb, ['overlay-boot', 'status', 'reg1'])).exitCode).toBe(3);
    expect(await counts(sb)).toEqual(clean);
  });

  it('start refuses a config with problems, a NAME taken by another config, an unknown NAME; a failed start shows the journal', async () => {
    const sb = sandbox();
    const bad = await makeSubhost(sb, 'bad1', 'BASE=.\nRAM_SIZE=big\nCABLES=eth\n');
    let r = await cli(sb, ['overlay-boot', 'start', bad.conf]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n')).toEqual([
      `${bad.conf}:2: RAM_SIZE: "big" must be a size such as 50M, 1G or 10%, or "none"`,
      `${bad.conf}:3: CABLES: entry "eth" is not of the form [bridge]=[mac|.vlan]`,
      `overlay-boot: not starting bad1: ${bad.conf} has 2 problems (above)`,
      '',
    ]);
    expect(await state(sb, U('bad1'))).toBe('inactive');

    r = await cli(sb, ['overlay-boot', 'start', 'nosuch']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^overlay-boot: no config for subhost nosuch: /);

    const own = await makeSubhost(sb, 'own3', 'BASE=.\nSTART=none\n');
    await register(sb, own.conf);
    const twin = await makeSubhost(sb, 'twin', 'NAME=own3\nBASE=.\nSTART=none\n');
    r = await cli(sb, ['overlay-boot', 'start', twin.conf]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      `overlay-boot: NAME own3 is taken: subhost@own3.service uses ${own.conf} (/etc/subhosts.conf:2); give ${twin.conf} another NAME=\n`,
    );

    const pf = await makeSubhost(sb, 'pf1', 'BASE=.\nSTART=none\nPREMOUNT=/bin/false\n');
    r = await cli(sb, ['overlay-boot', pf.conf]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /^overlay-boot: starting subhost@pf1\.service failed \(job result: failed\)\nsubhost@pf1\.service: result exit-code; its journal:\n {2}\S/,
    );
    expect(r.stderr).toContain('\n  overlay-boot-runtime: /bin/false failed (exit status 1)\n');
    await waitGone(sb, 'pf1');

    r = await cli(sb, ['overlay-boot', 'start', 'a', 'b']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^overlay-boot: start needs one NAME or CONF\nUsage:\n {2}overlay-boot start NAME\|CONF/);
    expect(await counts(sb)).toEqual(clean);
  });

  it("overlay-go: a command in the subhost, its exit status and stdin; its cgroup is the subhost's; stopping the subhost ends it", async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'go1', 'BASE=.\nSTART=none\n');
    await ok(sb, ['overlay-boot', 'start', s.conf]);
    expect((await cli(sb, ['overlay-go', 'go1', '--', 'hostname'])).stdout).toBe('go1\n');
    expect((await cli(sb, ['overlay-go', 'go1', '--', 'sh', '-c', 'exit 7'])).exitCode).toBe(7);
    expect((await cli(sb, ['overlay-go', 'go1', '--', 'sh', '-c', 'kill -TERM $$'])).exitCode).toBe(128 + 15);
    expect((await cli(sb, ['overlay-go', 'go1', '--', 'cat'], { input: 'through stdin\n' })).stdout).toBe('through stdin\n');
    // The shell, when no command is given: PID 1 inside is the reaper, the root is the subhost's.
    expect(
      (await cli(sb, ['overlay-go', 'go1'], { input: 'readlink /proc/1/exe; test -e /srv/subhosts/go1/go1.conf || echo own-root\n' }))
        .stdout,
    ).toBe('/.reaper\nown-root\n');
    let r = await cli(sb, ['overlay-go', 'nosuch', '--', 'true']);
    expect(r).toMatchObject({ exitCode: 1, stderr: 'overlay-go: nosuch is not running\n' });
    expect((await cli(sb, ['overlay-go', 'a', 'b'])).exitCode).toBe(2);

    // systemd moves processes only into units with Delegate=yes.
    const delegate = await sb.unitProperty(U('go1'), 'org.freedesktop.systemd1.Service', 'Delegate');
    if (!delegate) {
      r = await ok(sb, ['overlay-go', 'go1', '--', 'true']);
      expect(r.stderr).toContain(
        "overlay-go: warning: the shell is not in subhost@go1.service's cgroup: Process migration not available on non-delegated units. (the unit needs Delegate=yes)",
      );
      await ok(sb, ['overlay-stop', 'go1']);
      await sb.writeFile('/etc/systemd/system/subhost@.service.d/50-delegate.conf', '[Service]\nDelegate=yes\n');
      await sb.daemonReload();
      await ok(sb, ['overlay-boot', 'start', 'go1']);
    }
    const cgroup = String(await sb.unitProperty(U('go1'), 'org.freedesktop.systemd1.Service', 'ControlGroup'));
    // overlay-go (node) -> gate sh exec'd into subhost-go -> its setup child -> sleep:
    // find the sleep through /proc/PID/task/PID/children, look at its cgroup, then
    // stop the subhost under it.
    const script = [
      'overlay-go go1 -- sleep 300 & g=$!',
      'child() { cut -d" " -f1 /proc/$1/task/$1/children 2>/dev/null; }',
      's=; for i in $(seq 400); do',
      '  n=$(child $g); c=; s=',
      '  [ -n "$n" ] && c=$(child $n)',
      '  [ -n "$c" ] && s=$(child $c)',
      '  [ -n "$s" ] && [ "$(cat /proc/$s/comm 2>/dev/null)" = sleep ] && break',
      '  s=; sleep 0.05',
      'done',
      'echo "helper=$(cat /proc/$n/comm)"',
      'grep "^0::" /proc/$n/cgroup | sed "s/^/helper-cgroup=/"',
      'grep "^0::" /proc/$s/cgroup | sed "s/^/sleep-cgroup=/"',
      'overlay-stop go1; echo "stop=$?"',
      'wait $g; echo "go=$?"',
      'kill -0 $s 2>/dev/null && echo sleep-alive || echo sleep-gone',
    ].join('\n');
    const t0 = Date.now();
    r = await cli(sb, ['sh', '-c', script]);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual([
      'helper=subhost-go',
      `helper-cgroup=0::${cgroup}`,
      `sleep-cgroup=0::${cgroup}`,
      'stop=0',
      expect.stringMatching(/^go=(137|143)$/),
      'sleep-gone',
    ]);
    expect(Date.now() - t0).toBeLessThan(20_000);
    await waitGone(sb, 'go1');
    expect(await counts(sb)).toEqual(clean);
  });

  it('overlay-share: a host directory inside, read and write; errors; a symlink inside cannot redirect the mount', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'sh1', 'BASE=.\nSTART=none\n', { dirs: ['root', 'work', 'live', 'data'] });
    const data = `${s.base}/data`;
    await sb.writeFile(`${data}/hello`, 'from host\n');
    await ok(sb, ['overlay-boot', 'start', s.conf]);

    // Same path inside by default (the subhost cannot see the sandbox's /srv/subhosts tmpfs otherwise).
    expect((await inside(sb, 'sh1', ['test', '-e', `${data}/hello`])).exitCode).toBe(1);
    await ok(sb, ['overlay-share', data, 'sh1']);
    expect((await inside(sb, 'sh1', ['cat', `${data}/hello`])).stdout).toBe('from host\n');
    expect((await inside(sb, 'sh1', ['sh', '-c', `echo from inside > ${data}/back`])).exitCode).toBe(0);
    expect(await sb.readFile(`${data}/back`)).toBe('from inside\n');
    // Another path inside, created; read-only.
    await ok(sb, ['overlay-share', '--ro', data, 'sh1', '/mnt/a/b']);
    expect((await inside(sb, 'sh1', ['cat', '/mnt/a/b/hello'])).stdout).toBe('from host\n');
    const ro = await inside(sb, 'sh1', ['sh', '-c', 'echo x > /mnt/a/b/nope']);
    expect(ro.exitCode).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    // None of it shows in the sandbox's (the host's) own mount table.
    expect((await sb.run(['cat', '/proc/1/mountinfo'])).stdout).not.toContain('/mnt/a/b');

    // Symlinks planted inside point "outside": /tmp/obt-out exists in the sandbox
    // (its own tmpfs) and, as a different directory, in the subhost.
    await ok(sb, ['mkdir', '/tmp/obt-out']);
    await inside(sb, 'sh1', [
      'sh',
      '-c',
      'mkdir -p /tmp/obt-out /mnt/links && ln -s /tmp/obt-out /mnt/links/abs && ln -s ../../../../../../../tmp/obt-out /mnt/links/rel && ln -s /proc/1/root/tmp /mnt/links/magic',
    ]);
    await ok(sb, ['overlay-share', data, 'sh1', '/mnt/links/abs']);
    expect((await inside(sb, 'sh1', ['cat', '/tmp/obt-out/hello'])).stdout).toBe('from host\n');
    await ok(sb, ['overlay-share', data, 'sh1', '/mnt/links/rel/sub']);
    expect((await inside(sb, 'sh1', ['cat', '/tmp/obt-out/sub/hello'])).stdout).toBe('from host\n');
    expect((await sb.run(['ls', '-A', '/tmp/obt-out'])).stdout).toBe('');
    const hostMounts = (await sb.run(['cat', '/proc/1/mountinfo'])).stdout;
    expect(hostMounts).not.toContain('obt-out');
    const r = await cli(sb, ['overlay-share', data, 'sh1', '/mnt/links/magic/x']);
    expect(r).toMatchObject({
      exitCode: 1,
      stderr: 'overlay-share: /mnt/links/magic/x inside the subhost goes through a /proc magic link\n',
    });

    // Errors (independent: side by side).
    await inside(sb, 'sh1', ['sh', '-c', 'touch /mnt/file && ln -s /nowhere /mnt/dangling']);
    const errors: [string[], number, string | RegExp][] = [
      [[data, 'nosuch'], 1, 'overlay-share: nosuch is not running\n'],
      [[s.conf, 'sh1'], 1, `overlay-share: not a directory: ${s.conf}\n`],
      [[`${s.base}/absent`, 'sh1'], 1, `overlay-share: ${s.base}/absent: no such directory\n`],
      [[data, 'sh1', '/mnt/file'], 1, 'overlay-share: /mnt/file inside the subhost is not a directory\n'],
      [[data, 'sh1', '/mnt/dangling'], 1, 'overlay-share: cannot create /mnt/dangling: a dangling symlink is in the way\n'],
      [['--no-mkdir', data, 'sh1', '/mnt/new'], 1, 'overlay-share: /mnt/new does not exist inside the subhost (use --mkdir)\n'],
      [[data, 'sh1', 'relative'], 2, /^overlay-share: PATH must be an absolute path inside the subhost: relative\nUsage:/],
      [[data], 2, /^overlay-share: missing NAME \(running subhosts: sh1\)\nUsage:/],
    ];
    const results = await Promise.all(errors.map(([argv]) => cli(sb, ['overlay-share', ...argv])));
    errors.forEach(([argv, code, err], i) => {
      expect(results[i]!.exitCode, argv.join(' ')).toBe(code);
      if (typeof err === 'string') expect(results[i]!.stderr).toBe(err);
      else expect(results[i]!.stderr).toMatch(err);
    });

    await ok(sb, ['overlay-stop', 'sh1']);
    await ok(sb, ['rmdir', '/tmp/obt-out']);
    expect(await counts(sb)).toEqual(clean);
  });

  it('enable/disable edit /etc/subhosts.conf (comments kept, no duplicates) and reload: the generator picks it up', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'en1', 'BASE=.\nSTART=none\n');
    const other = await makeSubhost(sb, 'en2', 'BASE=.\nSTART=none\n');
    const before = `# kept comment\n${other.conf}   # en2, kept\n\n`;
    await sb.writeFile('/etc/subhosts.conf', before);
    let r = await ok(sb, ['overlay-boot', 'enable', s.conf]);
    expect(r.stdout).toBe(`enabled subhost en1: ${s.conf} added to /etc/subhosts.conf\n`);
    expect(await sb.readFile('/etc/subhosts.conf')).toBe(`${before}${s.conf}\n`);
    // daemon-reload ran: the generator's drop-in names the config.
    expect(await sb.unitProperty(U('en1'), SERVICE, 'Environment')).toContain(`OVERLAY_BOOT_CONF=${s.conf}`);
    r = await ok(sb, ['overlay-boot', 'enable', s.conf]);
    expect(r.stdout).toContain('already enabled');
    expect(await sb.readFile('/etc/subhosts.conf')).toBe(`${before}${s.conf}\n`);

    await ok(sb, ['overlay-boot', 'start', 'en1']);
    const st = JSON.parse((await ok(sb, ['overlay-boot', 'status', '--json', 'en1'])).stdout);
    expect(st).toMatchObject({ state: 'active', config: s.conf, configFrom: '/etc/subhosts.conf (generated unit)' });

    const twin = await makeSubhost(sb, 'twin2', 'NAME=en1\nBASE=.\n');
    r = await cli(sb, ['overlay-boot', 'enable', twin.conf]);
    expect(r).toMatchObject({
      exitCode: 1,
      stderr: `overlay-boot: NAME en1 is already used by ${s.conf} (/etc/subhosts.conf:4); give ${twin.conf} another NAME=\n`,
    });
    const badConf = await makeSubhost(sb, 'bad2', 'BASE=.\nRAM_SIZE=big\n');
    r = await cli(sb, ['overlay-boot', 'enable', badConf.conf]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${badConf.conf}:2: RAM_SIZE:`);

    r = await ok(sb, ['overlay-boot', 'disable', 'en1']);
    expect(r.stdout).toBe(`disabled: ${s.conf} removed from /etc/subhosts.conf\n`);
    expect(await sb.readFile('/etc/subhosts.conf')).toBe(before);
    expect(await sb.unitProperty(U('en1'), SERVICE, 'Environment')).not.toContain(`OVERLAY_BOOT_CONF=${s.conf}`);
    expect(await state(sb, U('en1'))).toBe('active'); // disable does not stop
    r = await ok(sb, ['overlay-boot', 'disable', other.conf]);
    expect(await sb.readFile('/etc/subhosts.conf')).toBe('# kept comment\n\n');
    r = await ok(sb, ['overlay-boot', 'disable', other.conf]);
    expect(r.stderr).toContain('is not listed in /etc/subhosts.conf; nothing to do');

    await ok(sb, ['overlay-boot', 'stop', 'en1']);
    expect(await counts(sb)).toEqual(clean);
  });

  it('every command has --help with a synopsis, and exits 2 on a bad call', async () => {
    const sb = sandbox();
    const helps = [
      ['overlay-boot'],
      ['overlay-go'],
      ['overlay-stop'],
      ['overlay-share'],
      ...['start', 'stop', 'status', 'list', 'enable', 'disable', 'check'].map((c) => ['overlay-boot', c]),
    ];
    const bad = [
      ['overlay-boot', 'frobnicate'],
      ['overlay-stop'],
      ['overlay-stop', '--bogus', 'x'],
      ['overlay-go', '--bogus'],
      ['overlay-share', '--bogus'],
      ['overlay-boot', 'list', 'x'],
      ['overlay-boot', 'status', 'a', 'b'],
      ['overlay-boot', 'enable'],
    ];
    // Independent calls, run side by side (each is a Node start-up).
    const [h, b, name] = await Promise.all([
      Promise.all(helps.map((argv) => cli(sb, [...argv, '--help']))),
      Promise.all(bad.map((argv) => cli(sb, argv))),
      cli(sb, ['overlay-boot', 'status', 'Bad/Name']),
    ]);
    helps.forEach((argv, i) => {
      expect(h[i]!.exitCode, argv.join(' ')).toBe(0);
      expect(h[i]!.stdout, argv.join(' ')).toMatch(/^Usage:/);
    });
    bad.forEach((argv, i) => {
      expect(b[i]!.exitCode, argv.join(' ')).toBe(2);
      expect(b[i]!.stderr, argv.join(' ')).toMatch(new RegExp(`^${argv[0]}: .*\\n(.*\\n)*Usage:`));
    });
    expect(name).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/^overlay-boot: "Bad\/Name" is not a subhost NAME: /) });
  });
});
