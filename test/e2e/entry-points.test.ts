// 1.6's entry points on a systemd host, as a 1.6 user meets them:
// `systemctl start subhosts@NAME` and `overlay-boot@NAME` (1.6's unit
// names, now aliases of subhost@NAME.service), `service subhosts
// start|stop|status` and /etc/init.d/subhosts (1.6's init script, now
// subhosts.service), `systemctl enable subhost@NAME` of a subhost whose
// config is not listed, and an unknown NAME, whose reason shows in the
// status of subhost@NAME itself.
import { describe, it, expect } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, counts, state, mainPid, waitGone } from './kit.js';

const { sandbox, clean } = useInstalledSandbox();

const sh = async (sb: Sandbox, cmd: string) => sb.run(['sh', '-c', cmd]);
const ok = async (sb: Sandbox, cmd: string) => {
  const r = await sh(sb, cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}\n${r.stderr}${r.stdout}`);
  return r.stdout;
};
const U = (n: string) => `subhost@${n}.service`;

describe("1.6's unit names", () => {
  it('subhosts@NAME and overlay-boot@NAME are subhost@NAME itself', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'al1', 'BASE=.\nSTART=none\nCABLES==\n');
    await register(sb, s.conf);
    await sb.daemonReload();
    // Unit file symlinks: one unit with three names, no enabling needed.
    expect(await ok(sb, 'systemctl show -p Names --value subhost@al1.service')).toMatch(
      /^(?=.*\bsubhost@al1\.service\b)(?=.*\bsubhosts@al1\.service\b)(?=.*\boverlay-boot@al1\.service\b)/,
    );

    await ok(sb, 'systemctl start subhosts@al1');
    expect(await state(sb, U('al1'))).toBe('active');
    const pid = await mainPid(sb, 'al1');
    expect(pid).toBeGreaterThan(0);
    expect(await ok(sb, 'systemctl show -p Id,MainPID overlay-boot@al1.service')).toBe(`MainPID=${pid}\nId=subhost@al1.service\n`);
    // The same subhost: starting it under another name starts nothing new.
    await ok(sb, 'systemctl start overlay-boot@al1.service');
    expect(await mainPid(sb, 'al1')).toBe(pid);

    await ok(sb, 'systemctl stop overlay-boot@al1');
    await waitGone(sb, 'al1');
    expect(await state(sb, U('al1'))).toBe('inactive');
    await register(sb);
    await sb.daemonReload();
    expect(await counts(sb)).toEqual(clean());
  });
});

describe("service subhosts (1.6's init script)", () => {
  it('start starts the listed subhosts and says which failed, status tells, stop stops every subhost', async () => {
    const sb = sandbox();
    const a = await makeSubhost(sb, 'sv1', 'BASE=.\nSTART=none\nCABLES==\n');
    const b = await makeSubhost(sb, 'sv2', 'BASE=.\nSTART=none\n');
    // Starts, then its reaper is not there: the unit fails.
    const bad = await makeSubhost(sb, 'sv3', 'BASE=.\nSTART=none\nREAPER=/nonexistent\n');
    // Skipped by the generator: said by start too, as 1.6's script did.
    const broken = await makeSubhost(sb, 'sv5', 'BASE=.\nSTART=none\nRAM_SIZE=big\n');
    await register(sb, a.conf, b.conf, bad.conf, broken.conf);
    await sb.daemonReload();

    // As in 1.6, a failing subhost neither stops the others nor fails the
    // command; it is named in the status, and is a failed unit itself.
    let r = await sh(sb, 'service subhosts start');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await state(sb, U('sv1'))).toBe('active');
    expect(await state(sb, U('sv2'))).toBe('active');
    expect(await state(sb, U('sv3'))).toBe('failed');
    r = await sh(sb, 'service subhosts status');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Active: active \(exited\)/);
    expect(r.stdout).toContain('subhost@sv3.service is failed: see systemctl status subhost@sv3.service');
    expect(r.stdout).toMatch(/running: (sv1 sv2|sv2 sv1); failed: sv3; not started: 1 listed config\(s\), see above$/m);
    expect(r.stdout).toContain(
      `${broken.conf}:3: RAM_SIZE: "big" must be a size such as 50M, 1G or 10%, or "none" (listed at /etc/subhosts.conf:5; skipped)`,
    );

    // 1.6's stop stopped every running subhost, listed or not; it waits for them.
    const extra = await makeSubhost(sb, 'sv4', 'BASE=.\nSTART=none\nCABLES==\n');
    await ok(sb, `overlay-boot ${extra.conf}`);
    expect(await state(sb, U('sv4'))).toBe('active');
    await ok(sb, 'service subhosts stop');
    for (const n of ['sv1', 'sv2', 'sv4']) expect(await state(sb, U(n)), n).toBe('inactive');
    expect(await state(sb, 'subhost-netns@sv1.service')).toBe('inactive');
    expect(await state(sb, 'subhosts.target')).toBe('inactive');
    r = await sh(sb, 'service subhosts status');
    expect(r.exitCode).toBe(3);

    // The init script under its 1.6 path does the same (init-functions
    // hands it to systemctl).
    await register(sb, a.conf, b.conf);
    await sb.daemonReload();
    r = await sh(sb, '/etc/init.d/subhosts start');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await state(sb, U('sv1'))).toBe('active');
    expect(await state(sb, U('sv2'))).toBe('active');
    expect(await ok(sb, '/etc/init.d/subhosts status')).toMatch(/running: (sv1 sv2|sv2 sv1)$/m);
    // restart (1.6 refused it): every subhost stopped, the listed ones started again.
    const before = await mainPid(sb, 'sv1');
    await ok(sb, 'service subhosts restart');
    expect(await state(sb, U('sv1'))).toBe('active');
    expect(await mainPid(sb, 'sv1')).not.toBe(before);
    await ok(sb, '/etc/init.d/subhosts stop');
    for (const n of ['sv1', 'sv2']) await waitGone(sb, n);

    // Stopped while not active (here: never started), it still stops
    // every subhost, without waiting for them.
    await ok(sb, `overlay-boot ${extra.conf}`);
    await ok(sb, 'systemctl reset-failed subhosts.service subhost@sv3.service; service subhosts stop');
    await waitGone(sb, 'sv4');

    await register(sb);
    await sb.daemonReload();
    expect(await counts(sb)).toEqual(clean());
  });
});

describe('an unknown NAME', () => {
  it('fails subhost@NAME itself, with the reason in its status, and leaves nothing', async () => {
    const sb = sandbox();
    await register(sb);
    const r = await sh(sb, 'systemctl start subhost@nosuch');
    expect(r.exitCode).not.toBe(0);
    // Not "a dependency job failed": the subhost's own start failed.
    expect(r.stderr).toContain('Job for subhost@nosuch.service failed because the control process exited with error code.');
    await waitGone(sb, 'nosuch');
    const st = await sh(sb, 'systemctl status --no-pager -n 20 subhost@nosuch');
    expect(st.stdout).toContain(
      'no config for subhost "nosuch": looked at $OVERLAY_BOOT_CONF (unset), /run/overlay-boot/registry/nosuch.conf (absent) and the 0 config(s) listed in /etc/subhosts.conf (none has NAME nosuch)',
    );
    expect(st.stdout).toMatch(/Active: failed \(Result: exit-code\)/);
    expect(await state(sb, 'subhost-netns@nosuch.service')).toBe('inactive');
    await ok(sb, 'systemctl reset-failed subhost@nosuch.service');
    expect(await counts(sb)).toEqual(clean());
  });

  it('enabled with systemctl enable but not listed: fails at boot saying to use overlay-boot enable CONF', async () => {
    let sb = sandbox();
    const s = await makeSubhost(sb, 'en1', 'BASE=.\nSTART=none\n');
    // Started by hand (registered for this boot only), then enabled the systemd way.
    await ok(sb, `overlay-boot ${s.conf}`);
    await ok(sb, 'systemctl enable subhost@en1');
    // enable reloads systemd: the generator warns at once, in the kernel log.
    expect(await sb.kmsg()).toContain(
      '<4>overlay-boot-generator: subhost@en1.service is enabled (/etc/systemd/system/subhosts.target.wants/subhost@en1.service), but no config listed in /etc/subhosts.conf has NAME en1: it will fail at boot; use "overlay-boot enable CONF" and "systemctl disable subhost@en1"',
    );
    sb = await sandbox.reboot();
    // subhosts.target (wanted through the enable link) started it, and it failed.
    await ok(sb, 'systemctl start subhosts.target');
    expect(await state(sb, U('en1'))).toBe('failed');
    const st = await sh(sb, 'systemctl status --no-pager -n 20 subhost@en1');
    expect(st.stdout).toContain(
      'it is enabled by /etc/systemd/system/subhosts.target.wants/subhost@en1.service, but systemctl enable cannot say which config: list it with "overlay-boot enable CONF" and "systemctl disable subhost@en1"',
    );
    expect(await ok(sb, 'systemctl status --no-pager subhosts.service || true')).toContain('failed: en1');

    // What the message says works: at the next boot it runs.
    await ok(sb, `systemctl disable subhost@en1 && overlay-boot enable ${s.conf}`);
    sb = await sandbox.reboot();
    await ok(sb, 'systemctl start subhosts.target');
    expect(await state(sb, U('en1'))).toBe('active');
    await ok(sb, `overlay-boot stop en1 && overlay-boot disable ${s.conf}`);
    await waitGone(sb, 'en1');
  });
});
