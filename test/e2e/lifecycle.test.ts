// subhost@NAME.service under a real systemd: start and stop as 1.6 did,
// driven over D-Bus, and what the subhost looks like from inside.
import { describe, it, expect, beforeAll } from 'vitest';
import { useSandbox } from '../sandbox/vitest.js';
import { installUnits, makeSubhost, register, inside, mainPid, state, counts, journalOf, type Counts } from './kit.js';

describe('subhost lifecycle', () => {
  const sandbox = useSandbox();
  let clean: Counts;
  beforeAll(async () => {
    await installUnits(sandbox());
    clean = await counts(sandbox());
  });

  it('starts and stops a subhost with only BASE=.', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'ex1', 'BASE=.\n');
    await register(sb, s.conf);
    const r = await sb.startUnit('subhost@ex1.service');
    if (r !== 'done') throw new Error(`start: ${r}\n${await journalOf(sb, 'subhost@ex1.service')}\n${await journalOf(sb, 'subhost-netns@ex1.service')}`);
    expect(await state(sb, 'subhost@ex1.service')).toBe('active');
    const pid1 = await inside(sb, 'ex1', ['readlink', '/proc/1/exe']);
    expect(pid1.stdout.trim()).toBe('/.reaper');
    expect((await inside(sb, 'ex1', ['hostname'])).stdout.trim()).toBe('ex1');
    expect(await sb.stopUnit('subhost@ex1.service')).toBe('done');
    expect(await state(sb, 'subhost@ex1.service')).toBe('inactive');
    expect(await counts(sb)).toEqual(clean);
  });
});
