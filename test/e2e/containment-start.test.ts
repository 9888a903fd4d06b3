// CONTAINMENT on every start path: a config started by its path gets the
// same unit fence as a listed one (overlay-boot start writes the drop-in
// the generator would), and a unit whose fence no longer matches its
// config (edited without a daemon-reload) refuses to start, saying why.
import { describe, it, expect } from 'vitest';
import { useInstalledSandbox, makeSubhost, register, inside, journalOf, stopSubhost } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;
const SERVICE = 'org.freedesktop.systemd1.Service';
const FULL = 0x1ffffffffffn; // every capability this kernel knows (CAP_LAST_CAP 40)

async function capBnd(sb: ReturnType<ReturnType<typeof useInstalledSandbox>['sandbox']>, name: string): Promise<bigint> {
  const line = (await inside(sb, name, ['grep', 'CapBnd', '/proc/1/status'])).stdout.trim();
  return BigInt(`0x${line.split(/\s+/)[1]}`);
}

/** What the sandbox's own systemd may hand out (this machine lacks some capabilities itself). */
async function sandboxCapBnd(sb: Parameters<typeof capBnd>[0]): Promise<bigint> {
  const line = (await sb.run(['grep', 'CapBnd', '/proc/1/status'])).stdout.trim();
  return BigInt(`0x${line.split(/\s+/)[1]}`);
}

describe('CONTAINMENT on every start path', () => {
  const { sandbox } = useInstalledSandbox();

  it('overlay-boot start CONF: none gets the opt-out drop-in, contained and private-users the template fence', async () => {
    const sb = sandbox();
    const open = await makeSubhost(sb, 'opn', 'BASE=.\nSTART=none\nCONTAINMENT=none\n');
    const shut = await makeSubhost(sb, 'sht', 'BASE=.\nSTART=none\nCONTAINMENT=contained\n');
    const priv = await makeSubhost(sb, 'prv', 'BASE=.\nSTART=none\n');
    await register(sb); // neither is listed: only overlay-boot start can give them their fence
    await sb.daemonReload();

    const r = await sb.run(['overlay-boot', 'start', open.conf], { timeoutMs: 60_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await sb.run(['cat', '/run/systemd/system/subhost@opn.service.d/50-overlay-boot-start.conf'])).stdout).toContain(
      'CapabilityBoundingSet=~',
    );
    expect(BigInt((await sb.unitProperty(U('opn'), SERVICE, 'CapabilityBoundingSet')) as bigint) & FULL).toBe(FULL);
    // The reaper, PID 1 inside: every capability, no filter (1.6).
    expect(await capBnd(sb, 'opn')).toBe(await sandboxCapBnd(sb));
    expect((await inside(sb, 'opn', ['grep', 'Seccomp:', '/proc/1/status'])).stdout).toMatch(/Seccomp:\s+0/);

    expect((await sb.run(['overlay-boot', 'start', shut.conf], { timeoutMs: 60_000 })).exitCode).toBe(0);
    // No drop-in needed: the template is the contained fence.
    expect((await sb.run(['test', '-e', '/run/systemd/system/subhost@sht.service.d/50-overlay-boot-start.conf'])).exitCode).toBe(1);
    const cap = await capBnd(sb, 'sht');
    expect(cap & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN
    expect(cap & (1n << 16n)).toBe(0n); // CAP_SYS_MODULE
    expect((await inside(sb, 'sht', ['grep', 'Seccomp:', '/proc/1/status'])).stdout).toMatch(/Seccomp:\s+2/);

    // The default, private-users: the same template fence, CAP_SYS_ADMIN
    // kept but only in its own user namespace (root inside is a range).
    expect((await sb.run(['overlay-boot', 'start', priv.conf], { timeoutMs: 60_000 })).exitCode).toBe(0);
    expect((await sb.run(['test', '-e', '/run/systemd/system/subhost@prv.service.d/50-overlay-boot-start.conf'])).exitCode).toBe(1);
    const pcap = await capBnd(sb, 'prv');
    expect(pcap & (1n << 21n)).not.toBe(0n); // CAP_SYS_ADMIN, inside its user namespace
    expect(pcap & (1n << 16n)).toBe(0n); // CAP_SYS_MODULE
    expect((await inside(sb, 'prv', ['grep', 'Seccomp:', '/proc/1/status'])).stdout).toMatch(/Seccomp:\s+2/);
    expect((await inside(sb, 'prv', ['cat', '/proc/1/uid_map'])).stdout).toMatch(/^\s*0\s+[1-9][0-9]+\s+65536\s*$/);
    expect(await stopSubhost(sb, 'prv')).toBe('done');

    expect(await stopSubhost(sb, 'opn')).toBe('done');
    expect(await stopSubhost(sb, 'sht')).toBe('done');
  });

  it('a listed config edited to CONTAINMENT=none without daemon-reload is refused with the reason, and starts after the reload', async () => {
    const sb = sandbox();
    const s = await makeSubhost(sb, 'edt', 'BASE=.\nSTART=none\n');
    await register(sb, s.conf);
    await sb.daemonReload();
    await sb.writeFile(s.conf, 'BASE=.\nSTART=none\nCONTAINMENT=none\n', 0o644);
    expect(await sb.startUnit(U('edt'))).not.toBe('done');
    expect(await journalOf(sb, U('edt'))).toContain('the config says CONTAINMENT=none, but the unit still confines it');
    // Nothing of the refused start is left in UPPER.
    expect((await sb.run(['ls', '-A', `${s.base}/root`])).stdout.trim()).toBe('');
    await sb.daemonReload();
    expect(await sb.startUnit(U('edt'))).toBe('done');
    expect(await capBnd(sb, 'edt')).toBe(await sandboxCapBnd(sb));
    expect(await stopSubhost(sb, 'edt')).toBe('done');
  });
});
