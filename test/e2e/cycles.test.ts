// 100 start/stop cycles of one subhost (with a cable) leave the mount,
// netns and interface counts as they were; after a start no Node.js
// process is left running for the subhost.
import { describe, it, expect } from 'vitest';
import { useInstalledSandbox, makeSubhost, register, counts, stopSubhost, mainPid, journalOf } from './kit.js';

describe('start/stop cycles', () => {
  const { sandbox } = useInstalledSandbox();

  it('leaves no Node.js process behind a started subhost', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'lean', 'BASE=.\nSTART=none\n');
    await register(sb, s.conf);
    expect(await sb.startUnit('subhost@lean.service')).toBe('done');
    const pid = await mainPid(sb, 'lean');
    const comms = (
      await sb.run([
        'sh',
        '-c',
        'for p in $(cat /sys/fs/cgroup/subhost.slice/subhost@lean.service/cgroup.procs); do echo "$p $(cat /proc/$p/comm)"; done',
      ])
    ).stdout;
    expect(comms).toContain(`${pid} .reaper`);
    const all = (await sb.run(['sh', '-c', 'for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done'])).stdout.split('\n');
    expect(all.filter((c) => /node|overlay-boot/.test(c))).toEqual([]);
    // What stays: the reaper, which holds 1.6's dummy service FIFO, and
    // outside the subhost the relay of its console and syslog.
    expect(
      comms
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1])
        .sort(),
    ).toEqual(['.reaper', 'subhost-relay']);
    expect((await sb.run(['ls', '-l', `/proc/${pid}/fd/`])).stdout).toContain('/run/dummy_service');
    expect(await stopSubhost(sb, 'lean')).toBe('done');
  });

  it('100 cycles leave mounts, netns and interfaces as they were', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'cyc', 'BASE=.\nSTART=none\nCABLES==\n');
    await register(sb, s.conf);
    const before = await counts(sb);
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      const r = await sb.startUnit('subhost@cyc.service');
      if (r !== 'done') throw new Error(`cycle ${i}: ${r}\n${await journalOf(sb, 'subhost@cyc.service')}`);
      expect(await stopSubhost(sb, 'cyc')).toBe('done');
    }
    console.log(`100 start/stop cycles in ${Date.now() - t0} ms`);
    expect(await counts(sb)).toEqual(before);
  }, 300_000);
});
