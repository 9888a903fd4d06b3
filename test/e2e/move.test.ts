// overlay-boot move between two hosts (issue 26): two sandbox systemds
// joined by a veth cable, sshd on the second; a subhost with a service,
// setuid and setgid files, a file capability, an ACL, user xattrs,
// whiteouts and an opaque directory made by deleting LOWER files inside
// it, hard links and a sparse file, moved with `move --now`: on the other
// side it runs with every file the same (a manifest of stat, xattrs and
// content hashes), the same machine-id and ssh host key (as its sshd
// serves it), and it is gone from the first. Then hostile archives
// (`..`, an absolute path, a symlink and a file through it, a device
// node) are refused by import with nothing written, while plain GNU tar
// would have written through the symlink.
import { describe, it, expect, afterAll } from 'vitest';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox } from '../sandbox/sandbox.js';
import { variant } from '../sandbox/sandbox.js';
import { useInstalledSandbox, inside, state, stopSubhost, ok, until, sh, ROOT } from './kit.js';
import { member, tar } from '../unit/tar-member.js';
import { MANIFEST, CONFIG } from '../../cli/support/archive.js';

const NAME = 'mv1';
const A_ADDR = '192.0.2.1';
const B_ADDR = '192.0.2.2';
// Host-side names of the cable's ends until they are moved into the sandboxes.
const CABLE = `obmv${process.pid % 100000}`;

/**
 * Every entry of a tree, one line each: path, type, mode, owner, size,
 * mtime (ns), links, device numbers, content sha256, symlink target and
 * every xattr (hex); the inode is replaced by the first path that has it
 * (hard links compare as links, not as numbers of one filesystem).
 */
async function treeManifest(sb: Sandbox, dir: string): Promise<string[]> {
  const script = `cd '${dir}'
     find . -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
       s=$(stat -c '%F|%a|%u|%g|%s|%.9Y|%h|%t:%T|%i' -- "$f")
       h=-; if [ -f "$f" ] && [ ! -L "$f" ]; then h=$(sha256sum < "$f" | cut -c1-64); fi
       l=-; if [ -L "$f" ]; then l=$(readlink -- "$f"); fi
       x=$(getfattr -h -d -m - -e hex -- "$f" 2>/dev/null | grep -v '^#' | grep . | LC_ALL=C sort | tr '\\n' ' ')
       printf '%s|%s|%s|%s|%s\\n' "$f" "$s" "$h" "$l" "$x"
     done`;
  // bash, for read -d ''.
  return (await ok(sb.run(['bash', '-ec', script]), 'manifest')).split('\n').filter(Boolean);
}

function withLinks(lines: string[]): string[] {
  const first = new Map<string, string>();
  return lines.map((l) => {
    const f = l.split('|');
    if (f[1] === 'character special file' && f[8] === '0:0') {
      // overlayfs makes whiteouts as links of one inode; GNU tar records no
      // hard links of device nodes, so they come back as one inode each
      // (overlayfs reads both the same).
      f[7] = f[9] = 'whiteout';
      return f.join('|');
    }
    const ino = f[9]!;
    if (!first.has(ino)) first.set(ino, f[0]!);
    f[9] = `=${first.get(ino)}`;
    return f.join('|');
  });
}

describe('overlay-boot move between two hosts', () => {
  const a = useInstalledSandbox({ hostname: 'obt-host-a' }).sandbox;
  const b = useInstalledSandbox({ hostname: 'obt-host-b' }).sandbox;
  const key = '/srv/subhosts/move-key';
  const machineId = [...crypto.getRandomValues(new Uint8Array(16))].map((x) => x.toString(16).padStart(2, '0')).join('');
  let hostKey = '';
  let before: string[] = [];

  afterAll(async () => {
    await execa('ip', ['link', 'del', `${CABLE}a`], { reject: false });
    for (const sb of [a(), b()]) {
      if (!sb.stopped && (await state(sb, `subhost@${NAME}.service`)) === 'active') await stopSubhost(sb, NAME);
    }
  });

  it('the two hosts reach each other over a cable; the second runs sshd', async () => {
    const A = a();
    const B = b();
    await execa('ip', ['link', 'add', `${CABLE}a`, 'type', 'veth', 'peer', 'name', `${CABLE}b`]);
    await execa('ip', ['link', 'set', `${CABLE}a`, 'netns', String(A.pid)]);
    await execa('ip', ['link', 'set', `${CABLE}b`, 'netns', String(B.pid)]);
    await sh(A, `ip link set ${CABLE}a name cable0 && ip addr add ${A_ADDR}/24 dev cable0 && ip link set cable0 up`);
    await sh(B, `ip link set ${CABLE}b name cable0 && ip addr add ${B_ADDR}/24 dev cable0 && ip link set cable0 up`);
    // sshd on B for root with A's key; A's ssh client knows B as "host-b".
    await ok(A.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'obt-move', '-f', key]), 'ssh-keygen');
    await B.writeFile('/srv/subhosts/move-authorized', await A.readFile(`${key}.pub`), 0o600);
    await ok(B.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/srv/subhosts/move-hostkey']), 'ssh-keygen');
    const sshd = [
      '/usr/sbin/sshd',
      '-D',
      '-e',
      '-f',
      '/dev/null',
      ...[`ListenAddress=${B_ADDR}`, 'HostKey=/srv/subhosts/move-hostkey', 'AuthorizedKeysFile=/srv/subhosts/move-authorized'].flatMap(
        (o) => ['-o', o],
      ),
      ...['PermitRootLogin=prohibit-password', 'StrictModes=no', 'UsePAM=no', 'PidFile=none'].flatMap((o) => ['-o', o]),
    ];
    expect(
      await B.startTransientUnit('obt-move-sshd.service', [
        ['ExecStart', variant('a(sasb)', [[sshd[0]!, sshd, false]])],
        ['RuntimeDirectory', variant('as', ['sshd'])],
      ]),
    ).toBe('done');
    await A.writeFile(
      '/root/.ssh/config',
      `Host host-b\n  HostName ${B_ADDR}\n  User root\n  IdentityFile ${key}\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n`,
      0o600,
    );
    await until('sshd on B answers', async () => (await A.run(['ssh', 'host-b', 'hostname'])).stdout.trim() === 'obt-host-b');
  });

  it('a subhost with a service and every kind of file is made on A', async () => {
    const A = a();
    const base = `${A.dataDir}/${NAME}`;
    await ok(A.run(['overlay-boot', 'create', '--base', base, '--start', 'ssh', '--enable', '--now', NAME]), 'create');
    // Whiteouts and an opaque directory: LOWER files deleted inside.
    await ok(inside(A, NAME, ['sh', '-ec', 'rm /etc/motd /etc/issue.net; rm -rf /etc/skel; mkdir /etc/skel; echo new > /etc/skel/only']));
    await stopSubhost(A, NAME);
    const up = `${base}/root`;
    await sh(
      A,
      `mkdir -p ${up}/usr/local/bin ${up}/srv/data ${up}/etc/ssh
       cp /bin/true ${up}/usr/local/bin/suid && chmod 4755 ${up}/usr/local/bin/suid
       cp /bin/true ${up}/usr/local/bin/sgid && chown 1000:1000 ${up}/usr/local/bin/sgid && chmod 2750 ${up}/usr/local/bin/sgid
       cp /bin/true ${up}/usr/local/bin/capped && setcap cap_net_raw+ep ${up}/usr/local/bin/capped
       echo linked > ${up}/srv/data/h1 && ln ${up}/srv/data/h1 ${up}/srv/data/h2 && ln ${up}/srv/data/h1 ${up}/srv/data/h3
       truncate -s 300M ${up}/srv/data/sparse && echo end >> ${up}/srv/data/sparse
       head -c 100000 /dev/urandom > ${up}/srv/data/random && chown 1234:5678 ${up}/srv/data/random
       ln -s /etc/passwd ${up}/srv/data/abs-link && ln -s ../data/random ${up}/srv/data/rel-link
       mkfifo ${up}/srv/data/fifo
       setfattr -n user.obt -v moved ${up}/srv/data/random
       setfattr -n system.posix_acl_access -v 0x0200000001000600ffffffff02000700d204000004000400ffffffff10000700ffffffff20000400ffffffff ${up}/srv/data/h1
       echo ${machineId} > ${up}/etc/machine-id
       rm -f ${up}/etc/ssh/ssh_host_ed25519_key ${up}/etc/ssh/ssh_host_ed25519_key.pub
       ssh-keygen -q -t ed25519 -N '' -C ${NAME} -f ${up}/etc/ssh/ssh_host_ed25519_key`.replace(/^ {7}/gm, ''),
    );
    hostKey = (await A.readFile(`${up}/etc/ssh/ssh_host_ed25519_key.pub`)).split(' ').slice(0, 2).join(' ');
    await ok(A.run(['overlay-boot', 'start', NAME]), 'start');
    const kinds = await sh(
      A,
      `cd ${up} && stat -c '%n %F %t:%T' etc/motd etc/issue.net && getfattr -n trusted.overlay.opaque --only-values etc/skel`,
    );
    expect(kinds).toContain('etc/motd character special file 0:0');
    expect(kinds.trim().endsWith('\ny')).toBe(true); // trusted.overlay.opaque of etc/skel
    expect(await ok(A.run(['getcap', `${up}/usr/local/bin/capped`]))).toContain('cap_net_raw=ep');
    before = withLinks(await treeManifest(A, up));
    expect(before.length).toBeGreaterThan(20);
  });

  it('move --now: it runs on B with the same files bit for bit, machine-id and host key, and is gone from A', async () => {
    const A = a();
    const B = b();
    const base = `${A.dataDir}/${NAME}`;
    const r = await A.run(['overlay-boot', 'move', '--now', NAME, 'host-b']);
    if (r.exitCode !== 0) throw new Error(`move: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toMatch(/^stopped subhost mv1 \(for a consistent copy\)$/m);
    expect(r.stdout).toMatch(/^host-b: received \d+ bytes, sha256 [0-9a-f]{64}$/m);
    expect(r.stdout).toMatch(/^host-b: started subhost mv1 \(subhost@mv1\.service, PID \d+\)$/m);
    expect(r.stdout).toMatch(/^host-b has subhost mv1: sha256 [0-9a-f]{64} on both sides/m);
    expect(r.stdout).toMatch(/^removed subhost mv1$/m);
    // B: running, listed (it was on A), with the same files.
    expect(await state(B, `subhost@${NAME}.service`)).toBe('active');
    expect(await B.readFile('/etc/subhosts.conf')).toContain(`${base}/${NAME}.conf`);
    const after = withLinks(await treeManifest(B, `${base}/root`));
    expect(after).toEqual(before);
    const blocks = Number((await sh(B, `stat -c %b ${base}/root/srv/data/sparse`)).trim());
    expect(blocks).toBeLessThan(1000); // 300 MiB in a few blocks: the hole stayed a hole
    // Its service runs; its identity came along.
    const sshdPid = (await ok(inside(B, NAME, ['cat', '/run/sshd.pid']))).trim();
    expect(await ok(inside(B, NAME, ['cat', `/proc/${sshdPid}/comm`]))).toBe('sshd\n');
    expect((await ok(inside(B, NAME, ['cat', '/etc/machine-id']))).trim()).toBe(machineId);
    const served = await ok(inside(B, NAME, ['ssh-keyscan', '-t', 'ed25519', '127.0.0.1']));
    expect(served).toContain(hostKey.replace(/^ssh-ed25519 /, 'ssh-ed25519 '));
    // A: nothing left of it.
    expect(await state(A, `subhost@${NAME}.service`)).toMatch(/inactive|failed/);
    expect((await A.run(['test', '-e', base])).exitCode).toBe(1);
    expect(await A.readFile('/etc/subhosts.conf')).not.toContain(NAME);
  });

  it('examples/ansible/move.yml moves a subhost between two inventory hosts; run again, it changes nothing', async () => {
    const A = a();
    const B = b();
    const base = `${A.dataDir}/mv2`;
    await ok(A.run(['overlay-boot', 'create', '--base', base, '--start', 'none', '--enable', '--now', 'mv2']), 'create');
    await sh(A, `echo ansible > ${base}/root/moved-by`);
    await A.writeFile('/root/obt-ansible/move.yml', readFileSync(join(ROOT, 'examples/ansible/move.yml')), 0o644);
    await A.writeFile(
      '/root/obt-ansible/inventory.ini',
      '[subhost_hosts]\nhost-a ansible_connection=local ansible_python_interpreter=/usr/bin/python3\nhost-b ansible_host=host-b\n',
      0o644,
    );
    const play = async () => {
      const r = await A.run(
        [
          'ansible-playbook',
          '-i',
          '/root/obt-ansible/inventory.ini',
          '/root/obt-ansible/move.yml',
          '-e',
          'subhost=mv2',
          '-e',
          'from=host-a',
          '-e',
          'to=host-b',
          '-e',
          'ansible_become=false',
        ],
        { timeoutMs: 300_000, env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' } },
      );
      if (r.exitCode !== 0) throw new Error(`ansible-playbook: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
      const line = r.stdout.split('\n').find((l) => /^host-a\s+:/.test(l)) ?? '';
      return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    };
    expect(await play()).toMatchObject({ changed: 1, failed: 0 });
    expect(await state(B, 'subhost@mv2.service')).toBe('active');
    expect(await ok(inside(B, 'mv2', ['cat', '/moved-by']))).toBe('ansible\n');
    expect((await A.run(['test', '-e', base])).exitCode).toBe(1);
    expect(await play()).toMatchObject({ changed: 0, failed: 0 });
    await stopSubhost(B, 'mv2');
    await ok(B.run(['overlay-boot', 'remove', '--purge', 'mv2']), 'remove');
  });

  it('a move that cannot reach HOST changes nothing on A', async () => {
    const A = a();
    const base = `${A.dataDir}/stay`;
    await ok(A.run(['overlay-boot', 'create', '--base', base, '--start', 'none', '--enable', '--now', 'stay']), 'create');
    await sh(A, `echo keep > ${base}/root/keep`);
    const r = await A.run(['overlay-boot', 'move', 'stay', 'nowhere.invalid']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/did not import stay .*nothing was changed here/);
    expect(r.stderr).toContain('started stay here again');
    expect(await state(A, 'subhost@stay.service')).toBe('active');
    expect(await A.readFile(`${base}/root/keep`)).toBe('keep\n');
    await ok(A.run(['overlay-boot', 'remove', '--purge', 'stay']), 'remove');
  });

  it('export refuses a running subhost unless --stop; export | import copies it; a taken NAME, a BASE in use and an untrusted config are refused', async () => {
    const A = a();
    const d = A.dataDir;
    await ok(A.run(['overlay-boot', 'create', '--base', `${d}/cp1`, '--start', 'none', '--now', 'cp1']), 'create');
    await sh(A, `echo data > ${d}/cp1/root/data`);
    const running = await A.run(['overlay-boot', 'export', 'cp1', '/root/cp1.tar.zst']);
    expect(running.exitCode).toBe(1);
    expect(running.stderr).toMatch(/^overlay-boot: subhost cp1 is running: .* --stop stops it first, --live exports it anyway$/m);
    expect((await A.run(['test', '-e', '/root/cp1.tar.zst'])).exitCode).toBe(1);
    // --live: written while it runs, and the import says what that means.
    const live = await A.run(['overlay-boot', 'export', '--live', 'cp1', '/root/live.tar.zst']);
    expect(live.stderr).toMatch(/^exported subhost cp1 \(running: may be inconsistent\): \d+ bytes/m);
    const liveImport = await A.run(['overlay-boot', 'import', '--name', 'cplive', '--base', `${d}/cplive`, '/root/live.tar.zst']);
    expect(liveImport.stderr).toContain('was exported while cp1 ran (--live): files may be inconsistent');
    expect(await A.readFile(`${d}/cplive/root/data`)).toBe('data\n');
    await ok(A.run(['overlay-boot', 'remove', '--purge', `${d}/cplive/cplive.conf`]), 'remove cplive');
    await sh(A, 'rm /root/live.tar.zst');
    const stopped = await ok(A.run(['bash', '-c', 'overlay-boot export --stop cp1 /root/cp1.tar.zst 2>&1']), 'export --stop');
    expect(stopped).toMatch(/^stopped subhost cp1$/m);
    const sum = /^exported subhost cp1: \d+ bytes, sha256 ([0-9a-f]{64})$/m.exec(stopped)?.[1];
    expect((await sh(A, 'sha256sum /root/cp1.tar.zst')).slice(0, 64)).toBe(sum);
    expect(await state(A, 'subhost@cp1.service')).toMatch(/inactive|failed/);
    // The NAME is taken (registered by create --now), and the BASE is in use.
    const imp = (...args: string[]) => A.run(['overlay-boot', 'import', ...args, '/root/cp1.tar.zst']);
    expect((await imp('--base', `${d}/other`)).stderr).toMatch(/NAME cp1 is taken: .*cp1\.conf/);
    expect((await imp('--name', 'cp2', '--base', `${d}/cp1`)).stderr).toMatch(new RegExp(`${d}/cp1 exists`));
    // Through a pipe, started.
    const piped = await ok(
      A.run(['bash', '-o', 'pipefail', '-c', `overlay-boot export cp1 | overlay-boot import --name cp2 --base ${d}/cp2 --now -`]),
      'export | import',
    );
    expect(piped).toMatch(/^imported subhost cp2: .*\n.*started subhost cp2 /m);
    expect(await ok(inside(A, 'cp2', ['cat', '/data']))).toBe('data\n');
    expect(await A.readFile(`${d}/cp2/cp2.conf`)).toMatch(/^BASE=\.\nNAME=cp2\nSTART=none\n$/m);
    // A config that reaches the host: only with --trust.
    await ok(A.run(['overlay-boot', 'create', '--base', `${d}/cp3`, '--start', 'none', '--containment', 'none', 'cp3']), 'create');
    await ok(A.run(['overlay-boot', 'export', `${d}/cp3/cp3.conf`, '/root/cp3.tar.zst']), 'export by CONF');
    const untrusted = await A.run(['overlay-boot', 'import', '--name', 'cp4', '--base', `${d}/cp4`, '/root/cp3.tar.zst']);
    expect(untrusted.exitCode).toBe(1);
    expect(untrusted.stderr).toMatch(
      /refused, nothing written: its subhost\.conf line \d+: CONTAINMENT=none makes root inside root on this host; import it with --trust/,
    );
    expect((await A.run(['test', '-e', `${d}/cp4`])).exitCode).toBe(1);
    await ok(A.run(['overlay-boot', 'import', '--trust', '--name', 'cp4', '--base', `${d}/cp4`, '/root/cp3.tar.zst']), 'import --trust');
    for (const n of ['cp1', 'cp2', 'cp3', 'cp4'])
      await ok(A.run(['overlay-boot', 'remove', '--purge', `${d}/${n}/${n}.conf`]), `remove ${n}`);
    await sh(A, 'rm /root/cp1.tar.zst /root/cp3.tar.zst');
    expect(await sh(A, `ls -A ${d} | grep -v move- || true`)).toBe('');
  });

  it('import takes what machinectl export-tar makes of a directory image as UPPER', async () => {
    const B = b();
    await sh(
      B,
      `mkdir -p /var/lib/machines/img/etc /var/lib/machines/img/usr/local/bin
       echo from-machinectl > /var/lib/machines/img/etc/obt-img
       cp /bin/true /var/lib/machines/img/usr/local/bin/suid && chmod 4755 /var/lib/machines/img/usr/local/bin/suid
       setfattr -n user.obt -v img /var/lib/machines/img/etc/obt-img`.replace(/^ {7}/gm, ''),
    );
    const exported = await B.run(['machinectl', 'export-tar', 'img', '/root/img.tar.xz']);
    if (exported.exitCode !== 0) throw new Error(`machinectl export-tar: ${exported.stderr}`);
    const r = await B.run(['overlay-boot', 'import', '--name', 'img', '--base', '/srv/subhosts/img', '--now', '/root/img.tar.xz']);
    if (r.exitCode !== 0) throw new Error(`import: ${r.stdout}${r.stderr}`);
    expect(r.stdout).toMatch(/^started subhost img /m);
    expect(await ok(inside(B, 'img', ['cat', '/etc/obt-img']))).toBe('from-machinectl\n');
    const st = await sh(
      B,
      'stat -c %a /srv/subhosts/img/root/usr/local/bin/suid; getfattr -n user.obt --only-values /srv/subhosts/img/root/etc/obt-img',
    );
    expect(st).toBe('4755\nimg');
    await ok(B.run(['overlay-boot', 'remove', '--purge', 'img']), 'remove');
    await sh(B, 'rm -rf /var/lib/machines/img /root/img.tar.xz');
  });

  describe('hostile archives', () => {
    const up = 'overlay-boot-export/upper';
    const head = [
      member(MANIFEST, '0', {
        data: JSON.stringify({ format: 'overlay-boot-export', version: 1, name: 'evil', consistent: true, exportedFrom: 'evil-host' }),
      }),
      member(CONFIG, '0', { data: 'BASE=.\nNAME=evil\nSTART=none\n' }),
      member(`${up}/`, '5', { mode: 0o755 }),
    ];
    const cases: [string, Buffer, RegExp][] = [
      ['..', tar(...head, member(`${up}/../../../../../tmp/obt-evil-dotdot`, '0', { data: 'x' })), /leads out with "\.\."/],
      ['an absolute path', tar(member('./', '5'), member('/tmp/obt-evil-abs', '0', { data: 'x' })), /absolute path/],
      [
        'a symlink, then a file through it',
        tar(...head, member(`${up}/l`, '2', { link: '../../../outside' }), member(`${up}/l/obt-evil-through`, '0', { data: 'x' })),
        /not a directory \(a path through a link or a file\)/,
      ],
      ['a device node', tar(...head, member(`${up}/mem`, '3', { major: 1, minor: 1 })), /character device 1:1/],
    ];

    it.each(cases)('refuses %s, writing nothing', async (_what, archive, why) => {
      const B = b();
      await B.writeFile('/root/evil.tar', archive, 0o600);
      const list = () => sh(B, 'ls -A /srv/subhosts /var/lib; ls /tmp | grep obt-evil || true');
      const was = await list();
      const r = await B.run(['overlay-boot', 'import', '--name', 'evil', '--base', '/srv/subhosts/evil', '/root/evil.tar']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^overlay-boot: \/root\/evil\.tar: refused, nothing written: member /);
      expect(r.stderr).toMatch(why);
      expect(await list()).toBe(was);
    });

    it('(the same archive with a plain file in place of the hostile member is imported: the member is what was refused)', async () => {
      const B = b();
      await B.writeFile(
        '/root/evil.tar',
        tar(...head, member(`${up}/tmp/`, '5'), member(`${up}/tmp/obt-evil-benign`, '0', { data: 'x' })),
        0o600,
      );
      const r = await B.run(['overlay-boot', 'import', '--name', 'evil', '--base', '/srv/subhosts/evil', '/root/evil.tar']);
      if (r.exitCode !== 0) throw new Error(`import: ${r.stderr}`);
      expect(await B.readFile('/srv/subhosts/evil/root/tmp/obt-evil-benign')).toBe('x');
      await ok(B.run(['overlay-boot', 'remove', '--purge', '/srv/subhosts/evil/evil.conf']), 'remove');
      await sh(B, 'rm /root/evil.tar');
    });
  });
});
