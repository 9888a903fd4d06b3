// subhost-netns@NAME.service (native/subhost-netns.c) under a real
// systemd: what it refuses before making anything, and that its stop
// removes exactly what its start recorded, even after a kill half way.
import { describe, it, expect, beforeAll } from 'vitest';
import { useInstalledSandbox, makeSubhost, register, counts, journalOf, waitGone, sh, state, type Counts } from './kit.js';

describe('the netns unit', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('a network namespace of that name in use: refused, and the stop leaves it alone', async () => {
    const sb = sandbox();
    await sh(sb, 'ip netns add inuse');
    try {
      const withIt = await counts(sb);
      const s = await makeSubhost(sb, 'inuse', 'BASE=.\nSTART=none\nCABLES==\n');
      await register(sb, s.conf);
      expect(await sb.startUnit('subhost@inuse.service')).not.toBe('done');
      await waitGone(sb, 'inuse');
      expect(await journalOf(sb, 'subhost-netns@inuse.service')).toContain(
        'network namespace inuse already exists (not made by this unit): a subhost inuse still running under overlay-boot 1.6? stop it with its overlay-stop; else remove it with "ip netns delete inuse" if it is stale',
      );
      // Not made by the unit: still there, and no cable was made.
      expect(await counts(sb)).toEqual(withIt);
    } finally {
      await sb.run(['ip', 'netns', 'delete', 'inuse']);
    }
    expect(await counts(sb)).toEqual(clean);
  });

  it('killed half way (ifup of a host end hangs): the stop removes the netns, the links and ifdowns', async () => {
    const sb = sandbox();
    // A stanza whose pre-up never ends: the unit is killed while ifup runs,
    // after the netns and the veth pair were made.
    await sb.writeFile('/etc/network/interfaces.d/ob-hang', 'iface hang0 inet manual\n    pre-up sleep 1000\n');
    try {
      const s = await makeSubhost(sb, 'hang', 'BASE=.\nSTART=none\nCABLES==\n');
      await register(sb, s.conf);
      expect((await sb.systemctl('start', '--no-block', 'subhost@hang.service')).exitCode).toBe(0);
      const end = Date.now() + 20_000;
      let recorded = '';
      while (!recorded.includes('ifup hang0')) {
        if (Date.now() > end) throw new Error(`ifup never started: ${recorded}\n${await journalOf(sb, 'subhost-netns@hang.service')}`);
        await new Promise((r) => setTimeout(r, 50));
        recorded = (await sb.run(['cat', '/run/subhost-netns/hang/state'])).stdout;
      }
      expect(recorded).toBe('netns hang\nlink hang0\nifup hang0\n');
      // Half way: made, and still being started.
      expect((await sb.run(['ip', 'netns', 'list'])).stdout).toContain('hang');
      expect((await sb.run(['ip', 'link', 'show', 'hang0'])).exitCode).toBe(0);
      expect(await state(sb, 'subhost-netns@hang.service')).toBe('activating');
      expect((await sb.systemctl('kill', '-s', 'KILL', 'subhost-netns@hang.service')).exitCode).toBe(0);
      await waitGone(sb, 'hang');
      expect(await counts(sb)).toEqual(clean);
      expect((await sb.run(['ifquery', '--state', 'hang0'])).stdout.trim()).toBe('');
    } finally {
      await sb.run(['rm', '-f', '/etc/network/interfaces.d/ob-hang']);
    }
  });
});
