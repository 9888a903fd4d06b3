// Each subhost its own machine (issue 22): `overlay-boot create` gives a
// subhost its own /etc/hostname, /etc/machine-id and ssh host keys (in
// UPPER), so two of them answer ssh over their cables with keys of their
// own, have their own machine ids (machined shows them) and hostnames;
// a root with its own /etc/hostname (1.6's manual: `echo mta >
// ROOT/etc/hostname`) is called that; one that only sees the host's is
// called NAME; root inside can change it at CONTAINMENT=none.
import { describe, it, expect, afterAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, inside, state, stopSubhost, counts, ok, until, startOk, journalOf } from './kit.js';

const hostnameIn = async (sb: Sandbox, name: string) => (await ok(inside(sb, name, ['cat', '/proc/sys/kernel/hostname']))).trim();

describe('identity', () => {
  const { sandbox, clean } = useInstalledSandbox();
  const made: string[] = [];

  afterAll(async () => {
    const sb = sandbox();
    if (sb.stopped) return;
    for (const n of made) if ((await state(sb, `subhost@${n}.service`)) === 'active') await stopSubhost(sb, n);
    await sb.run(['sh', '-c', 'for n in idA idB; do overlay-boot remove --purge $n; done >/dev/null 2>&1 || true']);
    expect(await counts(sb)).toEqual(clean());
  });

  it('two subhosts from create: their own ssh host keys (ssh-keyscan over their cables), machine ids and hostnames', async () => {
    const sb = sandbox();
    const host = {
      key: (await sb.readFile('/etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!,
      id: (await sb.readFile('/etc/machine-id')).trim(),
    };
    const seen: { key: string; id: string; hostname: string }[] = [];
    for (const [name, hostAddr, subAddr] of [
      ['idA', '192.0.2.9', '192.0.2.10'],
      ['idB', '192.0.2.17', '192.0.2.18'],
    ] as const) {
      made.push(name);
      await sb.writeFile(`/etc/network/interfaces.d/ob-${name}`, `iface ${name}0 inet static\n    address ${hostAddr}/29\n`);
      const out = await ok(
        sb.run(['overlay-boot', 'create', '--base', `${sb.dataDir}/${name}`, '--cable', '=', '--start', 'ssh', '--now', name]),
        'create',
      );
      expect(out).toMatch(
        new RegExp(`^gave subhost ${name} its own hostname ${name}, machine-id [0-9a-f]{32}, ssh host keys \\(in UPPER\\)$`, 'm'),
      );
      // check sees no twin: nothing to warn about.
      expect((await sb.run(['overlay-boot', 'check', `${sb.dataDir}/${name}/${name}.conf`])).stderr).toBe('');
      await ok(sb.run(['ip', '-n', name, 'addr', 'add', `${subAddr}/29`, 'dev', 'eth0']));
      await ok(sb.run(['ip', '-n', name, 'link', 'set', 'eth0', 'up']));
      let scan = '';
      await until(`sshd of ${name} answers`, async () => {
        scan = (await sb.run(['ssh-keyscan', '-T', '5', '-t', 'ed25519', subAddr])).stdout;
        return scan.includes('ssh-ed25519');
      });
      const key = scan
        .split('\n')
        .find((l) => l.startsWith(`${subAddr} ssh-ed25519 `))!
        .split(' ')[2]!;
      expect(key).toBe((await ok(inside(sb, name, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub']))).split(' ')[1]);
      seen.push({ key, id: (await ok(inside(sb, name, ['cat', '/etc/machine-id']))).trim(), hostname: await hostnameIn(sb, name) });
    }
    expect(seen.map((s) => s.hostname)).toEqual(['idA', 'idB']);
    expect(new Set([host.key, ...seen.map((s) => s.key)]).size).toBe(3);
    expect(new Set([host.id, ...seen.map((s) => s.id)]).size).toBe(3);
    // machined shows each one's own id (subhost-machine passes it).
    for (const [i, name] of ['idA', 'idB'].entries()) {
      let shown = '';
      await until(`machined shows ${name}`, async () => {
        shown = (await sb.run(['machinectl', 'show', name, '-p', 'Id', '--value'])).stdout.trim();
        return shown !== '';
      });
      expect(shown, await journalOf(sb, `subhost-machine@${name}.service`)).toBe(seen[i]!.id);
    }
    for (const name of ['idA', 'idB']) await ok(sb.run(['overlay-boot', 'remove', '--purge', name]), 'remove');
  });

  it("the hostname: the root's own /etc/hostname, else NAME (also when it is the host's); hostname x inside at CONTAINMENT=none", async () => {
    const sb = sandbox();
    const mta = await makeSubhost(sb, 'hn1', 'BASE=.\nSTART=none\n');
    await ok(sb.run(['mkdir', '-p', `${mta.base}/root/etc`]));
    await sb.writeFile(`${mta.base}/root/etc/hostname`, 'mta\n');
    const plain = await makeSubhost(sb, 'hn2', 'BASE=.\nSTART=none\n');
    const twin = await makeSubhost(sb, 'hn3', 'BASE=.\nSTART=none\nCONTAINMENT=none\n');
    await ok(sb.run(['mkdir', '-p', `${twin.base}/root/etc`]));
    await sb.writeFile(`${twin.base}/root/etc/hostname`, await sb.readFile('/etc/hostname'));
    for (const s of [mta, plain, twin]) {
      made.push(s.name);
      await ok(sb.run(['overlay-boot', 'start', s.conf]), `start ${s.name}`);
    }
    expect(await hostnameIn(sb, 'hn1')).toBe('mta');
    expect(await hostnameIn(sb, 'hn2')).toBe('hn2');
    expect(await hostnameIn(sb, 'hn3')).toBe('hn3');
    // Root inside may rename its subhost (its own uts namespace): at
    // CONTAINMENT=none it holds CAP_SYS_ADMIN. (At the default level that
    // needs the subhost's own user namespace: see README.)
    const sandboxName = (await ok(sb.run(['hostname']))).trim();
    await ok(inside(sb, 'hn3', ['hostname', 'webhost']), 'hostname webhost');
    expect(await hostnameIn(sb, 'hn3')).toBe('webhost');
    expect((await ok(sb.run(['hostname']))).trim()).toBe(sandboxName);
    // Read again at the next start: changed in UPPER, it follows.
    await stopSubhost(sb, 'hn1');
    await sb.writeFile(`${mta.base}/root/etc/hostname`, 'mail2\n');
    await startOk(sb, 'hn1');
    expect(await hostnameIn(sb, 'hn1')).toBe('mail2');
    for (const n of ['hn1', 'hn2', 'hn3']) await stopSubhost(sb, n);
  });
});
