// A host where overlay-boot 1.6 was installed by its own `make install`
// (1.6's Makefile: /var/lib/overlay-boot/*, /etc/init.d/subhosts,
// /usr/lib/systemd/system/subhosts@.service, /etc/subhosts.conf, man
// pages; plus what admins added: /usr/sbin links into /var/lib/overlay-boot,
// overlay-boot@.service) gets the .deb: dpkg -i asks nothing, the package's
// files replace 1.6's where they would clash, the admin's subhosts.conf and
// subhost directories stay byte for byte, and after a reboot the listed
// subhosts run and 1.6's entry points reach them. The 1.6 files are the
// readable 1.6 sources in fixtures/overlay-boot-1.6/.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSandbox } from '../sandbox/vitest.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { ROOT, makeSubhost, state, journalOf, mainPid, waitGone } from './kit.js';

const FIX = join(ROOT, 'test/e2e/fixtures/overlay-boot-1.6');
const fix = (f: string) => readFileSync(join(FIX, f));
let deb: string;

beforeAll(async () => {
  if (process.env.OVERLAY_BOOT_DEB) deb = process.env.OVERLAY_BOOT_DEB;
  else {
    const r = await execa(join(ROOT, 'debian/build-deb'), [], { reject: false });
    if (r.exitCode !== 0) throw new Error(`debian/build-deb: ${r.stderr}`);
    deb = r.stdout.trim().split('\n').pop()!;
  }
}, 300_000);

describe('taking over a 1.6 make install', () => {
  const sandbox = useSandbox({ wants: ['subhosts.target'] });
  const ok = async (sb: Sandbox, cmd: string) => {
    const r = await sb.run(['sh', '-c', cmd]);
    if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const sum = async (sb: Sandbox, paths: string) =>
    ok(sb, `cd / && find ${paths} -print0 | sort -z | xargs -0 sha256sum 2>/dev/null; find ${paths} -printf '%p %y %m %s %l\\n' | sort`);

  it("installs without a question, keeps the admin's files, and the listed subhosts run after a reboot", async () => {
    let sb = sandbox();
    await ok(sb, 'rm -f /usr/sbin/policy-rc.d /var/lib/man-db/auto-update');

    // 1.6's `make install`, file by file.
    const varlib = ['overlay-boot', 'overlay-stop', 'functions'];
    for (const f of varlib) await sb.writeFile(`/var/lib/overlay-boot/${f}`, fix(f), 0o755);
    await sb.writeFile('/var/lib/overlay-boot/reaper', '\x7fELF (1.6 reaper stand-in)\n', 0o755);
    await sb.writeFile('/etc/init.d/subhosts', fix('subhosts.sh'), 0o755);
    await sb.writeFile('/usr/lib/systemd/system/subhosts@.service', fix('subhosts@.service'), 0o644);
    await sb.writeFile('/usr/lib/systemd/system/overlay-boot@.service', fix('overlay-boot@.service'), 0o644);
    await sb.writeFile(
      '/usr/share/man/man8/overlay-boot.8',
      '.TH OVERLAY-BOOT 8 "" "overlay-boot 1.6"\n.SH NAME\noverlay-boot \\- 1.6\n',
      0o644,
    );
    for (const c of ['overlay-boot', 'overlay-stop']) await ok(sb, `ln -sfn /var/lib/overlay-boot/${c} /usr/sbin/${c}`);
    // The admin's subhosts and list, as 1.6 read it.
    const a = await makeSubhost(sb, 'old1', 'BASE=.\nCABLES= =\nSTART= none\n');
    const b = await makeSubhost(sb, 'old2', '# a 1.6 config\nBASE = .\nSTART= none\n');
    await sb.writeFile('/etc/subhosts.conf', `${fix('subhosts.conf')}${a.conf}\n\n# old2 too\n${b.conf}\n`, 0o644);
    await ok(sb, 'systemctl daemon-reload');
    const adminBefore = await sum(sb, `etc/subhosts.conf var/lib/overlay-boot ${a.base.slice(1)} ${b.base.slice(1)}`);

    await sb.writeFile('/var/tmp/overlay-boot.deb', readFileSync(deb));
    // No terminal: a conffile question would fail dpkg here.
    const r = await sb.run(['dpkg', '-i', '/var/tmp/overlay-boot.deb']);
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/Configuration file/);
    expect(r.stdout).toContain('/etc/init.d/subhosts (not from a package: overlay-boot 1.6?) moved to /etc/init.d/subhosts.dpkg-old');

    // Unchanged: the admin's list (byte for byte, mode too), subhosts, and 1.6's program directory.
    expect(await sum(sb, `etc/subhosts.conf var/lib/overlay-boot ${a.base.slice(1)} ${b.base.slice(1)}`)).toBe(adminBefore);
    // dpkg knows it as the package's conffile, modified by the admin.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} format
    expect(await ok(sb, "dpkg-query -W -f='${Conffiles}' overlay-boot")).toMatch(/^ \/etc\/subhosts\.conf [0-9a-f]{32}$/m);
    // Replaced: 1.6's init script (kept aside), units, commands and man page.
    expect(await ok(sb, 'cat /etc/init.d/subhosts.dpkg-old')).toBe(fix('subhosts.sh').toString());
    expect(await ok(sb, 'cat /etc/init.d/subhosts')).toContain('subhosts.service');
    expect(await ok(sb, 'readlink /usr/lib/systemd/system/subhosts@.service /usr/lib/systemd/system/overlay-boot@.service')).toBe(
      'subhost@.service\nsubhost@.service\n',
    );
    expect(await ok(sb, 'readlink -f /usr/sbin/overlay-boot /usr/sbin/overlay-stop')).toBe(
      '/usr/lib/overlay-boot/overlay-boot.cjs\n/usr/lib/overlay-boot/overlay-stop.cjs\n',
    );
    expect(await ok(sb, 'man -w overlay-boot')).toBe('/usr/share/man/man8/overlay-boot.8.gz\n');
    await ok(sb, 'test ! -e /usr/share/man/man8/overlay-boot.8');
    // The 1.6 script kept aside is no service to systemd or to service(8).
    expect(await ok(sb, 'systemctl show -p LoadState --value subhosts.dpkg-old.service')).toBe('not-found\n');
    expect(await ok(sb, 'service --status-all 2>&1 | grep subhosts || true')).toMatch(/^ \[ [-+?] \] {2}subhosts\n$/);
    // Only the package's subhosts unit is known under the name `service` uses.
    expect(await ok(sb, 'systemctl show -p FragmentPath --value subhosts.service')).toBe('/lib/systemd/system/subhosts.service\n');

    sb = await sandbox.reboot();
    for (const n of ['old1', 'old2']) {
      const st = await state(sb, `subhost@${n}.service`);
      if (st !== 'active') throw new Error(`${n}: ${st}\n${await journalOf(sb, `subhost@${n}.service`)}\n${await sb.kmsg()}`);
    }
    expect(await ok(sb, 'service subhosts status')).toMatch(/running: (old1 old2|old2 old1)$/m);
    // 1.6's unit names reach the same subhosts.
    const pid = await mainPid(sb, 'old1');
    expect(await ok(sb, 'systemctl show -p MainPID --value subhosts@old1.service')).toBe(`${pid}\n`);
    await ok(sb, 'systemctl stop overlay-boot@old2.service');
    await waitGone(sb, 'old2');
    await ok(sb, 'service subhosts stop');
    await waitGone(sb, 'old1');
    expect((await ok(sb, 'ip netns list')).trim()).toBe('');

    // Purge takes the package's files, and its conffiles' old versions
    // (dpkg: the 1.6 init script, kept as /etc/init.d/subhosts.dpkg-old),
    // never the admin's subhosts or 1.6's /var/lib/overlay-boot.
    await ok(sb, 'dpkg --purge overlay-boot');
    await ok(sb, 'test ! -e /etc/init.d/subhosts && test ! -e /etc/init.d/subhosts.dpkg-old');
    await ok(sb, `test -d ${a.base}/root && test -e ${b.conf} && test -e /var/lib/overlay-boot/functions`);
  });
});
