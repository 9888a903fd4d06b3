// The generator under a real systemd: registered subhosts come up at boot,
// an invalid one is skipped and reported, stopping subhosts.target stops
// them all, and a daemon-reload after editing /etc/subhosts.conf shows the
// new set.
import { describe, it, expect } from 'vitest';
import { useSandbox } from '../sandbox/vitest.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { installUnits, makeSubhost, register, state, waitGone, journalOf } from './kit.js';

const wants = async (sb: Sandbox) =>
  ((await sb.unitProperty('subhosts.target', 'org.freedesktop.systemd1.Unit', 'Wants')) as string[])
    .filter((u) => u.startsWith('subhost@'))
    .sort();

describe('generator at boot', () => {
  // The sandbox's boot target pulls in subhosts.target, as multi-user.target does on a host.
  const sandbox = useSandbox({ wants: ['subhosts.target'] });

  it('starts the registered subhosts at boot and skips the invalid one with a message', async () => {
    let sb = sandbox();
    await installUnits(sb);
    const a = await makeSubhost(sb, 'gena', 'BASE=.\nSTART=none\nCABLES==\nMEMORY_MAX=256M\n');
    const b = await makeSubhost(sb, 'gen-b', 'BASE=.\nSTART=none\n');
    const bad = await makeSubhost(sb, 'genbad', 'BASE=.\nSTART=none\nRAM_SIZE=huge\n');
    await register(sb, a.conf, bad.conf, b.conf);

    sb = await sandbox.reboot();
    for (const n of ['gena', 'gen-b']) {
      const st = await state(sb, `subhost@${n}.service`);
      if (st !== 'active') throw new Error(`${n}: ${st}\n${await journalOf(sb, `subhost@${n}.service`)}\n${await sb.kmsg()}`);
    }
    expect(await state(sb, 'subhost@genbad.service')).toBe('inactive');
    expect(await sb.kmsg()).toContain(
      `<3>overlay-boot-generator: ${bad.conf}:3: RAM_SIZE: "huge" must be a size such as 50M, 1G or 10%, or "none" (listed at /etc/subhosts.conf:3; skipped)`,
    );
    expect(await wants(sb)).toEqual(['subhost@gen-b.service', 'subhost@gena.service']);
    // It exits 1 for the skipped config (as Quadlet); systemd 252 loads
    // what it wrote all the same (above) and runs the other generators
    // (systemd-fstab-generator's and systemd-getty-generator's links).
    const others = await sb.run(['ls', '/run/systemd/generator/local-fs.target.wants', '/run/systemd/generator/getty.target.wants']);
    expect(others.stdout).toContain('systemd-remount-fs.service');
    expect(others.stdout).toContain('console-getty.service');
    // What the generator derived reaches systemd.
    expect(await sb.unitProperty('subhost@gena.service', 'org.freedesktop.systemd1.Service', 'MemoryMax')).toBe(256n * 1024n * 1024n);
    expect(await sb.unitProperty('subhost@gena.service', 'org.freedesktop.systemd1.Unit', 'SourcePath')).toBe(a.conf);
    const rmf = (await sb.unitProperty('subhost@gena.service', 'org.freedesktop.systemd1.Unit', 'RequiresMountsFor')) as string[];
    expect(rmf).toContain(a.base);

    // Starting the invalid one by hand fails with the reason in its own journal.
    expect(await sb.startUnit('subhost@genbad.service')).not.toBe('done');
    await waitGone(sb, 'genbad');
    expect(await journalOf(sb, 'subhost@genbad.service')).toContain('RAM_SIZE: "huge" must be a size');

    // Stopping the target stops every subhost.
    expect(await sb.stopUnit('subhosts.target')).toBe('done');
    await waitGone(sb, 'gena');
    await waitGone(sb, 'gen-b');
    expect(await state(sb, 'subhost@gena.service')).toBe('inactive');
    expect(await state(sb, 'subhost@gen-b.service')).toBe('inactive');
    expect((await sb.run(['ip', 'netns', 'list'])).stdout.trim()).toBe('');

    // A reload with a skipped config: systemd logs the generator's exit
    // status (from the process that runs the generators, not PID 1; at boot
    // the line goes out before this sandbox's journal runs) and keeps the
    // good subhost's units.
    await sb.daemonReload();
    const log = (await sb.run(['journalctl', '--no-pager', '-o', 'cat'])).stdout;
    expect(log).toMatch(/overlay-boot-generator failed with exit status 1/);
    expect(await wants(sb)).toEqual(['subhost@gen-b.service', 'subhost@gena.service']);

    // Edit the registry and reload: the new set is what systemd shows.
    const c = await makeSubhost(sb, 'genc', 'BASE=.\nSTART=none\n');
    await register(sb, b.conf, c.conf);
    await sb.daemonReload();
    expect(await wants(sb)).toEqual(['subhost@gen-b.service', 'subhost@genc.service']);
    expect(await sb.startUnit('subhosts.target')).toBe('done');
    expect(await state(sb, 'subhost@genc.service')).toBe('active');
    expect(await state(sb, 'subhost@gena.service')).toBe('inactive');
    expect(await sb.stopUnit('subhosts.target')).toBe('done');
    await waitGone(sb, 'genc');
    await waitGone(sb, 'gen-b');
  });
});
