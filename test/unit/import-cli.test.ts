// `overlay-boot import` without systemd (no --enable/--now): a subhost
// from an archive that GNU tar made (owners, setuid, xattrs as they were),
// hostile archives refused with nothing left in the parent directory (no
// staging directory either), usage errors, and export/import/move as
// another user (exit 77). Moves between two systemds: test/e2e/move.test.ts.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execa } from 'execa';
import { chownSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fixture, type Fixture } from './helpers.js';
import { exportTarArgs, MANIFEST, CONFIG } from '../../cli/support/archive.js';
import { member, tar } from './tar-member.js';

const BIN = new URL('../../dist/overlay-boot.cjs', import.meta.url).pathname;
let f: Fixture;
let env: Record<string, string>;
beforeEach(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first (scripts/test.sh does)`);
  f = fixture();
  writeFileSync(`${f.dir}/subhosts.conf`, '', { mode: 0o644 });
  env = { OVERLAY_BOOT_SUBHOSTS_CONF: `${f.dir}/subhosts.conf` };
});
afterEach(() => f.cleanup());

const ob = (...args: string[]) => execa('node', [BIN, ...args], { reject: false, env });
const manifest = { format: 'overlay-boot-export', version: 1, name: 'src', exportedFrom: 'host1', consistent: true };

/** An export of a small UPPER made with export's own tar arguments, zstd-compressed, as FILE. */
async function makeExport(file: string, conf = 'BASE=.\nNAME=src\nSTART=none\n'): Promise<void> {
  const meta = `${f.dir}/meta`;
  const up = `${f.dir}/up`;
  mkdirSync(`${meta}/overlay-boot-export`, { recursive: true });
  writeFileSync(`${meta}/${MANIFEST}`, JSON.stringify(manifest));
  writeFileSync(`${meta}/${CONFIG}`, conf);
  mkdirSync(`${up}/etc`, { recursive: true });
  writeFileSync(`${up}/etc/hostname`, 'src\n');
  writeFileSync(`${up}/suid`, 'x');
  chownSync(`${up}/suid`, 1234, 5678);
  chmodSync(`${up}/suid`, 0o4755);
  await execa('setfattr', ['-n', 'user.obt', '-v', 'kept', `${up}/etc/hostname`]);
  const r = await execa('bash', [
    '-o',
    'pipefail',
    '-c',
    `tar ${exportTarArgs(meta, up)
      .map((a) => `'${a}'`)
      .join(' ')} | zstd -q > '${file}'`,
  ]);
  expect(r.exitCode).toBe(0);
}

describe('overlay-boot import', () => {
  it('makes BASE from an export: UPPER as it was, root, work, live and NAME.conf, root-owned', async () => {
    await makeExport(`${f.dir}/x.tar.zst`);
    const base = `${f.dir}/subs/copy`;
    const r = await ob('import', '--name', 'copy', '--base', base, `${f.dir}/x.tar.zst`);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^received \d+ bytes, sha256 [0-9a-f]{64}\nimported subhost copy: /);
    expect(readdirSync(base).sort()).toEqual(['copy.conf', 'live', 'root', 'work']);
    expect(readFileSync(`${base}/copy.conf`, 'utf8')).toMatch(/\nBASE=\.\nNAME=copy\nSTART=none\n$/);
    const st = statSync(`${base}/root/suid`);
    expect({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ uid: 1234, gid: 5678, mode: '4755' });
    expect((await execa('getfattr', ['-n', 'user.obt', '--only-values', `${base}/root/etc/hostname`])).stdout).toBe('kept');
    // Nothing else beside BASE: the staging directory is gone.
    expect(readdirSync(`${f.dir}/subs`)).toEqual(['copy']);
  });

  it('refuses a hostile archive, a config that sets UPPER, and one that reaches the host, leaving nothing', async () => {
    mkdirSync(`${f.dir}/subs`);
    const up = 'overlay-boot-export/upper';
    const head = [
      member(MANIFEST, '0', { data: JSON.stringify(manifest) }),
      member(CONFIG, '0', { data: 'BASE=.\n' }),
      member(`${up}/`, '5'),
    ];
    writeFileSync(`${f.dir}/dotdot.tar`, tar(...head, member(`${up}/../../../x`, '0')));
    writeFileSync(
      `${f.dir}/upper.tar`,
      tar(
        member(MANIFEST, '0', { data: JSON.stringify(manifest) }),
        member(CONFIG, '0', { data: 'BASE=.\nUPPER=/etc\n' }),
        member(`${up}/`, '5'),
      ),
    );
    await makeExport(`${f.dir}/share.tar.zst`, 'BASE=.\nSHARE=/etc\n');
    for (const [file, why] of [
      ['dotdot.tar', /refused, nothing written: member .* leads out with "\.\."/],
      ['upper.tar', /refused, nothing written: subhost\.conf line 2: an export does not set UPPER/],
      [
        'share.tar.zst',
        /refused, nothing written: its subhost\.conf line 2: SHARE binds a directory of this host into the subhost; import it with --trust/,
      ],
    ] as const) {
      const r = await ob('import', '--name', 'evil', '--base', `${f.dir}/subs/evil`, `${f.dir}/${file}`);
      expect(r.exitCode, file).toBe(1);
      expect(r.stderr, file).toMatch(why);
      expect(readdirSync(`${f.dir}/subs`), file).toEqual([]);
    }
  });

  it('refuses an archive whose files do not fit where BASE goes (a small stream may hold much), leaving nothing', async () => {
    const meta = `${f.dir}/meta`;
    const up = `${f.dir}/big`;
    mkdirSync(`${meta}/overlay-boot-export`, { recursive: true });
    writeFileSync(`${meta}/${MANIFEST}`, JSON.stringify(manifest));
    writeFileSync(`${meta}/${CONFIG}`, 'BASE=.\n');
    mkdirSync(up);
    writeFileSync(`${up}/four-mib`, 'a'.repeat(4 << 20)); // not zeros: GNU tar would store those as a hole
    const file = `${f.dir}/big.tar.zst`;
    await execa('bash', [
      '-o',
      'pipefail',
      '-c',
      `tar ${exportTarArgs(meta, up)
        .map((a) => `'${a}'`)
        .join(' ')} | zstd -q > '${file}'`,
    ]);
    mkdirSync(`${f.dir}/small`);
    // A 1 MiB tmpfs as the parent of BASE, in a mount namespace of the command's own.
    const r = await execa(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t tmpfs -o size=1m small "$1" && node "$2" import --name big --base "$1/big" "$3"; s=$?; ls -A "$1"; exit $s`,
        'sh',
        `${f.dir}/small`,
        BIN,
        file,
      ],
      { reject: false, env },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/its files need 4194304 bytes; .*small has \d+ free: nothing imported/);
    expect(r.stdout).not.toMatch(/import|big/);
  });

  it('usage: one FILE, no newline in --base or --name, a plain tree needs --name', async () => {
    expect((await ob('import')).exitCode).toBe(2);
    expect((await ob('import', '--base', 'a\nb', 'f')).stderr).toMatch(/--base must not hold a newline or NUL/);
    expect((await ob('move', 'x', '-oProxyCommand=evil')).stderr).toMatch(/unknown option|is not a HOST/);
    writeFileSync(`${f.dir}/tree.tar`, tar(member('./', '5'), member('./etc/', '5')));
    const r = await ob('import', '--base', `${f.dir}/subs/t`, `${f.dir}/tree.tar`);
    expect(r.stderr).toMatch(/a plain tar of a tree .*give the subhost a --name/);
  });

  it("export, import and move are root's: another user is told so (77)", async () => {
    for (const args of [
      ['export', 'x', '/tmp/never'],
      ['import', '/dev/null'],
      ['move', 'x', 'host'],
    ]) {
      const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', BIN, ...args], { reject: false, env });
      expect(r.exitCode, args[0]).toBe(77);
      expect(r.stderr, args[0]).toMatch(/needs root: run it with sudo/);
    }
  });
});
