// Start plans: the generator's plan starts a registered subhost without
// Node.js; the runtime keeps a plan after computing one; editing the
// config makes both stale, and the next start follows the edit, with the
// runtime run once (in the netns unit, which keeps both plans);
// `overlay-boot start` keeps them before its StartUnit, so that neither
// unit runs the runtime.
import { describe, it, expect } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, inside, stopSubhost, journalOf } from './kit.js';

const COMPUTING = 'no valid start plan for';
const journalCount = async (sb: Sandbox, unit: string, what = COMPUTING) =>
  (await journalOf(sb, unit)).split('\n').filter((l) => l.includes(what)).length;
/** Runs of the Node.js runtime in subhost NAME's two units: each says that it computes. */
const runtimeRuns = async (sb: Sandbox, name: string) =>
  (await journalCount(sb, `subhost@${name}.service`)) +
  (await journalCount(sb, `subhost-netns@${name}.service`, 'no valid netns plan for'));
const cli = (sb: Sandbox, argv: string[]) => sb.run(argv, { timeoutMs: 90_000 });
/** The size option of the subhost's /run tmpfs, as its mountinfo shows it. */
const runSize = async (sb: Sandbox, name: string) =>
  /size=(\d+k)/.exec(
    (await inside(sb, name, ['cat', '/proc/self/mountinfo'])).stdout.split('\n').find((l) => l.split(' ')[4] === '/run')!,
  )?.[1];

describe('start plans', () => {
  const { sandbox } = useInstalledSandbox();

  it("a registered subhost starts from the generator's plan, without the runtime", async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'gp', 'BASE=.\nSTART=none\nCABLES==\n');
    await register(sb, s.conf);
    await sb.daemonReload();
    expect((await sb.run(['ls', '/run/systemd/generator/overlay-boot'])).stdout.split('\n')).toEqual(
      expect.arrayContaining(['gp.netns', 'gp.start']),
    );
    expect(await sb.startUnit('subhost@gp.service')).toBe('done');
    expect((await inside(sb, 'gp', ['hostname'])).stdout.trim()).toBe('gp');
    expect(await journalCount(sb, 'subhost@gp.service')).toBe(0);
    // Neither unit ran Node.js: the runtime says so in each unit's journal when it computes.
    expect(await runtimeRuns(sb, 'gp')).toBe(0);
    expect(await journalOf(sb, 'subhost-netns@gp.service')).not.toContain('overlay-boot-runtime');
    expect(await stopSubhost(sb, 'gp')).toBe('done');
  });

  it('the runtime keeps the plans it computed, once per edit; an edited config is followed at the next start', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'rp', 'BASE=.\nSTART=none\nRAM_SIZE=10M\n');
    await register(sb, s.conf); // no daemon-reload: no generator plan
    expect(await sb.startUnit('subhost@rp.service')).toBe('done');
    // The netns unit computed both plans: the subhost unit found its own.
    expect(await journalCount(sb, 'subhost-netns@rp.service', 'no valid netns plan for rp: computing one')).toBe(1);
    expect(await journalCount(sb, 'subhost@rp.service')).toBe(0);
    expect((await sb.run(['test', '-f', '/run/overlay-boot/plans/rp.start'])).exitCode).toBe(0);
    expect((await sb.run(['test', '-f', '/run/overlay-boot/plans/rp.netns'])).exitCode).toBe(0);
    expect(await stopSubhost(sb, 'rp')).toBe('done');

    expect(await sb.startUnit('subhost@rp.service')).toBe('done');
    expect(await runtimeRuns(sb, 'rp')).toBe(1); // the kept plans ran
    expect(await stopSubhost(sb, 'rp')).toBe('done');

    await sb.writeFile(s.conf, 'BASE=.\nSTART=none\nRAM_SIZE=20M\n', 0o644);
    expect(await sb.startUnit('subhost@rp.service')).toBe('done');
    expect(await runtimeRuns(sb, 'rp')).toBe(2); // stale: computed again, once
    expect(await runSize(sb, 'rp')).toBe('20480k');
    expect(await stopSubhost(sb, 'rp')).toBe('done');
  });

  it('overlay-boot CONF keeps both plans before the start: neither unit runs the runtime, also after an edit', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'op', 'BASE=.\nSTART=none\nRAM_SIZE=10M\nCABLES==\n');
    let r = await cli(sb, ['overlay-boot', s.conf]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await runtimeRuns(sb, 'op')).toBe(0);
    // It did start, cables and all, from those plans.
    expect((await inside(sb, 'op', ['cat', '/sys/class/net/eth0/operstate'])).exitCode).toBe(0);
    expect((await sb.run(['test', '-e', '/sys/class/net/op0'])).exitCode).toBe(0);
    expect(await runSize(sb, 'op')).toBe('10240k');
    expect(await stopSubhost(sb, 'op')).toBe('done');

    await sb.writeFile(s.conf, 'BASE=.\nSTART=none\nRAM_SIZE=20M\nCABLES==\n', 0o644);
    r = await cli(sb, ['overlay-boot', 'start', 'op']);
    expect(r.exitCode).toBe(0);
    expect(await runtimeRuns(sb, 'op')).toBe(0);
    expect(await runSize(sb, 'op')).toBe('20480k');
    expect(await stopSubhost(sb, 'op')).toBe('done');

    // Edited, then started by systemctl: the runtime runs once.
    await sb.writeFile(s.conf, 'BASE=.\nSTART=none\nRAM_SIZE=30M\nCABLES==\n', 0o644);
    expect(await sb.startUnit('subhost@op.service')).toBe('done');
    expect(await runtimeRuns(sb, 'op')).toBe(1);
    expect(await runSize(sb, 'op')).toBe('30720k');
    expect(await stopSubhost(sb, 'op')).toBe('done');
    await sb.run(['rm', '-f', '/run/overlay-boot/registry/op.conf']);
  });

  it('a config edited after the netns unit kept both plans: the subhost unit follows the edit', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'ep', 'BASE=.\nSTART=none\nRAM_SIZE=10M\n');
    // The edit lands between the two units: right after the netns unit's start.
    await sb.writeFile(`${s.base}/edited`, 'BASE=.\nSTART=none\nRAM_SIZE=20M\n', 0o644);
    const dropin = '/run/systemd/system/subhost-netns@ep.service.d/edit.conf';
    await sb.run(['mkdir', '-p', '/run/systemd/system/subhost-netns@ep.service.d']);
    await sb.writeFile(dropin, `[Service]\nExecStartPost=/bin/cp ${s.base}/edited ${s.conf}\n`, 0o644);
    await sb.daemonReload();
    await register(sb, s.conf); // after the reload: no generator plan
    try {
      expect(await sb.startUnit('subhost@ep.service')).toBe('done');
      expect(await journalCount(sb, 'subhost-netns@ep.service', 'no valid netns plan for ep: computing one')).toBe(1);
      expect(await journalCount(sb, 'subhost@ep.service', 'no valid start plan for ep: computing one')).toBe(1);
      expect(await runSize(sb, 'ep')).toBe('20480k');
      expect(await stopSubhost(sb, 'ep')).toBe('done');
    } finally {
      await sb.run(['rm', '-rf', '/run/systemd/system/subhost-netns@ep.service.d']);
      await sb.daemonReload();
    }
  });

  it('a config with a !command is never started from a kept plan', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'cp', 'BASE=.\nSTART=none\nLOWER=!echo /\n');
    await register(sb, s.conf);
    await sb.daemonReload();
    expect((await sb.run(['test', '-e', '/run/systemd/generator/overlay-boot/cp.start'])).exitCode).toBe(1);
    for (let i = 1; i <= 2; i++) {
      expect(await sb.startUnit('subhost@cp.service')).toBe('done');
      expect(await journalCount(sb, 'subhost@cp.service')).toBe(i);
      expect(await stopSubhost(sb, 'cp')).toBe('done');
    }
    expect((await sb.run(['test', '-e', '/run/overlay-boot/plans/cp.start'])).exitCode).toBe(1);
    // Nor by overlay-boot start: the subhost unit computes it again.
    expect((await cli(sb, ['overlay-boot', 'start', 'cp'])).exitCode).toBe(0);
    expect(await journalCount(sb, 'subhost@cp.service')).toBe(3);
    expect((await sb.run(['test', '-e', '/run/overlay-boot/plans/cp.start'])).exitCode).toBe(1);
    expect(await stopSubhost(sb, 'cp')).toBe('done');
  });
});
