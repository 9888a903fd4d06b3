// A subhost's data has one owner (issue 21): a second subhost on the same
// UPPER (directly, through `..`, a symlink or a bind mount) is refused at
// its start, and by check; two starts at once on one UPPER give one
// subhost; an overlay in another mount namespace (1.6, by hand) on it is
// refused too; remove --purge and overlay-clean-root never touch another
// subhost's tree; status shows the locks; a restart keeps working.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, state, counts, waitGone, stopSubhost, type Counts } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;
const run = (sb: Sandbox, argv: string[]) => sb.run(argv, { timeoutMs: 60_000 });

describe('one owner per UPPER, WORK and LIVE', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  let data: string;
  beforeAll(async () => {
    const sb = sandbox();
    clean = cleanCounts();
    data = sb.dataDir;
    await makeSubhost(sb, 'zqv1', 'BASE=.\nSTART=none\n');
    const r = await run(sb, ['overlay-boot', 'start', `${data}/zqv1/zqv1.conf`]);
    expect(r.exitCode, r.stderr).toBe(0);
    await run(sb, ['sh', '-ec', 'overlay-go zqv1 -- sh -c "echo precious > /data.txt; mkdir -p /srv/app; echo 1 > /srv/app/state"']);
    expect(await sb.readFile(`${data}/zqv1/root/data.txt`)).toBe('precious\n');
  });

  it('status shows the locks; a second subhost on the same UPPER is refused by check, remove --purge and its start', async () => {
    const sb = sandbox();
    const st = await run(sb, ['overlay-boot', 'status', 'zqv1']);
    expect(st.stdout).toMatch(
      new RegExp(
        `Locks: +UPPER ${data}/zqv1/root, WORK ${data}/zqv1/work, LIVE ${data}/zqv1/live \\(held for the unit by systemd: /run/overlay-boot/locks/\\)`,
      ),
    );
    const js = JSON.parse((await run(sb, ['overlay-boot', 'status', '--json', 'zqv1'])).stdout);
    expect(js.locks.map((l: { role: string }) => l.role)).toEqual(['UPPER', 'WORK', 'LIVE']);
    // Held by systemd for the unit, by no process of the subhost; its PID 1 has no notify socket either.
    expect((await run(sb, ['systemctl', 'show', '-p', 'NFileDescriptorStore', U('zqv1')])).stdout.trim()).toBe('NFileDescriptorStore=3');
    const pid = js.mainPid as number;
    const fds = await run(sb, [
      'sh',
      '-c',
      `for p in $(find /sys/fs/cgroup$(systemctl show -p ControlGroup --value ${U('zqv1')}) -name cgroup.procs | xargs cat); do ls -l /proc/$p/fd; done`,
    ]);
    expect(fds.stdout).toContain('/dev/null'); // it did list the subhost's descriptors
    expect(fds.stdout).not.toContain('/overlay-boot/locks/');
    expect((await run(sb, ['sh', '-c', `tr '\\0' '\\n' < /proc/${pid}/environ`])).stdout).not.toMatch(/NOTIFY_SOCKET|LISTEN_FDS/);

    // Through `..`, a symlink, a bind mount of the same directory.
    await sb.run([
      'sh',
      '-ec',
      `ln -s ${data}/zqv1/root ${data}/link-to-zqv1; mkdir -p ${data}/bound; mount --bind ${data}/zqv1/root ${data}/bound`,
    ]);
    const uppers = { zqv2: '../zqv1/root', zqv3: `${data}/link-to-zqv1`, zqv4: `${data}/bound` };
    for (const [n, upper] of Object.entries(uppers)) {
      await makeSubhost(sb, n, `BASE=.\nUPPER=${upper}\nSTART=none\n`);
      const conf = `${data}/${n}/${n}.conf`;
      // The check knows zqv1 (registered for this boot by its start).
      const c = await run(sb, ['overlay-boot', 'check', conf]);
      expect(c.exitCode, `${n}: ${c.stdout}`).toBe(1);
      expect(c.stderr).toMatch(
        new RegExp(
          `^${conf}:2: UPPER: .* overlaps subhost zqv1's UPPER ${data}/zqv1/root \\(${data}/zqv1/zqv1.conf\\): each subhost needs directories of its own$`,
          'm',
        ),
      );
      // The start (by systemd, no check on the way) meets the lock: one line naming the holder.
      await sb.writeFile('/etc/subhosts.conf', `${conf}\n`);
      await sb.daemonReload();
      expect(await sb.startUnit(U(n))).not.toBe('done');
      expect(await sb.journal(U(n))).toMatch(/subhost-enter: UPPER \S+ is in use by subhost zqv1 \(subhost@zqv1.service, as its UPPER\)/);
      await waitGone(sb, n);
      await sb.writeFile('/etc/subhosts.conf', '');
      await sb.daemonReload();
      // remove --purge of that config keeps zqv1's data, and says why.
      const p = await run(sb, ['overlay-boot', 'remove', '--purge', conf]);
      expect(p.exitCode, p.stdout).toBe(1);
      expect(p.stderr).toMatch(
        /^overlay-boot: not purging UPPER \S+: it (resolves to .*, not a directory inside the subhost's BASE|overlaps subhost zqv1's)/,
      );
      expect(p.stdout).not.toMatch(/purged/);
    }
    await sb.run(['umount', `${data}/bound`]);
    expect(await sb.readFile(`${data}/zqv1/root/srv/app/state`)).toBe('1\n');
    expect(await state(sb, U('zqv1'))).toBe('active');
    const ls = await run(sb, ['sh', '-c', `ls -A ${data}/zqv1/root`]);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).toEqual(['.reaper', 'data.txt', 'etc', 'srv']);
  });

  it('overlay-clean-root refuses it while it runs', async () => {
    const sb = sandbox();
    const c = await run(sb, ['overlay-clean-root', '--dry-run', 'zqv1']);
    expect(c.exitCode).toBe(1);
    expect(c.stderr).toMatch(/subhost zqv1 is running/);
  });

  it('two starts at once on one UPPER: one runs, the other names it; a restart and a stop give the lock back', async () => {
    const sb = sandbox();
    await makeSubhost(sb, 'twa', 'BASE=.\nSTART=none\n');
    await makeSubhost(sb, 'twb', `BASE=.\nUPPER=${data}/twa/root\nSTART=none\n`);
    await sb.writeFile('/etc/subhosts.conf', `${data}/twa/twa.conf\n${data}/twb/twb.conf\n`);
    await sb.daemonReload();
    const [a, b] = await Promise.all([sb.startUnit(U('twa')), sb.startUnit(U('twb'))]);
    expect([a, b].filter((x) => x === 'done')).toHaveLength(1);
    const [won, lost] = a === 'done' ? ['twa', 'twb'] : ['twb', 'twa'];
    expect(await sb.journal(U(lost))).toMatch(
      new RegExp(
        `is in use by (subhost ${won} \\(subhost@${won}.service, as its (UPPER|WORK|LIVE)\\)|another start of a subhost, being set up now)`,
      ),
    );
    await waitGone(sb, lost);
    // A restart passes through systemd's store of the locks.
    const re = await run(sb, ['systemctl', 'restart', U(won)]);
    expect(re.exitCode, `${re.stderr}${await sb.journal(U(won))}`).toBe(0);
    expect(await state(sb, U(won))).toBe('active');
    expect(await sb.startUnit(U(lost))).not.toBe('done');
    await waitGone(sb, lost);
    await stopSubhost(sb, won);
    // Stopped: the lock is gone with the unit, the other one starts now.
    expect(await sb.startUnit(U(lost))).toBe('done');
    await stopSubhost(sb, lost);
    await sb.writeFile('/etc/subhosts.conf', '');
    await sb.daemonReload();
  });

  it('a restart after the config moved UPPER holds the new one, and the old one is free again', async () => {
    const sb = sandbox();
    await makeSubhost(sb, 'rs', 'BASE=.\nSTART=none\n', { dirs: ['root', 'work', 'live', 'alt'] });
    await sb.writeFile('/etc/subhosts.conf', `${data}/rs/rs.conf\n`);
    await sb.daemonReload();
    expect(await sb.startUnit(U('rs'))).toBe('done');
    await sb.writeFile(`${data}/rs/rs.conf`, 'BASE=.\nUPPER=alt\nSTART=none\n');
    const re = await run(sb, ['systemctl', 'restart', U('rs')]);
    expect(re.exitCode, re.stderr).toBe(0);
    const store = async () => (await run(sb, ['systemctl', 'show', '-p', 'NFileDescriptorStore', '--value', U('rs')])).stdout.trim();
    expect(await store()).toBe('3');
    const js = JSON.parse((await run(sb, ['overlay-boot', 'status', '--json', 'rs'])).stdout);
    expect(js.locks.map((l: { role: string; dir: string }) => `${l.role} ${l.dir}`)).toEqual([
      `UPPER ${data}/rs/alt`,
      `WORK ${data}/rs/work`,
      `LIVE ${data}/rs/live`,
    ]);
    // The old UPPER is nobody's now: another subhost may take it.
    // (contained: with private-users an UPPER outside BASE is a case of its own, issue 20)
    await makeSubhost(sb, 'rs2', `BASE=.\nUPPER=${data}/rs/root\nSTART=none\nCONTAINMENT=contained\n`);
    const r = await run(sb, ['overlay-boot', 'start', `${data}/rs2/rs2.conf`]);
    expect(r.exitCode, r.stderr).toBe(0);
    await stopSubhost(sb, 'rs2');
    await stopSubhost(sb, 'rs');
    await sb.writeFile('/etc/subhosts.conf', '');
    await sb.daemonReload();
  });

  it('an overlay of another mount namespace on the UPPER (a 1.6 subhost, or by hand) is refused', async () => {
    const sb = sandbox();
    await makeSubhost(sb, 'old', 'BASE=.\nSTART=none\n');
    await sb.run(['mkdir', '-p', `${data}/old/lower`]);
    // As 1.6 mounts it: in a mount namespace of its own (unshare -m), invisible on the host.
    await sb.run([
      'systemd-run',
      '--unit=old16',
      '--',
      'unshare',
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t overlay -o lowerdir=${data}/old/lower,upperdir=${data}/old/root,workdir=${data}/old/work overlay ${data}/old/live && exec sleep 1000`,
    ]);
    const r = await run(sb, ['overlay-boot', 'start', `${data}/old/old.conf`]);
    expect(r.exitCode).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(
      new RegExp(
        `UPPER ${data}/old/root is in use by a mount not made by overlay-boot \\(an overlay in another mount namespace: a subhost still running under overlay-boot 1.6\\? stop it with its overlay-stop\\)`,
      ),
    );
    await sb.stopUnit('old16.service');
    await waitGone(sb, 'old');
    const ok = await run(sb, ['overlay-boot', 'start', `${data}/old/old.conf`]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    await stopSubhost(sb, 'old');
  });

  it('a netns of the same NAME left by 1.6 (or stale) is named as such; nothing else is made', async () => {
    const sb = sandbox();
    await makeSubhost(sb, 'ns16', 'BASE=.\nSTART=none\nCABLES==\n');
    await sb.run(['ip', 'netns', 'add', 'ns16']);
    const before = await counts(sb);
    const r = await run(sb, ['overlay-boot', 'start', `${data}/ns16/ns16.conf`]);
    expect(r.exitCode).not.toBe(0);
    expect(await sb.journal('subhost-netns@ns16.service')).toMatch(
      /network namespace ns16 already exists \(not made by this unit\): a subhost ns16 still running under overlay-boot 1.6\? stop it with its overlay-stop; else remove it with "ip netns delete ns16" if it is stale/,
    );
    await waitGone(sb, 'ns16');
    expect(await counts(sb)).toEqual(before);
    await sb.run(['ip', 'netns', 'delete', 'ns16']);
  });

  it('values are one line: create and enable refuse a newline, in the sandbox as installed', async () => {
    const sb = sandbox();
    const conf = await sb.run(['sh', '-c', 'cat /etc/subhosts.conf 2>/dev/null; echo .']);
    const c = await run(sb, ['overlay-boot', 'create', '--base', `${data}/nl1`, '--start', 'none\nCONTAINMENT=none', 'nl1']);
    expect(c.exitCode).toBe(1);
    expect(c.stderr.trimEnd()).toBe(
      'overlay-boot: --start: "none\\nCONTAINMENT=none" has a newline: a value must be one line; nothing was made',
    );
    expect((await sb.run(['test', '-e', `${data}/nl1`])).exitCode).toBe(1);
    const e = await run(sb, ['overlay-boot', 'enable', `${data}/zqv1/zqv1.conf\n${data}/other.conf`]);
    expect(e.exitCode).toBe(1);
    expect(e.stderr.trimEnd()).toMatch(/^overlay-boot: cannot enable ".*" has a newline: a value must be one line$/);
    expect((await sb.run(['sh', '-c', 'cat /etc/subhosts.conf 2>/dev/null; echo .'])).stdout).toBe(conf.stdout);
  });

  it('check refuses the host root, system directories and LOWER for UPPER, WORK and LIVE', async () => {
    const sb = sandbox();
    const cases: [string, RegExp][] = [
      ['UPPER=/', /UPPER: \/ holds the host's root: a subhost's UPPER must be a directory of its own/],
      ['WORK=/var', /WORK: \/var holds the host's system directory \/var/],
      ['LIVE=/etc', /LIVE: \/etc holds the host's system directory \/etc/],
      [`LOWER=${data}/rootdir/tree\nUPPER=${data}/rootdir`, /UPPER: \S+ holds LOWER/],
      [`UPPER=${data}/up-link`, /UPPER: \S+up-link \(\/usr\) holds the host's system directory \/usr/],
    ];
    await sb.run([
      'sh',
      '-c',
      `mkdir -p ${data}/rootdir/tree ${data}/chk/root ${data}/chk/work ${data}/chk/live; ln -s /usr ${data}/up-link`,
    ]);
    for (const [line, re] of cases) {
      await sb.writeFile(`${data}/chk/chk.conf`, `BASE=.\n${line}\n`);
      const r = await run(sb, ['overlay-boot', 'check', `${data}/chk/chk.conf`]);
      expect(r.exitCode, line).toBe(1);
      expect(r.stderr, line).toMatch(re);
    }
  });

  it('remove --purge of the running subhost itself stops it, then removes its own UPPER; nothing is left behind', async () => {
    const sb = sandbox();
    const r = await run(sb, ['overlay-boot', 'remove', '--purge', 'zqv1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^stopped subhost zqv1$/m);
    expect(r.stdout).toMatch(new RegExp(`^purged UPPER ${data}/zqv1/root \\(\\d+ files and directories the subhost wrote\\)$`, 'm'));
    await waitGone(sb, 'zqv1');
    expect(await counts(sb)).toEqual(clean);
  });
});
