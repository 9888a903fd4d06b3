// Faults in the start path and under a running subhost: each ends in a
// stopped or failed unit with nothing leaked, UPPER's existing files
// unchanged, and the next start works. Plus concurrent starts.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, counts, state, waitGone, stopSubhost, mainPid, type Counts } from '../e2e/kit.js';

const MOTD = 'user data, never to be lost\n';
const injected: string[] = [];

async function upperIntact(sb: Sandbox, base: string): Promise<void> {
  expect(await sb.readFile(`${base}/root/etc/motd`)).toBe(MOTD);
}

describe('faults', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('the start helper SIGKILLed before each step in turn, before the namespaces and right after readiness', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'flt', 'BASE=.\nSTART=none\nCABLES==\nSHARE=data:/srv/data\n', {
      dirs: ['root', 'work', 'live', 'data'],
    });
    await sb.writeFile(`${s.base}/root/etc/motd`, MOTD);
    await register(sb, s.conf);
    await sb.daemonReload(); // the generator's plan: the native path
    const points: string[] = [];
    for (let n = 1; n < 200; n++) points.push(String(n));
    let steps = 0;
    // UPPER as it was, entry by entry (the undo journal, replayed by subhost-netns@'s ExecStopPost=).
    const listing = async () => (await sb.run(['sh', '-c', `cd ${s.base}/root && find . -printf '%p %y %m\\n' | sort`])).stdout;
    const before = await listing();
    for (const at of ['enter', 'ready', ...points]) {
      expect((await sb.systemctl('set-environment', `OVERLAY_BOOT_FAULT_KILL_AT=${at}`)).exitCode).toBe(0);
      const r = await sb.startUnit('subhost@flt.service');
      await (r === 'done' ? stopSubhost(sb, 'flt') : waitGone(sb, 'flt'));
      expect(await counts(sb)).toEqual(clean);
      await upperIntact(sb, s.base);
      if (r !== 'done') expect(await listing(), `killed at ${at}`).toBe(before);
      if (r === 'done') {
        if (/^\d+$/.test(at)) break; // past the last op: nothing was killed
        throw new Error(`killed at ${at}, yet the start succeeded`);
      }
      steps++;
    }
    injected.push(`start helper killed at ${steps} points`);
    console.log(`start helper SIGKILLed at ${steps} points (each op, before enter, after ready)`);
    expect(steps).toBeGreaterThan(20);
    await sb.systemctl('unset-environment', 'OVERLAY_BOOT_FAULT_KILL_AT');
    expect(await sb.startUnit('subhost@flt.service')).toBe('done');
    expect(await stopSubhost(sb, 'flt')).toBe('done');
  }, 300_000);

  it('the netns deleted under a running subhost', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'nsd', 'BASE=.\nSTART=none\nCABLES==\n');
    await register(sb, s.conf);
    expect(await sb.startUnit('subhost@nsd.service')).toBe('done');
    expect((await sb.run(['ip', 'netns', 'delete', 'nsd'])).exitCode).toBe(0);
    expect(await state(sb, 'subhost@nsd.service')).toBe('active');
    expect(await stopSubhost(sb, 'nsd')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
    expect(await sb.startUnit('subhost@nsd.service')).toBe('done');
    expect(await stopSubhost(sb, 'nsd')).toBe('done');
    injected.push('netns deleted under a running subhost');
  });

  it('UPPER read-only, and the disk of UPPER full', async () => {
    const sb = sandbox();
    for (const [name, opts] of [
      ['rof', 'size=8m'],
      ['full', 'size=2m'],
    ] as const) {
      const base = `${sb.dataDir}/${name}`;
      await sb.run([
        'sh',
        '-c',
        `mkdir -p ${base} && mount -t tmpfs -o ${opts} ${name} ${base} && mkdir ${base}/root ${base}/work ${base}/live ${base}/root/etc`,
      ]);
      await sb.writeFile(`${base}/root/etc/motd`, MOTD);
      await sb.writeFile(`${base}/${name}.conf`, 'BASE=.\nSTART=none\n', 0o644);
    }
    await register(sb, `${sb.dataDir}/rof/rof.conf`, `${sb.dataDir}/full/full.conf`);
    const before = await counts(sb);

    await sb.run(['mount', '-o', 'remount,ro', `${sb.dataDir}/rof`]);
    expect(await sb.startUnit('subhost@rof.service')).not.toBe('done');
    await waitGone(sb, 'rof');
    // One line naming the file, not its content (issue 21).
    const rofLog = await sb.journal('subhost@rof.service', 20);
    expect(rofLog).toMatch(
      /subhost-enter: write-if-missing \S+\/rof\/root\/etc\/network\/interfaces 644 \(\d+ bytes\): Read-only file system/,
    );
    expect(rofLog).not.toMatch(/iface lo inet loopback/);
    expect(await counts(sb)).toEqual(before);
    await sb.run(['mount', '-o', 'remount,rw', `${sb.dataDir}/rof`]);
    await upperIntact(sb, `${sb.dataDir}/rof`);
    expect(await sb.startUnit('subhost@rof.service')).toBe('done');
    expect(await stopSubhost(sb, 'rof')).toBe('done');

    await sb.run(['sh', '-c', `dd if=/dev/zero of=${sb.dataDir}/full/filler bs=64k 2>/dev/null; true`]);
    expect(await sb.startUnit('subhost@full.service')).not.toBe('done');
    await waitGone(sb, 'full');
    const fullLog = await sb.journal('subhost@full.service', 20);
    expect(fullLog).toMatch(/subhost-enter: [a-z-]+ \S+\/full\/\S+ .*No space left on device/);
    expect(fullLog).not.toMatch(/iface lo inet loopback/);
    expect(await counts(sb)).toEqual(before);
    await upperIntact(sb, `${sb.dataDir}/full`);
    await sb.run(['rm', `${sb.dataDir}/full/filler`]);
    expect(await sb.startUnit('subhost@full.service')).toBe('done');
    expect(await stopSubhost(sb, 'full')).toBe('done');

    await sb.run(['umount', `${sb.dataDir}/rof`, `${sb.dataDir}/full`]);
    expect(await counts(sb)).toEqual(clean);
    injected.push('UPPER read-only', 'UPPER disk full');
  });

  it('the same subhost started twice at once gives one subhost', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'twice', 'BASE=.\nSTART=none\n');
    await register(sb, s.conf);
    const [a, b] = await Promise.all([sb.startUnit('subhost@twice.service'), sb.startUnit('subhost@twice.service')]);
    expect([a, b]).toEqual(['done', 'done']);
    const reapers = (
      await sb.run([
        'sh',
        '-c',
        'for p in $(cat /sys/fs/cgroup/subhost.slice/subhost@twice.service/cgroup.procs); do cat /proc/$p/comm; done',
      ])
    ).stdout;
    expect(reapers.split('\n').filter((c) => c === '.reaper')).toHaveLength(1);
    expect(await mainPid(sb, 'twice')).toBeGreaterThan(0);
    expect(await stopSubhost(sb, 'twice')).toBe('done');
  });

  it('20 subhosts started and stopped concurrently, in a loop, leave the counts as they were', async () => {
    const sb = sandbox();
    const names = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const confs: string[] = [];
    for (const n of names) confs.push((await makeSubhost(sb, n, 'BASE=.\nSTART=none\nCABLES==\n')).conf);
    await register(sb, ...confs);
    await sb.daemonReload();
    const before = await counts(sb);
    const end = Date.now() + 30_000;
    let rounds = 0;
    while (Date.now() < end) {
      const started = await Promise.all(names.map((n) => sb.startUnit(`subhost@${n}.service`)));
      expect(
        started.every((r) => r === 'done'),
        started.join(' '),
      ).toBe(true);
      await Promise.all(names.map((n) => stopSubhost(sb, n)));
      rounds++;
    }
    console.log(`${rounds} rounds of 20 concurrent starts and stops`);
    expect(await counts(sb)).toEqual(before);
  }, 120_000);
});
