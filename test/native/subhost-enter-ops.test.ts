// subhost-enter's ops, run for real (mounts, device nodes) in a throwaway
// mount namespace.

import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SE, nativeSuite } from './harness.js';

const scenario = nativeSuite();

describe('subhost-enter ops', () => {
  it('mount, mkdir, mknod, symlink, chmod, install-if-missing, bind-file-ro', async () => {
    const s = await scenario();
    await writeFile(join(s.dir, 'new'), 'new content\n');
    await writeFile(join(s.dir, 'other'), 'other content\n');
    const r = await s.run(`
      T=$R
      # a restrictive umask must not leak into the modes asked for
      umask 077
      $SE mount tmpfs tmpfs $T - mode=755,size=4m \\
        mkdir $T/dev 755 mkdir $T/dev 755 \\
        mknod $T/dev/null 666 c 1 3 0 0 \\
        mknod $T/dev/console 622 c 5 1 0 5 \\
        mknod $T/dev/console 622 c 5 1 0 5 \\
        mknod $T/dev/loop-test 640 b 7 200 12 34 \\
        mkdir $T/dev/shm 1777 \\
        symlink /proc/self/fd $T/dev/fd \\
        symlink /nowhere $T/dev/stdin \\
        symlink /proc/self/fd/0 $T/dev/stdin \\
        mkdir $T/run 700 chmod $T/run 751 \\
        install-if-missing $D/new $T/installed 750 \\
        install-if-missing $D/other $T/installed 644 \\
        install-if-missing $D/other $T/target 644 \\
        bind-file-ro $D/new $T/target
      echo rc=$?
      st() { stat -c '%F|%a|%u|%g|%t|%T' "$1"; }
      echo null=$(st $T/dev/null)
      echo console=$(st $T/dev/console)
      echo loop=$(st $T/dev/loop-test)
      echo shm=$(st $T/dev/shm)
      echo run=$(st $T/run)
      echo fd=$(readlink $T/dev/fd)
      echo stdin=$(readlink $T/dev/stdin)
      echo installed=$(cat $T/installed)
      echo installed-mode=$(st $T/installed)
      echo target=$(cat $T/target)
      echo tmpfs=$(findmnt -n -o FSTYPE,OPTIONS $T | tr ' ' '|')
      echo target-mount=$(findmnt -n -o OPTIONS $T/target)
      if { echo x >> $T/target; } 2>$D/err; then echo write=ok; else echo write=$(cat $D/err); fi
      echo leftovers=$(ls -A $T $T/dev | grep -c tmp- || true)
    `);
    expect(r.stderr).toBe('');
    expect(r.kv).toMatchObject({
      rc: '0',
      null: 'character special file|666|0|0|1|3',
      console: 'character special file|622|0|5|5|1',
      loop: 'block special file|640|12|34|7|c8',
      shm: 'directory|1777|0|0|0|0',
      run: 'directory|751|0|0|0|0',
      fd: '/proc/self/fd',
      stdin: '/proc/self/fd/0',
      installed: 'new content',
      'installed-mode': 'regular file|750|0|0|0|0',
      target: 'new content',
      leftovers: '0',
    });
    expect(r.kv.tmpfs).toMatch(/^tmpfs\|/);
    expect(r.kv['target-mount']).toMatch(/^ro,/);
    expect(r.kv.write).toMatch(/Read-only file system/);
  });

  it('a failing op exits 1 with one line naming it, stops the plan there and removes what it made', async () => {
    const s = await scenario();
    const r = await s.run(`
      rc=0
      $SE mkdir $D/before 755 mount tmpfs tmpfs $D/missing - - mkdir $D/after 755 || rc=$?
      echo rc=$rc
    `);
    expect(r.kv.rc).toBe('1');
    expect(r.stderr).toBe(`subhost-enter: mount tmpfs tmpfs ${s.dir}/missing - -: No such file or directory`);
    // Undone: a failed start leaves no directory of its own behind.
    expect(existsSync(join(s.dir, 'before'))).toBe(false);
    expect(existsSync(join(s.dir, 'after'))).toBe(false);
  });

  it('mkdir with a missing parent, mknod over something else, mkdir over a file', async () => {
    const s = await scenario();
    await writeFile(join(s.dir, 'file'), '');
    const one = async (...args: string[]) => {
      const r = await execa(SE, args, { reject: false });
      return [r.exitCode, r.stderr];
    };
    expect(await one('mkdir', `${s.dir}/no/such`, '755')).toEqual([
      1,
      `subhost-enter: mkdir ${s.dir}/no/such 755: No such file or directory`,
    ]);
    expect(await one('mkdir', `${s.dir}/file`, '755')).toEqual([1, `subhost-enter: mkdir ${s.dir}/file 755: Not a directory`]);
    expect(await one('mknod', `${s.dir}/file`, '666', 'c', '1', '3', '0', '0')).toEqual([
      1,
      `subhost-enter: mknod ${s.dir}/file 666 c 1 3 0 0: File exists`,
    ]);
    expect(await one('install-if-missing', `${s.dir}/absent`, `${s.dir}/dst`, '755')).toEqual([
      1,
      `subhost-enter: install-if-missing ${s.dir}/absent ${s.dir}/dst 755: No such file or directory`,
    ]);
    expect(readdirSync(s.dir).sort()).toEqual(['file', 'out', 'root']);
  });

  it('bind-nofollow refuses a source with a symlink on its path; bind-ro-if-exists binds read-only', async () => {
    const s = await scenario();
    const r = await s.run(`
      mkdir -p $D/src/sub $D/dst $D/dst2 && echo hi > $D/src/sub/f && echo clock > $D/adj && : > $D/adj-target
      ln -s $D/src $D/link
      rc=0; $SE bind-nofollow $D/link/sub $D/dst 2>$D/err || rc=$?; echo link=$rc:$(cat $D/err)
      $SE bind-nofollow $D/src/sub $D/dst2; echo real=$?:$(cat $D/dst2/f)
      $SE bind-ro-if-exists $D/adj $D/adj-target bind-ro-if-exists $D/absent $D/adj-target; echo ro=$?:$(cat $D/adj-target)
      if { echo x >> $D/adj-target; } 2>$D/err; then echo write=ok; else echo write=$(cat $D/err); fi
    `);
    expect(r.kv.link).toBe(`1:subhost-enter: bind-nofollow ${s.dir}/link/sub ${s.dir}/dst: Too many levels of symbolic links`);
    expect(r.kv.real).toBe('0:hi');
    expect(r.kv.ro).toBe('0:clock');
    expect(r.kv.write).toMatch(/Read-only file system/);
  });

  it('check-containment refuses a unit whose fence is not the one the config asks for', async () => {
    // Run by hand, this process has every capability and no seccomp filter:
    // what a CONTAINMENT=none unit looks like, and a contained one must not.
    const contained = await execa(SE, ['check-containment', 'contained'], { reject: false });
    expect(contained.exitCode).toBe(1);
    expect(contained.stderr).toMatch(
      /^subhost-enter: the config says CONTAINMENT=contained, but this unit runs without its system call filter or capability limits .*daemon-reload\n?$/,
    );
    expect((await execa(SE, ['check-containment', 'none'], { reject: false })).exitCode).toBe(0);
    const capsh = await execa('capsh', ['--drop=cap_sys_module', '--', '-c', `${SE} check-containment none`], { reject: false });
    expect(capsh.exitCode).toBe(1);
    expect(capsh.stderr).toContain('the config says CONTAINMENT=none, but the unit still confines it');
    expect((await execa(SE, ['check-containment', 'maybe'], { reject: false })).exitCode).toBe(2);
  });

  it('bad usage exits 2 with the usage text and runs nothing', async () => {
    const s = await scenario();
    const cases: string[][] = [
      [],
      ['frobnicate'],
      ['mkdir', `${s.dir}/x`],
      ['mkdir', `${s.dir}/x`, '755', 'chmod', `${s.dir}/x`, '9z9'],
      ['mkdir', `${s.dir}/x`, '755', 'mount', 't', 's', 'd', 'ro,bogus', '-'],
      ['mkdir', `${s.dir}/x`, '755', 'mknod', 'p', '666', 'p', '1', '3', '0', '0'],
      ['enter', '/r'],
      ['enter', '/r', '--'],
      ['enter', '/r', '--', 'relative/prog'],
      ['enter', '--ready-timeout', 'soon', '/r', '--', '/bin/true'],
      ['enter', '--frob', '/r', '--', '/bin/true'],
    ];
    for (const args of cases) {
      const r = await execa(SE, args, { reject: false });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^subhost-enter: .*\n\nUsage: subhost-enter/);
    }
    expect(existsSync(join(s.dir, 'x'))).toBe(false);
    const help = await execa(SE, ['--help']);
    expect(help.stdout).toMatch(/^Usage: subhost-enter \[OP \.\.\.\]/);
  });
});
