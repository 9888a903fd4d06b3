// Broken configs and setups: each start fails, says why in the journal,
// and leaves nothing behind: no mount, netns, veth or process, and UPPER
// exactly as it was.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, counts, journalOf, waitGone, type Counts } from './kit.js';

interface Case {
  title: string;
  conf: (base: string) => string;
  dirs?: string[];
  /** Extra setup inside the sandbox (and its undo), run with the subhost dir. */
  setup?: (sb: Sandbox, base: string, name: string) => Promise<void>;
  teardown?: (sb: Sandbox, base: string, name: string) => Promise<void>;
  /** Which unit's journal carries the message. */
  unit?: 'subhost' | 'netns';
  message: string | ((base: string) => string);
}

const sh = async (sb: Sandbox, cmd: string) => {
  const r = await sb.run(['sh', '-c', cmd]);
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
};

const cases: Case[] = [
  {
    title: 'missing LIVE directory',
    conf: () => 'BASE=.\nSTART=none\n',
    dirs: ['root', 'work'],
    message: (b) => `LIVE: ${b}/live is not a directory`,
  },
  {
    title: 'missing WORK directory',
    conf: () => 'BASE=.\nSTART=none\n',
    dirs: ['root', 'live'],
    message: (b) => `WORK: ${b}/work is not a directory`,
  },
  {
    title: 'bad cable spec',
    conf: () => 'BASE=.\nSTART=none\nCABLES=br0\n',
    unit: 'netns',
    message: 'CABLES: entry "br0" is not of the form [bridge]=[mac|.vlan]',
  },
  {
    title: 'bridge that does not exist',
    conf: () => 'BASE=.\nSTART=none\nCABLES== nobr0=\n',
    unit: 'netns',
    message: 'CABLES: bridge nobr0 for NAME1 does not exist',
  },
  { title: 'failing !cmd', conf: () => 'BASE=.\nSTART=none\nUPPER=!false\n', message: ':3: UPPER: command "false" failed: exit status 1' },
  {
    title: 'non-root-owned config',
    conf: () => 'BASE=.\nSTART=none\nLOWER=!echo /\n',
    setup: async (sb, b, n) => sh(sb, `chown 65534 ${b}/${n}.conf`),
    unit: 'netns',
    message: (b) => `${b}/NAME.conf: the file ${b}/NAME.conf is owned by uid 65534, not root: a config that root runs must be root's alone`,
  },
  {
    title: 'LIVE already mounted',
    conf: () => 'BASE=.\nSTART=none\n',
    setup: async (sb, b) => sh(sb, `mount -t tmpfs busy ${b}/live`),
    teardown: async (sb, b) => sh(sb, `umount ${b}/live`),
    message: (b) => `LIVE ${b}/live already has a mount`,
  },
  {
    title: 'PREMOUNT that fails',
    conf: (b) => `BASE=.\nSTART=none\nPREMOUNT=${b}/pre.sh\n`,
    setup: async (sb, b) => sb.writeFile(`${b}/pre.sh`, '#!/bin/sh\necho premount refuses >&2\nexit 4\n', 0o755),
    message: (b) => `${b}/pre.sh failed (exit status 4)`,
  },
  {
    // Exit status 5 only when it sees the overlay on LIVE ($1): a custom POSTMOUNT runs after the mount.
    title: 'POSTMOUNT that fails, run on the mounted overlay',
    conf: (b) => `BASE=.\nSTART=none\nPOSTMOUNT=${b}/post.sh\n`,
    setup: async (sb, b) =>
      sb.writeFile(`${b}/post.sh`, '#!/bin/sh\nmountpoint -q "$1" || exit 6\necho postmount refuses >&2\nexit 5\n', 0o755),
    message: (b) => `${b}/post.sh failed (exit status 5)`,
  },
  {
    title: 'INIT whose script fails before the reaper runs',
    conf: (b) => `BASE=.\nSTART=none\nINIT=${b}/init.sh\n`,
    setup: async (sb, b) => sb.writeFile(`${b}/init.sh`, "#!/bin/sh\necho 'echo broken init; exit 3'\n", 0o755),
    message: '/bin/sh exited with status 3 before the subhost was ready',
  },
  {
    title: 'LOWER without a /bin/sh',
    conf: () => 'BASE=.\nSTART=none\nLOWER=empty\n',
    dirs: ['root', 'work', 'live', 'empty'],
    message: 'subhost-enter: exec /bin/sh',
  },
  {
    title: 'a host interface of that name exists already',
    conf: () => 'BASE=.\nSTART=none\nCABLES==\n',
    setup: async (sb, _b, n) => sh(sb, `ip link add ${n}0 type veth peer name ${n}p`),
    teardown: async (sb, _b, n) => sh(sb, `ip link delete ${n}0`),
    unit: 'netns',
    message: 'host interface NAME0 already exists',
  },
];

describe('failed starts leave nothing behind', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  cases.forEach((c, i) => {
    it(c.title, async () => {
      const sb = sandbox();
      const name = `bad${i}`;
      const fix = (s: string) => s.replaceAll('NAME', name);
      const s = await makeSubhost(sb, name, 'x', { dirs: c.dirs });
      // Some user data in UPPER that must survive untouched.
      if (!c.dirs || c.dirs.includes('root')) {
        await sb.writeFile(`${s.base}/root/etc/motd`, 'user data\n');
      }
      await sb.writeFile(s.conf, c.conf(s.base), 0o644);
      if (c.setup) await c.setup(sb, s.base, name);
      try {
        const setupCounts = await counts(sb);
        const upperBefore = (
          await sb.run([
            'sh',
            '-c',
            `cd ${s.base} && find . -path ./work -prune -o -print0 | sort -z | xargs -0 ls -ld --time-style=+%s 2>&1; cat root/etc/motd 2>/dev/null`,
          ])
        ).stdout;
        await register(sb, s.conf);

        const result = await sb.startUnit(`subhost@${name}.service`);
        expect(result).not.toBe('done');
        await waitGone(sb, name);
        const journal = await journalOf(sb, `subhost${c.unit === 'netns' ? '-netns' : ''}@${name}.service`);
        const msg = typeof c.message === 'string' ? fix(c.message) : fix(c.message(s.base));
        expect(journal, journal).toContain(msg);

        expect(await counts(sb)).toEqual(setupCounts);
        const upperAfter = (
          await sb.run([
            'sh',
            '-c',
            `cd ${s.base} && find . -path ./work -prune -o -print0 | sort -z | xargs -0 ls -ld --time-style=+%s 2>&1; cat root/etc/motd 2>/dev/null`,
          ])
        ).stdout;
        expect(upperAfter.replace(/^d.* \.\/root$/m, '').replace(/^d.* \.\/root\/etc$/m, '')).toBe(
          upperBefore.replace(/^d.* \.\/root$/m, '').replace(/^d.* \.\/root\/etc$/m, ''),
        );
      } finally {
        if (c.teardown) await c.teardown(sb, s.base, name);
      }
      expect(await counts(sb)).toEqual(clean);
    });
  });

  it('an unknown NAME fails and says where it looked', async () => {
    const sb = sandbox();
    await register(sb);
    expect(await sb.startUnit('subhost@nosuch.service')).not.toBe('done');
    await waitGone(sb, 'nosuch');
    const j = await journalOf(sb, 'subhost-netns@nosuch.service');
    expect(j).toContain(
      'no config for subhost "nosuch": looked at $OVERLAY_BOOT_CONF (unset), /run/overlay-boot/registry/nosuch.conf (absent) and the 0 config(s) listed in /etc/subhosts.conf (none has NAME nosuch)',
    );
    expect(await counts(sb)).toEqual(clean);
  });
});
