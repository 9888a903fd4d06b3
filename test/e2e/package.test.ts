// The Debian package end to end: built from this tree by debian/build-deb
// (into build-deb/, reused while the sources are unchanged; setup.sh
// builds it ahead with OVERLAY_BOOT_BUILD_DEB=1), lintian-clean, installed
// with dpkg -i into a fresh sandbox systemd, where a subhost listed in
// /etc/subhosts.conf comes up at the next boot; then purged, leaving no
// file of the package, no unit and no generator output, but the admin's
// subhost directory.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { useSandbox } from '../sandbox/vitest.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { ROOT, makeSubhost, register, state, journalOf, mainPid } from './kit.js';

/** Lintian warnings, each with the reason it is accepted (see debian/README.source). */
const ACCEPTED_WARNINGS: Record<string, string> = {
  // Not uploaded to Debian: there is no ITP bug to close.
  'initial-upload-closes-no-bugs': 'no ITP',
  // subhost@.service's [Install] WantedBy=subhosts.target is what makes
  // `systemctl enable subhost@X` mean "start with the other subhosts".
  'systemd-service-file-refers-to-unusual-wantedby-target': 'subhosts.target by design',
};

let deb: string;
let lintian: string;
let files: string[]; // what the package ships (dpkg -c), as absolute paths

beforeAll(async () => {
  if (process.env.OVERLAY_BOOT_DEB) {
    // A .deb built elsewhere (debian/build-deb OUTDIR leaves lintian.txt beside it).
    deb = process.env.OVERLAY_BOOT_DEB;
  } else {
    const r = await execa(join(ROOT, 'debian/build-deb'), [], { reject: false });
    if (r.exitCode !== 0) throw new Error(`debian/build-deb: ${r.stderr}`);
    deb = r.stdout.trim().split('\n').pop()!;
  }
  lintian = readFileSync(join(dirname(deb), 'lintian.txt'), 'utf8');
  files = (await execa('dpkg-deb', ['--fsys-tarfile', deb]).pipe('tar', ['-t'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^\./, '').replace(/\/$/, ''))
    .filter(Boolean);
}, 300_000);

describe('the .deb', () => {
  it('is overlay-boot 2.0.0-1 with the declared relations, a conffile, maintainer scripts and the 1.6 commands', async () => {
    expect(deb).toMatch(/\/overlay-boot_2\.0\.0-1_[a-z0-9]+\.deb$/);
    const f = async (field: string) => (await execa('dpkg-deb', ['-f', deb, field])).stdout.trim();
    expect(await f('Depends')).toMatch(/^nodejs \(>= 18\.19\), iproute2, util-linux \(>= [0-9.]+\), systemd(, .*)?$/);
    // ifupdown: ifup of host cable ends; attr (getfattr): overlay-clean-root; fdisk (sfdisk): overlay-diskfile partitions.
    expect(await f('Recommends')).toBe('ifupdown, attr, fdisk, zstd, openssh-client');
    // glibc: the start helpers; musl: the reaper (both linked statically).
    expect(await f('Built-Using')).toMatch(/^glibc \(= [^)]+\), musl \(= [^)]+\)$/);
    const control = (await execa('dpkg-deb', ['--ctrl-tarfile', deb]).pipe('tar', ['-t'])).stdout;
    for (const c of ['conffiles', 'preinst', 'postinst', 'prerm', 'postrm']) expect(control).toContain(`./${c}`);
    for (const p of [
      '/usr/lib/overlay-boot/overlay-boot-runtime.cjs',
      '/usr/lib/overlay-boot/reaper',
      '/usr/lib/overlay-boot/subhost-relay',
      '/usr/lib/overlay-boot/subhost-enter',
      '/usr/lib/overlay-boot/subhost-netns',
      '/usr/lib/overlay-boot/subhost-bind',
      '/usr/lib/overlay-boot/subhost-go',
      '/usr/lib/overlay-boot/subhost-addrs',
      // The default hooks, for 1.6 hooks that run them (overlay-boot.conf(5)).
      '/usr/lib/overlay-boot/overlay-premount',
      '/usr/lib/overlay-boot/overlay-postmount',
      '/usr/lib/overlay-boot/overlay-init',
      '/usr/lib/systemd/system/subhost@.service',
      '/usr/lib/systemd/system/subhost-netns@.service',
      '/usr/lib/systemd/system/subhosts.target',
      '/usr/lib/systemd/system/subhost.slice',
      '/usr/lib/overlay-boot/subhost-machine',
      '/usr/lib/systemd/system/subhost-machine@.service',
      '/usr/share/polkit-1/actions/org.overlay-boot.policy',
      '/usr/share/doc/overlay-boot/examples/50-overlay-boot.rules',
      // 1.6's names: unit aliases of subhost@, and its init script's (subhosts.service).
      '/usr/lib/systemd/system/subhosts@.service',
      '/usr/lib/systemd/system/overlay-boot@.service',
      '/usr/lib/systemd/system/subhosts.service',
      '/etc/init.d/subhosts',
      '/usr/lib/overlay-boot/subhosts-service',
      '/usr/lib/systemd/system-generators/overlay-boot-generator',
      '/etc/subhosts.conf',
      '/usr/sbin/overlay-boot',
      '/usr/sbin/overlay-stop',
      '/usr/sbin/overlay-go',
      '/usr/sbin/overlay-share',
      '/usr/sbin/overlay-diskfile',
      '/usr/sbin/overlay-boot-generator',
      '/usr/share/man/man8/overlay-boot-generator.8.gz',
      '/usr/share/man/man8/overlay-boot.8.gz',
      '/usr/share/man/man5/overlay-boot.conf.5.gz',
      '/usr/share/man/man8/subhost@.service.8.gz',
      '/usr/share/man/man7/overlay-boot-subhost-scripts.7.gz',
      '/usr/share/bash-completion/completions/overlay-boot',
      '/usr/share/overlay-boot/subhost-scripts/devnodes',
      '/usr/share/overlay-boot/subhost-scripts/wait-online',
    ])
      expect(files, p).toContain(p);
  });

  it('lintian: no errors; only the accepted warnings', () => {
    const tags = lintian.split('\n').filter((l) => /^[EW]: /.test(l));
    expect(
      tags.filter((l) => l.startsWith('E: ')),
      lintian,
    ).toEqual([]);
    for (const w of tags) expect(Object.keys(ACCEPTED_WARNINGS), w).toContain(w.split(' ')[2]);
  });
});

describe('dpkg -i, boot, dpkg --purge in a sandbox systemd', () => {
  const sandbox = useSandbox({ wants: ['subhosts.target'] });
  const exists = async (sb: Sandbox, p: string) =>
    (await sb.run(['test', '-e', p])).exitCode === 0 || (await sb.run(['test', '-L', p])).exitCode === 0;
  const ok = async (sb: Sandbox, argv: string[]) => {
    const r = await sb.run(argv);
    if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: exit ${r.exitCode}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  it("starts a registered subhost at boot and leaves nothing of itself after purge but the admin's subhost", async () => {
    let sb = sandbox();
    // This machine (a container image) has a policy-rc.d that forbids every
    // service action, which deb-systemd-invoke obeys; a real host has none.
    await sb.run(['rm', '-f', '/usr/sbin/policy-rc.d']);
    // Not part of what is tested, and seconds per dpkg run: man-db's index update.
    await sb.run(['rm', '-f', '/var/lib/man-db/auto-update']);
    // What already exists before (shared directories such as /usr/share/man/man8) stays after purge.
    const before = new Set<string>();
    for (const f of files) if (await exists(sb, f)) before.add(f);
    expect([...before].filter((f) => f.includes('overlay-boot') || f.includes('subhost'))).toEqual([]);

    await sb.writeFile('/var/tmp/overlay-boot.deb', readFileSync(deb));
    await ok(sb, ['dpkg', '-i', '/var/tmp/overlay-boot.deb']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} format
    expect(await ok(sb, ['dpkg-query', '-W', '-f', '${Status} ${Version}', 'overlay-boot'])).toBe('install ok installed 2.0.0-1');
    // postinst reloaded systemd (the template is known) and started, enabled nothing.
    expect(await sb.unitProperty('subhost@none.service', 'org.freedesktop.systemd1.Unit', 'LoadState')).toBe('loaded');
    expect(await state(sb, 'subhosts.target')).toBe('inactive');
    expect(
      (await ok(sb, ['sh', '-c', 'ls /etc/systemd/system /etc/systemd/system/*.wants 2>/dev/null | grep -c subhost || true'])).trim(),
    ).toBe('0');
    // /etc/init.d/subhosts is registered as init scripts are (rc links), and enables no unit.
    expect((await ok(sb, ['sh', '-c', 'ls /etc/rc2.d | grep subhosts || true'])).trim()).toMatch(/^S\d\dsubhosts$/);
    // The installed commands run (Node.js bundle behind the /usr/sbin link).
    const s = await makeSubhost(sb, 'pkg1', 'BASE=.\nSTART=none\nCABLES==\n');
    expect(await ok(sb, ['overlay-boot', 'check', s.conf])).toContain(`${s.conf}: valid`);
    expect(await ok(sb, ['man', '-w', 'overlay-boot.conf'])).toContain('/usr/share/man/man5/overlay-boot.conf.5.gz');
    // The generator's dry run by its name on PATH (README's Commands table).
    expect(await ok(sb, ['overlay-boot-generator', '--dry-run'])).toBe('');

    // Listed in /etc/subhosts.conf: up at the next boot (the generator pulls in subhosts.target).
    await register(sb, s.conf);
    sb = await sandbox.reboot();
    const st = await state(sb, 'subhost@pkg1.service');
    if (st !== 'active') throw new Error(`pkg1: ${st}\n${await journalOf(sb, 'subhost@pkg1.service')}\n${await sb.kmsg()}`);
    expect(await mainPid(sb, 'pkg1')).toBeGreaterThan(0);
    expect(await exists(sb, '/run/systemd/generator/subhost@pkg1.service.d')).toBe(true);
    expect(await exists(sb, '/run/systemd/generator/multi-user.target.wants/subhosts.target')).toBe(true);
    // An upgrade (here: the same version again, which runs the upgrade
    // paths of prerm and postinst) neither stops nor restarts a subhost.
    const pid = await mainPid(sb, 'pkg1');
    await ok(sb, ['dpkg', '-i', '/var/tmp/overlay-boot.deb']);
    expect(await state(sb, 'subhost@pkg1.service')).toBe('active');
    expect(await mainPid(sb, 'pkg1')).toBe(pid);
    expect(await journalOf(sb, 'subhost@pkg1.service')).not.toMatch(/Stopping subhost@pkg1/);

    const listed = (await ok(sb, ['dpkg', '-L', 'overlay-boot'])).split('\n').filter((l) => l.startsWith('/') && l !== '/.');
    expect(listed).toEqual(
      expect.arrayContaining(files.filter((f) => !f.startsWith('/usr/share/doc/') || f === '/usr/share/doc/overlay-boot/copyright')),
    );

    // Purge: the subhost is stopped first (prerm), then everything goes.
    await ok(sb, ['dpkg', '--purge', 'overlay-boot']);
    expect(await state(sb, 'subhost@pkg1.service')).not.toBe('active');
    const ns = (await ok(sb, ['ip', 'netns', 'list'])).trim();
    if (ns !== '')
      throw new Error(
        `netns left: ${ns}\n${await journalOf(sb, 'subhost-netns@pkg1.service')}\n${await journalOf(sb, 'subhost@pkg1.service')}`,
      );
    expect((await ok(sb, ['ip', '-o', 'link', 'show'])).includes('pkg10')).toBe(false);
    await sb.daemonReload();
    const left = [];
    for (const f of [...listed, ...files]) if (!before.has(f) && (await exists(sb, f))) left.push(f);
    expect(left).toEqual([]);
    expect(await exists(sb, '/etc/subhosts.conf')).toBe(false);
    expect(await exists(sb, '/run/overlay-boot')).toBe(false);
    expect((await ok(sb, ['sh', '-c', 'ls -A /run/systemd/generator /run/systemd/generator/*/ | grep -i subhost || true'])).trim()).toBe(
      '',
    );
    expect((await ok(sb, ['sh', '-c', 'ls /var/lib/dpkg/info | grep overlay-boot || true'])).trim()).toBe('');
    // update-rc.d's links for /etc/init.d/subhosts went with it.
    expect((await ok(sb, ['sh', '-c', 'ls /etc/rc?.d | grep subhosts || true'])).trim()).toBe('');
    expect((await ok(sb, ['sh', '-c', "systemctl list-unit-files --no-legend 'subhost*' || true"])).trim()).toBe('');
    expect(await sb.unitProperty('subhost@pkg1.service', 'org.freedesktop.systemd1.Unit', 'LoadState')).toBe('not-found');
    // The admin's subhost directory, its config and what the subhost wrote stay.
    for (const p of [s.base, s.conf, `${s.base}/root`, `${s.base}/work`, `${s.base}/live`]) expect(await exists(sb, p), p).toBe(true);
  });
});
