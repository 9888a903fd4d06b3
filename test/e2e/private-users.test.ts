// CONTAINMENT=private-users, the default (issue 20): a subhost from an
// unchanged 1.6 config runs in a user namespace of its own. Its UPPER keeps
// the on-disk owners it had (written as 1.6 wrote it), what it writes lands
// with the owners it would have without a user namespace, its id range is
// recorded and stable across restarts, shown by check and status, and
// differs from another subhost's; root inside sets its own hostname; the
// host still reaches the netns with `ip netns exec`; a range record that is
// not one fails the start with one line saying why.
import { describe, it, expect, beforeAll } from 'vitest';
import {
  useInstalledSandbox,
  makeSubhost,
  register,
  inside,
  startOk,
  stopSubhost,
  journalOf,
  sh,
  counts,
  until,
  type Counts,
} from './kit.js';

const IDS = '/var/lib/overlay-boot/ids';

describe('private-users: a user namespace per subhost, by default', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  beforeAll(() => {
    clean = cleanCounts();
  });

  it('an UPPER written as 1.6 did keeps its owners; files made inside land with the same on-disk owners; the range is recorded and stable', async () => {
    const sb = sandbox();
    const a = await makeSubhost(sb, 'pua', 'BASE=.\nSTART=none\nCABLES==\n');
    const b = await makeSubhost(sb, 'pub', 'BASE=.\nSTART=none\n');
    // What 1.6 left in UPPER: a root file, a user's directory and file.
    await sh(
      sb,
      `cd ${a.base}/root && mkdir -p srv/u && echo old > srv/root-file && echo mine > srv/u/f && chown -R 1000:1000 srv/u && chmod 600 srv/u/f`,
    );
    await register(sb, a.conf, b.conf);
    await sb.daemonReload();
    await startOk(sb, 'pua');
    await startOk(sb, 'pub');

    const map = (await inside(sb, 'pua', ['cat', '/proc/1/uid_map'])).stdout.trim().split(/\s+/).map(Number);
    expect(map[0]).toBe(0);
    expect(map[2]).toBe(65536);
    const base = map[1]!;
    expect(base).toBeGreaterThanOrEqual(0x80000);
    expect((await sb.run(['readlink', `${IDS}/by-name/pua`])).stdout.trim()).toBe(String(base));
    expect((await sb.run(['readlink', `${IDS}/by-base/${base}`])).stdout.trim()).toBe('pua');
    // Another subhost, another range.
    const other = (await inside(sb, 'pub', ['cat', '/proc/1/uid_map'])).stdout.trim().split(/\s+/).map(Number)[1];
    expect(other).not.toBe(base);

    // Owners as on disk, inside.
    expect((await inside(sb, 'pua', ['stat', '-c', '%u:%g', '/srv/root-file', '/srv/u/f', '/etc/passwd'])).stdout.split('\n')).toEqual([
      '0:0',
      '1000:1000',
      '0:0',
      '',
    ]);
    // Made inside by root and by uid 1000: on disk 0 and 1000, never the
    // range; a file of LOWER removed: overlayfs' whiteout, as without one.
    await inside(sb, 'pua', [
      'sh',
      '-c',
      'echo new > /srv/new && mkdir /srv/v && chown 1000:1000 /srv/v && rm /srv/root-file /etc/debian_version',
    ]);
    expect(await sh(sb, `stat -c '%u:%g %F' ${a.base}/root/srv/new ${a.base}/root/srv/v ${a.base}/root/etc/debian_version`)).toBe(
      '0:0 regular file\n1000:1000 directory\n0:0 character special file\n',
    );
    expect((await sb.run(['test', '-e', `${a.base}/root/srv/root-file`])).exitCode).toBe(1);

    // check and status show the level and the range.
    const range = `${base}-${base + 65535}`;
    const check = await sb.run(['overlay-boot', 'check', a.conf]);
    expect(check.stdout).toMatch(/^CONTAINMENT\s+private-users\s/m);
    expect(check.stdout).toMatch(new RegExp(`^\\(host ids\\)\\s+${range}\\s+recorded in ${IDS}`, 'm'));
    const status = await sb.run(['overlay-boot', 'status', 'pua']);
    expect(status.stdout).toMatch(/^Level:\s+private-users$/m);
    expect(status.stdout).toMatch(new RegExp(`^Host ids:\\s+${range}$`, 'm'));

    // root inside sets its own hostname, from one of the subhost's own
    // processes (overlay-go: its filter and user namespace).
    expect((await sb.run(['overlay-go', 'pua', '--', 'sh', '-c', 'hostname renamed && hostname'])).stdout.trim()).toBe('renamed');
    expect((await sb.run(['hostname'])).stdout.trim()).not.toBe('renamed');
    // The host reaches the netns as with 1.6.
    expect((await sb.run(['ip', 'netns', 'exec', 'pua', 'ip', '-o', 'link', 'show', 'eth0'])).exitCode).toBe(0);

    // Restarted: the same range.
    expect(await stopSubhost(sb, 'pua')).toBe('done');
    await startOk(sb, 'pua');
    expect((await inside(sb, 'pua', ['cat', '/proc/1/uid_map'])).stdout.trim().split(/\s+/).map(Number)[1]).toBe(base);
    expect(await stopSubhost(sb, 'pua')).toBe('done');
    expect(await stopSubhost(sb, 'pub')).toBe('done');
    expect(await counts(sb)).toEqual(clean);
  });

  it('a range record that is not one fails the start with one line saying why, and makes nothing', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'pubad', 'BASE=.\nSTART=none\n');
    await register(sb, s.conf);
    await sb.daemonReload();
    await sh(sb, `mkdir -p ${IDS}/by-name && ln -sfn garbage ${IDS}/by-name/pubad`);
    expect(await sb.startUnit('subhost@pubad.service')).not.toBe('done');
    const why = `CONTAINMENT=private-users: ${IDS}/by-name/pubad: not a range record (Invalid argument): remove it to allocate a new range`;
    await until("the reason in the netns unit's journal", async () => (await journalOf(sb, 'subhost-netns@pubad.service')).includes(why));
    expect((await sb.run(['ls', '-A', `${s.base}/root`])).stdout.trim()).toBe('');
    await sb.run(['rm', '-f', `${IDS}/by-name/pubad`]);
    await sb.systemctl('reset-failed');
    expect(await counts(sb)).toEqual(clean);
  });
});
