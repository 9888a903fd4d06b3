// One owner per directory (native/lock.c), run on the host as the unit's
// subhost-enter runs (no pid namespace of its own: the kernel lists every
// mount namespace to a process of the initial one): the same directory
// reached by another path is refused, naming the holder; an overlay that
// uses it in another mount namespace (as 1.6 mounts it) is refused; the
// lock goes with its holder.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNative, SE } from './harness.js';

let dir = '';
const lockDir = (...a: string[]) =>
  execa(
    'unshare',
    ['-m', '--propagation', 'private', SE, ...a.flatMap((p, i) => (i % 2 ? [] : ['lock', 't', p, a[i + 1]!])), 'refuse-foreign-mounts'],
    {
      reject: false,
      env: { LISTEN_FDS: '' },
    },
  );

describe('the lock of UPPER, WORK and LIVE', () => {
  beforeAll(async () => {
    await buildNative();
    dir = mkdtempSync(join(tmpdir(), 'ob-lock-'));
    await execa('sh', ['-ec', `cd ${dir}; mkdir -p up wk lo mnt other; ln -s up link`]);
  });
  afterAll(() => {
    if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the same directory through a symlink, `..` and a bind mount while it is held, and not once it is free', async () => {
    // The holder: flock(1) on the same lock file keeps it while it sleeps.
    const holder = execa(
      'sh',
      ['-ec', `${SE} lock zqv1 UPPER ${dir}/up && exec flock $(ls -d /run/overlay-boot/locks/$(stat -c '%Hd:%Ld:%i' ${dir}/up)) sleep 3`],
      {
        reject: false,
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    for (const path of [`${dir}/link`, `${dir}/other/../up`]) {
      const r = await lockDir('UPPER', path);
      expect(r.exitCode, path).toBe(1);
      expect(r.stderr).toBe(`subhost-enter: UPPER ${path} is in use by subhost zqv1 (subhost@zqv1.service, as its UPPER)`);
    }
    const bound = await execa(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${dir}/up ${dir}/mnt && ${SE} lock t WORK ${dir}/mnt`],
      { reject: false },
    );
    expect(bound.stderr).toBe(`subhost-enter: WORK ${dir}/mnt is in use by subhost zqv1 (subhost@zqv1.service, as its UPPER)`);
    await holder;
    expect((await lockDir('UPPER', `${dir}/link`)).exitCode).toBe(0);
  }, 30_000);

  it('refuses a directory an overlay uses in another mount namespace, seen through the kernel (as 1.6 mounts it)', async () => {
    const old = execa(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t overlay -o lowerdir=${dir}/lo,upperdir=${dir}/up,workdir=${dir}/wk overlay ${dir}/mnt && sleep 2`,
      ],
      { reject: false },
    );
    await new Promise((r) => setTimeout(r, 300));
    const r = await lockDir('UPPER', `${dir}/link`, 'WORK', `${dir}/wk`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      `subhost-enter: UPPER ${dir}/up is in use by a mount not made by overlay-boot (an overlay in another mount namespace: a subhost still running under overlay-boot 1.6? stop it with its overlay-stop)`,
    );
    await old;
    expect((await lockDir('UPPER', `${dir}/link`, 'WORK', `${dir}/wk`)).exitCode).toBe(0);
  }, 30_000);
});
