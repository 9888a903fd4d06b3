// Start plans: the generator's plan starts a registered subhost without
// Node.js; the runtime keeps a plan after computing one; editing the
// config makes both stale, and the next start follows the edit.
import { describe, it, expect } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, inside, stopSubhost, journalOf } from './kit.js';

const COMPUTING = 'no valid start plan for';
const journalCount = async (sb: Sandbox, unit: string) =>
  (await journalOf(sb, unit)).split('\n').filter((l) => l.includes(COMPUTING)).length;

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
    // Neither unit ran Node.js: no process of the runtime was ever in their cgroups' logs.
    expect(await journalOf(sb, 'subhost-netns@gp.service')).not.toContain('overlay-boot-runtime');
    expect(await stopSubhost(sb, 'gp')).toBe('done');
  });

  it('the runtime keeps the plan it computed; an edited config is followed at the next start', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'rp', 'BASE=.\nSTART=none\nRAM_SIZE=10M\n');
    await register(sb, s.conf); // no daemon-reload: no generator plan
    expect(await sb.startUnit('subhost@rp.service')).toBe('done');
    expect(await journalCount(sb, 'subhost@rp.service')).toBe(1);
    expect((await sb.run(['test', '-f', '/run/overlay-boot/plans/rp.start'])).exitCode).toBe(0);
    expect(await stopSubhost(sb, 'rp')).toBe('done');

    expect(await sb.startUnit('subhost@rp.service')).toBe('done');
    expect(await journalCount(sb, 'subhost@rp.service')).toBe(1); // the kept plan ran
    expect(await stopSubhost(sb, 'rp')).toBe('done');

    await sb.writeFile(s.conf, 'BASE=.\nSTART=none\nRAM_SIZE=20M\n', 0o644);
    expect(await sb.startUnit('subhost@rp.service')).toBe('done');
    expect(await journalCount(sb, 'subhost@rp.service')).toBe(2); // stale: computed again
    const run = (await inside(sb, 'rp', ['cat', '/proc/self/mountinfo'])).stdout.split('\n').find((l) => l.split(' ')[4] === '/run')!;
    expect(run).toContain('size=20480k');
    expect(await stopSubhost(sb, 'rp')).toBe('done');
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
  });
});
