// Hostile files listed in /etc/subhosts.conf beside a good config (issue
// 11, item 4): a FIFO (which used to make the generator, and so every
// daemon-reload and the boot, wait until systemd killed it, losing every
// subhost's drop-in), a symlink to /dev/zero (never ending), a device
// node, a symlink loop, a huge sparse file, random bytes and a text file of
// garbage (one kernel-log line per line, before). Now daemon-reload
// completes (within the normal test timeout: nothing here is timed), the
// good subhost keeps its units and starts, the kernel log gets a few
// lines per file, and `overlay-boot check`/`start` refuse each hostile
// file at once, in one line.
import { describe, it, expect } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, state, counts, stopSubhost, journalOf } from './kit.js';

const sh = async (sb: Sandbox, cmd: string) => {
  const r = await sb.run(['sh', '-c', cmd]);
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
};

/** The kernel log once it holds every text wanted (it is drained by a reader in the background). */
async function kmsgWith(sb: Sandbox, wanted: string[]): Promise<string> {
  for (let i = 0; ; i++) {
    const k = await sb.kmsg();
    if (wanted.every((w) => k.includes(w)) || i > 200) return k;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('hostile files listed in /etc/subhosts.conf', () => {
  const { sandbox, clean } = useInstalledSandbox();

  it('cost daemon-reload nothing: one line each, the good subhost keeps its units and starts', async () => {
    const sb = sandbox();
    const good = await makeSubhost(sb, 'hgood', 'BASE=.\nSTART=none\n');
    const d = `${sb.dataDir}/hostile`;
    const bad = {
      fifo: `${d}/fifo.conf`,
      zero: `${d}/zero.conf`,
      node: `${d}/node.conf`,
      loop: `${d}/loop.conf`,
      huge: `${d}/huge.conf`,
      random: `${d}/random.conf`,
    };
    const garbage = `${d}/garbage.conf`;
    await sh(
      sb,
      [
        `mkdir -p ${d}`,
        `mkfifo ${bad.fifo}`,
        `ln -s /dev/zero ${bad.zero}`,
        // A character device node (of /dev/null) on the sandbox's own data
        // tmpfs: refused by its type, never opened.
        `mknod ${bad.node} c 1 3`,
        `ln -s loop.conf ${bad.loop}`,
        `truncate -s 2G ${bad.huge}`,
        `head -c 1048000 /dev/urandom > ${bad.random} && printf '\\0' >> ${bad.random}`,
        `seq 1 2000 | sed 's/^/junk /' > ${garbage}`,
      ].join(' && '),
    );
    await register(sb, ...Object.values(bad), garbage, good.conf);

    // Returns (a FIFO used to hold it 90 s, then every subhost lost its drop-in).
    await sb.daemonReload();

    // The good subhost has its drop-in and its place in subhosts.target.
    expect(await sb.unitProperty('subhost@hgood.service', 'org.freedesktop.systemd1.Unit', 'SourcePath')).toBe(good.conf);
    const wants = (await sb.unitProperty('subhosts.target', 'org.freedesktop.systemd1.Unit', 'Wants')) as string[];
    expect(wants.filter((u) => u.startsWith('subhost@'))).toEqual(['subhost@hgood.service']);

    // One kernel-log line per hostile file; a few, then a count, for the garbage.
    const kmsg = await kmsgWith(sb, [...Object.values(bad), `more problems in ${garbage}`]);
    const lines = kmsg.split('\n').filter((l) => l.includes('overlay-boot-generator'));
    for (const [what, p] of Object.entries(bad)) {
      expect(
        lines.filter((l) => l.includes(p)),
        `${what}: ${lines.join('\n')}`,
      ).toHaveLength(1);
    }
    expect(lines).toContain(
      `<3>overlay-boot-generator: ${bad.fifo}: the file ${bad.fifo} is a FIFO, not a regular file (listed at /etc/subhosts.conf:2; skipped)`,
    );
    expect(lines).toContain(
      `<3>overlay-boot-generator: ${bad.zero}: the file /dev/zero is a character device, not a regular file (listed at /etc/subhosts.conf:3; skipped)`,
    );
    expect(lines.filter((l) => l.includes(garbage))).toHaveLength(6);
    expect(lines).toContain(`<3>overlay-boot-generator: ... and 1996 more problems in ${garbage}`);

    // The same files to check and start: refused at once, one line each.
    for (const p of [...Object.values(bad), garbage]) {
      const c = await sb.run(['overlay-boot', 'check', p]);
      expect(c.exitCode, p).toBe(1);
      if (p !== garbage) expect(c.stderr.trim().split('\n'), p).toHaveLength(1);
      const s = await sb.run(['overlay-boot', 'start', p]);
      expect(s.exitCode, p).toBe(1);
      if (p !== garbage)
        expect(s.stderr.trim().split('\n'), `${p}: ${s.stderr}`).toEqual([
          expect.stringMatching(new RegExp(`^overlay-boot: not starting: ${p}: `)),
        ]);
    }

    // The good one starts and stops as ever.
    if ((await sb.startUnit('subhost@hgood.service')) !== 'done') throw new Error(await journalOf(sb, 'subhost@hgood.service'));
    expect(await state(sb, 'subhost@hgood.service')).toBe('active');
    expect(await stopSubhost(sb, 'hgood')).toBe('done');

    await register(sb);
    await sh(sb, `rm -rf ${d}`);
    await sb.daemonReload();
    expect(await counts(sb)).toEqual(clean());
  });
});
