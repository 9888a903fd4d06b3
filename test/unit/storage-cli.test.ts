// overlay-diskfile and overlay-clean-root as users run them (the bundles),
// for everything that needs neither systemd nor a mount: help, usage
// errors (exit 2), one-line errors (exit 1) about images, partitions,
// filesystems and configs. Mounting and cleaning for real: test/native and
// test/e2e/storage.test.ts.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { fixture, type Fixture } from './helpers.js';

const DISKFILE = new URL('../../dist/overlay-diskfile.cjs', import.meta.url).pathname;
const CLEAN = new URL('../../dist/overlay-clean-root.cjs', import.meta.url).pathname;
let f: Fixture;
beforeEach(() => {
  for (const b of [DISKFILE, CLEAN])
    if (!existsSync(b)) throw new Error(`${b} is missing: run "npm run build" first (scripts/test.sh does)`);
  f = fixture();
  f.mkdirs('mnt', 'root', 'work', 'live', 'lower');
});
afterEach(() => f.cleanup());

// As the runtime runs it: no environment but these (and its PATH).
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const diskfile = (args: string[], env: Record<string, string> = { ACTION: 'overlay-boot', OVERLAY_BOOT_KEY: 'LOWER' }) =>
  execa(process.execPath, [DISKFILE, ...args], { reject: false, cwd: f.dir, env: { PATH, ...env }, extendEnv: false });
const cleanRoot = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [CLEAN, ...args], {
    reject: false,
    cwd: f.dir,
    // A bare environment, but for the unit tests' own (as-user.ts).
    env: { PATH, ...(process.env.OVERLAY_BOOT_TRUST_OWN_FILES ? { OVERLAY_BOOT_TRUST_OWN_FILES: '1' } : {}), ...env },
    extendEnv: false,
  });

/** One line on stderr, prefixed with the command's name. */
function oneLine(stderr: string, cmd: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith(`${cmd}: `)).toBe(true);
  return lines[0]!.slice(cmd.length + 2);
}

describe('overlay-diskfile', () => {
  it('--help shows the synopsis', async () => {
    const r = await diskfile(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Usage: overlay-diskfile MOUNT\/PATH \[IMAGE \[PARTITION\]\]\n/);
  });

  it('exits 2 with the synopsis on usage errors', async () => {
    for (const args of [[], ['mnt/', 'disk.img', 'x'], ['a', 'b', 'c', 'd'], ['--bogus', 'mnt/']]) {
      const r = await diskfile(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^overlay-diskfile: .*\nUsage: overlay-diskfile /);
    }
  });

  it('only prints MOUNT/PATH (less a leading /) unless ACTION=overlay-boot and an IMAGE is given, as 1.6', async () => {
    expect((await diskfile(['/mnt/some/path', 'missing.img', '2'], {})).stdout).toBe('mnt/some/path');
    expect((await diskfile(['mnt/'])).stdout).toBe('mnt/');
  });

  it('says in one line what is wrong with the image, and mounts nothing', async () => {
    await execa('truncate', ['-s', '4M', `${f.dir}/blank.img`]);
    await execa('truncate', ['-s', '4M', `${f.dir}/disk.img`]);
    await execa('sfdisk', ['-q', `${f.dir}/disk.img`], { input: 'label: gpt\nstart=2048, size=2048\nstart=4096, size=2048\n' });
    const cases: [string[], number, string][] = [
      [['mnt/', 'missing.img'], 1, `image ${f.dir}/missing.img does not exist`],
      [['mnt/', 'disk.img', '3'], 1, `${f.dir}/disk.img has no partition 3: its gpt partition table has 2 partitions (1, 2)`],
      [
        ['mnt/', 'disk.img', '2'],
        1,
        `partition 2 of ${f.dir}/disk.img holds no filesystem that blkid recognizes (unknown filesystem, or not formatted)`,
      ],
      [
        ['mnt/', 'disk.img'],
        1,
        `${f.dir}/disk.img holds a gpt partition table with 2 partitions, not a filesystem: give the partition number as the third argument`,
      ],
      [['mnt/', 'blank.img'], 1, `${f.dir}/blank.img holds no filesystem that blkid recognizes (unknown filesystem, or not formatted)`],
      [
        ['mnt/', 'blank.img', '1'],
        1,
        `${f.dir}/blank.img has no partition table (sfdisk finds none), so no partition 1: leave out the partition number to mount the whole image`,
      ],
      [['nodir/x', 'blank.img'], 1, `mount point ${f.dir}/nodir does not exist (make the directory)`],
      [['mnt/', 'mnt'], 1, `image ${f.dir}/mnt is not a file`],
    ];
    for (const [args, code, message] of cases) {
      const r = await diskfile(args);
      expect(r.exitCode, args.join(' ')).toBe(code);
      expect(oneLine(r.stderr, 'overlay-diskfile')).toBe(message);
      expect(r.stdout).toBe('');
    }
  });

  it('mounts only for UPPER, WORK or LOWER, which the subhost unit computes in its own mount namespace', async () => {
    const r = await diskfile(['mnt/', 'disk.img'], { ACTION: 'overlay-boot', OVERLAY_BOOT_KEY: 'BASE' });
    expect(r.exitCode).toBe(1);
    expect(oneLine(r.stderr, 'overlay-diskfile')).toMatch(/^mounts images only for UPPER, WORK, LOWER \(it was run for BASE/);
  });
});

describe('overlay-clean-root', () => {
  it('--help shows the synopsis; usage errors exit 2', async () => {
    const h = await cleanRoot(['--help']);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toMatch(/^Usage: overlay-clean-root \[--dry-run\] \[--verbose\] NAME\|CONF\n/);
    for (const args of [[], ['--bogus', 'a.conf'], ['a.conf', 'b.conf']]) {
      const r = await cleanRoot(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^overlay-clean-root: .*\nUsage: overlay-clean-root /);
    }
  });

  it('refuses, in one line, what it cannot or must not clean', async () => {
    const cases: [string, string | RegExp][] = [
      [
        f.conf('BASE=.\nUPPER=!overlay-diskfile mnt/upper disk.img 2\nWORK=mnt/work\n', 'img.conf'),
        `${f.dir}/img.conf: UPPER is computed when the subhost starts (!overlay-diskfile mnt/upper disk.img 2), inside the subhost's own mount namespace: overlay-clean-root runs no commands and cannot see that tree. To clean it, mount it yourself and run overlay-clean-root on a copy of the config with plain UPPER paths`,
      ],
      [f.conf('BASE=.\nLOWER=!overlay-diskfile mnt/ disk.img\n', 'low.conf'), /^.*low\.conf: LOWER is computed when the subhost starts/],
      [
        f.conf('BASE=.\nUPPER=lower\nLOWER=lower\n', 'same.conf'),
        `UPPER and LOWER are the same directory (${f.dir}/lower): the subhost uses that tree as it is; there is nothing to clean`,
      ],
      [f.conf('BASE=.\nUPPER=nothere\nLOWER=lower\n', 'gone.conf'), `${f.dir}/gone.conf:2: UPPER: ${f.dir}/nothere is not a directory`],
      [`${f.dir}/absent.conf`, `${f.dir}/absent.conf: cannot read config: ENOENT`],
      // Cannot ask systemd: never clean blind.
      [f.conf('BASE=.\nLOWER=lower\n', 'sub.conf'), /^cannot ask systemd whether subhost sub runs \(.*\): not cleaning$/],
    ];
    for (const [conf, message] of cases) {
      const r = await cleanRoot([conf], { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${f.dir}/no-bus` });
      expect(r.exitCode, conf).toBe(1);
      const line = oneLine(r.stderr, 'overlay-clean-root');
      if (typeof message === 'string') expect(line).toBe(message);
      else expect(line).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });
});
