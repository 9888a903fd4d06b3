// Issue 13, as a 1.6 user meets it: a subhost started with `overlay-boot
// CONF` (not listed in /etc/subhosts.conf) gets every systemd-side
// setting of its config, as one started at boot does; START entries that
// fail or hang are named (journal and command) while the subhost stays
// up; and a start that does not leave a running subhost is never
// reported as started.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox, RunResult } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, inside, state, counts, journalOf, waitGone, until, mainPid, type Counts } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;

function cli(sb: Sandbox, argv: string[]): Promise<RunResult> {
  return sb.run(argv, { timeoutMs: 90_000 });
}

/** `systemctl show` of the given properties, as a map. */
async function show(sb: Sandbox, unit: string, props: string[]): Promise<Record<string, string>> {
  const r = await sb.systemctl('show', '-p', props.join(','), unit);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function stop(sb: Sandbox, name: string): Promise<void> {
  await cli(sb, ['overlay-stop', name]);
  await waitGone(sb, name);
  await sb.systemctl('reset-failed');
}

describe('1.6 upgrade: settings, START results, real success', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('systemd keys of a config started with `overlay-boot CONF` apply (systemctl show agrees with check), also for systemctl start', async () => {
    const sb = sandbox();
    const keys = 'MEMORY_MAX=100M\nTASKS_MAX=77\nTIMEOUT_START=33s\nTIMEOUT_STOP=7s\nCPU_WEIGHT=50\nIO_WEIGHT=60\nAFTER=other1\n';
    const s = await makeSubhost(sb, 'set1', `BASE=.\nSTART=none\nCABLES==\n${keys}`);

    let r = await cli(sb, ['overlay-boot', 'check', s.conf]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(
      'systemd settings on subhost@set1.service: AFTER (After=), MEMORY_MAX (MemoryMax=), CPU_WEIGHT (CPUWeight=), IO_WEIGHT (IOWeight=), TASKS_MAX (TasksMax=), TIMEOUT_START (TimeoutStartSec=), TIMEOUT_STOP (TimeoutStopSec=)',
    );
    expect(r.stdout).toContain(
      "apply through overlay-boot start's runtime drop-in /run/systemd/system/subhost@set1.service.d/50-overlay-boot-start.conf",
    );

    r = await cli(sb, ['overlay-boot', s.conf]);
    expect(r.exitCode, r.stderr).toBe(0);
    const want = {
      MemoryMax: String(100 * 1024 * 1024),
      TasksMax: '77',
      TimeoutStartUSec: '33s',
      TimeoutStopUSec: '7s',
      CPUWeight: '50',
      IOWeight: '60',
    };
    expect(await show(sb, U('set1'), Object.keys(want))).toEqual(want);
    expect((await show(sb, U('set1'), ['After'])).After!.split(' ')).toContain('subhost@other1.service');
    // Stopped and started again by systemctl during this boot: the same settings.
    await stop(sb, 'set1');
    expect((await sb.systemctl('start', U('set1'))).exitCode).toBe(0);
    expect(await show(sb, U('set1'), Object.keys(want))).toEqual(want);
    await stop(sb, 'set1');

    // Listed in /etc/subhosts.conf (overlay-boot enable): the generator's drop-in carries them, the runtime one is gone.
    const dropin = '/run/systemd/system/subhost@set1.service.d/50-overlay-boot-start.conf';
    expect((await sb.run(['test', '-e', dropin])).exitCode).toBe(0);
    expect((await cli(sb, ['overlay-boot', 'enable', s.conf])).exitCode).toBe(0);
    expect((await sb.run(['test', '-e', dropin])).exitCode).toBe(1);
    r = await cli(sb, ['overlay-boot', 'check', s.conf]);
    expect(r.stdout).toContain("apply through the generator's drop-in (set1 is listed in /etc/subhosts.conf:");
    r = await cli(sb, ['overlay-boot', 'start', 'set1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await show(sb, U('set1'), Object.keys(want))).toEqual(want);
    await stop(sb, 'set1');
    await sb.run(['rm', '-f', '/etc/subhosts.conf']);
    await sb.daemonReload();
    expect(await counts(sb)).toEqual(clean);
  }, 120_000);

  it('START entries that fail or hang: named in the journal and by the command, the subhost stays up (contained)', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'st1', 'BASE=.\nCABLES==\nSTART=/bin/false nosuch /usr/local/bin/hang /bin/true\nSTART_TIMEOUT=2s\n');
    // In UPPER: the subhost sees it at /usr/local/bin/hang. It ignores
    // SIGTERM (so does its sleep): only the SIGKILL that follows ends it.
    await sb.run(['mkdir', '-p', `${s.base}/root/usr/local/bin`]);
    await sb.writeFile(`${s.base}/root/usr/local/bin/hang`, '#!/bin/sh\ntrap "" TERM\necho hanging >&2\nsleep 1000\n', 0o755);

    const r = await cli(sb, ['overlay-boot', s.conf]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^started subhost st1 \(subhost@st1\.service, PID \d+\)/);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning:'));
    expect(warnings).toEqual([
      'overlay-boot: warning: START entry /bin/false of subhost st1 failed (exit status 1); the subhost runs on',
      'overlay-boot: warning: START entry nosuch of subhost st1 failed (exit status 1); the subhost runs on',
      'overlay-boot: warning: START entry /usr/local/bin/hang of subhost st1 failed (did not finish within 2s (START_TIMEOUT); it was stopped); the subhost runs on',
    ]);
    expect(await state(sb, U('st1'))).toBe('active');
    const log = await journalOf(sb, U('st1'));
    expect(log).toContain('overlay-boot: /bin/false failed (exit status 1)');
    expect(log).toContain('overlay-boot: nosuch failed (exit status 1)');
    expect(log).toContain('overlay-boot: /usr/local/bin/hang did not finish within 2s (START_TIMEOUT): stopped it, carrying on');
    expect(log).toContain('overlay-boot: /bin/true started');
    // The hanging entry is gone; the subhost still runs: its reaper holds the dummy service.
    const ps = await inside(sb, 'st1', ['ps', '-eo', 'args']);
    expect(ps.stdout).not.toContain('sleep 1000');
    expect(ps.stdout.trim().split('\n').slice(1)).toEqual(['/.reaper st1', 'ps -eo args']);
    expect((await inside(sb, 'st1', ['ls', '-l', '/proc/1/fd/'])).stdout).toContain('/run/dummy_service');
    await stop(sb, 'st1');
    await sb.run(['rm', '-rf', `${s.base}/root/usr`]);
    expect(await counts(sb)).toEqual(clean);
  }, 120_000);

  it('a REAPER that does not exist: the start fails with the reason, never "started ... PID 0"; a custom REAPER that exists runs', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'rp1', 'BASE=.\nSTART=none\nCABLES==\nREAPER=/no/such/reaper\n');
    let r = await cli(sb, ['overlay-boot', s.conf]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).not.toContain('started');
    expect(r.stderr).toContain('overlay-boot: REAPER /no/such/reaper is not an executable file inside the subhost');
    expect(await state(sb, U('rp1'))).toBe('failed');
    await waitGone(sb, 'rp1');
    await sb.systemctl('reset-failed');

    // 1.6 allowed any program as REAPER; one that exists is the subhost's PID 1.
    const t = await makeSubhost(sb, 'rp2', 'BASE=.\nSTART=none\nCABLES==\nREAPER=/usr/local/bin/myreaper\nTIMEOUT_STOP=3s\n');
    await sb.run(['mkdir', '-p', `${t.base}/root/usr/local/bin`]);
    await sb.writeFile(`${t.base}/root/usr/local/bin/myreaper`, '#!/bin/sh\nexec sleep 1000\n', 0o755);
    r = await cli(sb, ['overlay-boot', t.conf]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^started subhost rp2 \(subhost@rp2\.service, PID [1-9]\d*\)/);
    expect((await inside(sb, 'rp2', ['cat', '/proc/1/cmdline'])).stdout).toBe('sleep\u00001000\u0000');
    // It cannot hold the dummy service: 1.6's sh does.
    expect((await inside(sb, 'rp2', ['ps', '-eo', 'comm'])).stdout.split('\n')).toContain('dummy_service');
    await stop(sb, 'rp2');
    await sb.run(['rm', '-rf', `${t.base}/root/usr`]);
    expect(await counts(sb)).toEqual(clean);
  }, 120_000);
  it('the dummy service: the reaper holds /run/dummy_service; writing to it ends a subhost with nothing else running, not one running a service', async () => {
    const sb = sandbox();
    // A daemon: /usr/local/bin/bg leaves a sleep running and returns.
    const s = await makeSubhost(sb, 'dm1', 'BASE=.\nCABLES==\nSTART=/usr/local/bin/bg\n');
    await sb.run(['mkdir', '-p', `${s.base}/root/usr/local/bin`]);
    await sb.writeFile(`${s.base}/root/usr/local/bin/bg`, '#!/bin/sh\nsleep 1000 </dev/null >/dev/null 2>&1 &\n', 0o755);
    const r = await cli(sb, ['overlay-boot', s.conf]);
    expect(r.exitCode, r.stderr).toBe(0);
    const held = async () => (await inside(sb, 'dm1', ['sh', '-c', 'ls -l /proc/1/fd | grep -c /run/dummy_service'])).stdout.trim();
    expect(await held()).toBe('1');
    expect((await inside(sb, 'dm1', ['ps', '-eo', 'comm'])).stdout.split('\n')).not.toContain('dummy_service');

    // Written while a service runs: the dummy service ends, the subhost stays.
    expect((await inside(sb, 'dm1', ['sh', '-c', 'echo > /run/dummy_service'])).exitCode).toBe(0);
    await until('the reaper lets go of /run/dummy_service', async () => (await held()) === '0');
    expect(await state(sb, U('dm1'))).toBe('active');
    expect(await journalOf(sb, U('dm1'))).toContain('reaper[dm1]: /run/dummy_service was written to: dummy service ended');
    // Then the last process ends, and so does the subhost, as in 1.6.
    expect((await inside(sb, 'dm1', ['pkill', '-x', 'sleep'])).exitCode).toBe(0);
    await waitGone(sb, 'dm1');
    expect(await state(sb, U('dm1'))).toBe('inactive');

    // START=none: nothing but the reaper, up until the FIFO is written.
    await sb.writeFile(s.conf, 'BASE=.\nCABLES==\nSTART=none\n');
    expect((await cli(sb, ['overlay-boot', s.conf])).exitCode).toBe(0);
    expect(await held()).toBe('1');
    const procs = await sb.run([
      'sh',
      '-c',
      'for p in $(cat /sys/fs/cgroup/subhost.slice/subhost@dm1.service/cgroup.procs); do echo "$p $(cat /proc/$p/comm)"; done',
    ]);
    // And, outside the subhost, the relay of its console and syslog.
    const reaper1 = await mainPid(sb, 'dm1');
    expect(
      procs.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\d+ /, (p) => (p === `${reaper1} ` ? 'MAIN ' : ''))),
    ).toEqual(expect.arrayContaining(['MAIN .reaper', 'subhost-relay']));
    expect(procs.stdout.trim().split('\n')).toHaveLength(2);
    // Written from outside the subhost's pid namespace: a writer inside is
    // killed with everything else when the reaper (its PID 1) exits.
    const reaper = await mainPid(sb, 'dm1');
    expect((await sb.run(['sh', '-c', `: > /proc/${reaper}/root/run/dummy_service`])).exitCode).toBe(0);
    await waitGone(sb, 'dm1');
    expect(await state(sb, U('dm1'))).toBe('inactive');
    await sb.run(['rm', '-rf', `${s.base}/root/usr`]);
    expect(await counts(sb)).toEqual(clean);
  }, 120_000);
});
