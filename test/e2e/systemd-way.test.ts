// The conventions of systemd's own container tools, under a real systemd:
// subhost@ is Type=notify (READY=1 with the reaper as MAINPID=, STATUS=
// lines) on both start paths, PID 1 inside has container= (and not the
// notify socket), the C helpers' errors carry a syslog priority, and the
// host ends of cables keep their MAC across restarts.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import {
  useInstalledSandbox,
  makeSubhost,
  register,
  inside,
  mainPid,
  counts,
  journalOf,
  stopSubhost,
  waitGone,
  startOk,
  ok,
  type Counts,
} from './kit.js';

const U = (n: string) => `subhost@${n}.service`;

/** systemctl show's KEY=VALUE lines as an object. */
async function show(sb: Sandbox, unit: string, props: string[]): Promise<Record<string, string>> {
  const out = await ok(sb.systemctl('show', unit, '-p', props.join(',')));
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Two init.d services that start a daemon each. */
async function twoServices(sb: Sandbox, base: string): Promise<void> {
  for (const x of ['a', 'b']) {
    await sb.writeFile(
      `${base}/root/etc/init.d/svc-${x}`,
      `#!/bin/sh\ncase "$1" in\nstart) setsid sleep 1000 </dev/null >/dev/null 2>&1 & ;;\nesac\n`,
      0o755,
    );
  }
}

describe('systemd conventions', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('Type=notify on the plan path: the reaper is the main process, STATUS says what started', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'ntf', 'BASE=.\nSTART=svc-a svc-b\n');
    await twoServices(sb, s.base);
    await register(sb, s.conf);
    // The generator writes the start plan: ExecStart's subhost-enter runs it and notifies itself.
    await sb.daemonReload();
    await startOk(sb, 'ntf');
    expect(await show(sb, U('ntf'), ['Type', 'NotifyAccess', 'StatusText', 'ActiveState'])).toEqual({
      Type: 'notify',
      NotifyAccess: 'main',
      StatusText: 'running 2 services',
      ActiveState: 'active',
    });
    const pid = await mainPid(sb, 'ntf');
    expect((await ok(sb.run(['cat', `/proc/${pid}/comm`]))).trim()).toBe('.reaper');
    // The plan ran natively (no runtime), and systemd refused no message.
    const journal = await journalOf(sb, U('ntf'));
    expect(journal).not.toContain('overlay-boot-runtime');
    expect(journal).not.toMatch(/notification message from PID/i);
    // The reaper is systemd's own child when it becomes the main process:
    // systemd waits for it after SIGTERM (the graceful stop) instead of
    // sending SIGKILL right away, as it does to a main process it did not fork.
    expect(journal).not.toMatch(/not our child/);
    expect(await stopSubhost(sb, 'ntf')).toBe('done');
    expect(await show(sb, U('ntf'), ['ActiveState', 'Result'])).toEqual({ ActiveState: 'inactive', Result: 'success' });
    expect(await journalOf(sb, U('ntf'))).toContain('reaper[ntf]: got SIGTERM');
    expect(await counts(sb)).toEqual(clean);
  });

  it('Type=notify on the runtime path: the helper speaks for the runtime (NotifyAccess=main holds)', async () => {
    const sb = sandbox();
    // A custom hook: the Node.js runtime starts it, running subhost-enter as its child.
    const s = await makeSubhost(sb, 'ntr', 'BASE=.\nSTART=svc-a\nPOSTMOUNT=/bin/true\n');
    await twoServices(sb, s.base);
    await register(sb, s.conf);
    await sb.daemonReload();
    await startOk(sb, 'ntr');
    expect(await show(sb, U('ntr'), ['Type', 'NotifyAccess', 'StatusText'])).toEqual({
      Type: 'notify',
      NotifyAccess: 'main',
      StatusText: 'running 1 service',
    });
    expect((await ok(sb.run(['cat', `/proc/${await mainPid(sb, 'ntr')}/comm`]))).trim()).toBe('.reaper');
    expect(await journalOf(sb, U('ntr'))).not.toMatch(/notification message from PID|not our child/i);
    expect(await stopSubhost(sb, 'ntr')).toBe('done');
    expect(await show(sb, U('ntr'), ['ActiveState', 'Result'])).toEqual({ ActiveState: 'inactive', Result: 'success' });
    expect(await counts(sb)).toEqual(clean);
  });

  it('PID 1 inside has container=overlay-boot, not the notify socket; systemd-detect-virt says container', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'virt', 'BASE=.\nSTART=none\n');
    await register(sb, s.conf);
    await startOk(sb, 'virt');
    const env = (await ok(inside(sb, 'virt', ['cat', '/proc/1/environ']))).split('\0');
    expect(env).toContain('container=overlay-boot');
    expect(env.filter((e) => /^(NOTIFY_SOCKET|OVERLAY_BOOT_MAIN_PID)=/.test(e))).toEqual([]);
    const virt = await inside(sb, 'virt', ['systemd-detect-virt', '--container']);
    expect({ code: virt.exitCode, out: virt.stdout.trim() }).toEqual({ code: 0, out: 'container-other' });
    expect((await show(sb, U('virt'), ['StatusText'])).StatusText).toBe('running, no START services');
    expect(await stopSubhost(sb, 'virt')).toBe('done');
    // The reaper's stop lines: subhost@ reads no "<N>" (SyslogLevelPrefix=no), so none is written.
    const log = await ok(sb.run(['journalctl', '--no-pager', '-o', 'cat', '-u', U('virt')]));
    expect(log).toMatch(/^reaper\[virt\]: /m);
    expect(log).not.toMatch(/^<\d>/m);
    expect(await counts(sb)).toEqual(clean);
  });

  it("the C helpers' errors are at priority err where the unit reads priorities (subhost-netns@); subhost@ reads none, so no line shows a raw prefix", async () => {
    const sb = sandbox();
    // subhost@ has SyslogLevelPrefix=no (a "<0>" from inside must not be an
    // emergency): subhost-enter's error is there, at info, without "<3>".
    const s = await makeSubhost(sb, 'perr', 'BASE=.\nSTART=none\n', { dirs: ['root', 'work'] });
    await register(sb, s.conf);
    await sb.daemonReload();
    expect(await sb.startUnit(U('perr'))).not.toBe('done');
    await waitGone(sb, 'perr');
    const line = `LIVE: ${s.base}/live is not a directory`;
    const all = await ok(sb.run(['journalctl', '--no-pager', '-o', 'cat', '-u', U('perr')]));
    expect(all).toContain(line);
    expect(all).not.toMatch(/^<\d>/m);
    // subhost-netns@ reads priorities: its error is at err, systemd's
    // "Starting ..." (info) is filtered out, so the filter is real.
    const n = await makeSubhost(sb, 'perrn', 'BASE=.\nSTART=none\nCABLES=nosuchbr9=\n');
    await register(sb, n.conf);
    await sb.daemonReload();
    expect(await sb.startUnit(U('perrn'))).not.toBe('done');
    await waitGone(sb, 'perrn');
    const netns = 'subhost-netns@perrn.service';
    const nall = await ok(sb.run(['journalctl', '--no-pager', '-o', 'cat', '-u', netns]));
    const nerrs = await ok(sb.run(['journalctl', '--no-pager', '-o', 'cat', '-p', 'err', '-u', netns]));
    expect(nerrs).toContain('bridge nosuchbr9 for perrn0 does not exist');
    expect(nall).toMatch(/Starting subhost-netns@perrn\.service/);
    expect(nerrs).not.toMatch(/Starting subhost-netns@perrn\.service/);
    expect(nerrs).not.toMatch(/^<\d>/m);
    expect(await counts(sb)).toEqual(clean);
  });

  it('the host end of a cable keeps its MAC across restarts, locally administered; the subhost end as configured', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'mac', 'BASE=.\nSTART=none\nCABLES== =02:00:00:00:00:43\n');
    await register(sb, s.conf);
    const macs = async () => {
      await startOk(sb, 'mac');
      const host = await ok(sb.run(['sh', '-c', 'cat /sys/class/net/mac0/address /sys/class/net/mac1/address']));
      const inner = await ok(inside(sb, 'mac', ['cat', '/sys/class/net/eth1/address']));
      expect(await stopSubhost(sb, 'mac')).toBe('done');
      return { host: host.trim().split('\n'), inner: inner.trim() };
    };
    const first = await macs();
    const second = await macs();
    expect(second).toEqual(first);
    expect(first.inner).toBe('02:00:00:00:00:43');
    expect(first.host[0]).not.toBe(first.host[1]);
    for (const m of first.host) {
      // Unicast (bit 0 clear), locally administered (bit 1 set).
      expect(Number.parseInt(m.slice(0, 2), 16) & 3).toBe(2);
    }
    expect(await counts(sb)).toEqual(clean);
  });
});
