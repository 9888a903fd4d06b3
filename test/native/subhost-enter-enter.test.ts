// subhost-enter's `enter`: real namespaces, real pivot_root, the built
// reaper as PID 1 of a minimal root made from the host's /usr.

import { describe, expect, it } from 'vitest';
import { NAME, nativeSuite } from './harness.js';

const scenario = nativeSuite();

describe('subhost-enter enter', () => {
  it("--hostname-from-root: the root's own /etc/hostname, read inside the root; else --hostname", async () => {
    const s = await scenario();
    // Each case: the ops that make ROOT/etc/hostname, then what hostname the subhost gets.
    const cases: [string, string, string][] = [
      ['own', `write-if-missing $R/etc/hostname 644 mail1`, 'mail1'],
      ['none', `mkdir $R/etc 755`, `${NAME}-h`],
      ['the host', `write-if-missing $R/etc/hostname 644 "$(hostname)"`, `${NAME}-h`],
      // A symlink to a file only the host has: resolved inside the root, where it is absent.
      ['symlink out', `mkdir $R/etc 755 symlink $D/host-only $R/etc/hostname`, `${NAME}-h`],
      ['not a hostname', `write-if-missing $R/etc/hostname 644 bad_name!`, `${NAME}-h`],
      // A FIFO there: not read, and the start does not wait for a writer.
      ['a FIFO', `write-if-missing $R/etc/hostname 644 x bind-file-ro $D/fifo $R/etc/hostname`, `${NAME}-h`],
    ];
    const script = cases
      .map(
        ([what, ops], i) => `
      echo escaped > $D/host-only
      $SE $BASE ${ops} enter --hostname ${NAME}-h --hostname-from-root --pidfile $OUT/pid${i} $R -- \
        /bin/sh -c 'hostname > /out/h${i}; sleep 1000 & exec /.reaper ${NAME}-h' &
      wait $! || echo "case ${what}: rc=$?"
      kill -TERM $(cat $OUT/pid${i}); waitfor 5 grep -q "^$(cat $OUT/pid${i}) " $D/reaped.log
      umount -R $R`,
      )
      .join('\n');
    const r = await s.run(`mkfifo $D/fifo\n${script}\necho done=yes`);
    expect(r.kv.done, `${r.stdout}\n${r.stderr}`).toBe('yes');
    expect(r.stdout).not.toMatch(/case .*: rc=/);
    for (const [i, [what, , want]] of cases.entries()) expect(s.readOut(`h${i}`).trim(), what).toBe(want);
  });

  it('starts PROGRAM as PID 1 in a pivoted root and writes the pidfile once ready', async () => {
    const s = await scenario();
    const r = await s.run(`
      $SE $BASE enter --hostname ${NAME}-sub1 --pidfile $OUT/pid $R -- \\
        /bin/sh -c 'echo $OVERLAY_BOOT_READY_FD > /out/readyfd; sleep 1; sleep 1000 & exec /.reaper ${NAME}-sub1' &
      SEPID=$!
      sleep 0.4
      if [ -e $OUT/pid ]; then echo early=yes; else echo early=no; fi
      rc=0; wait $SEPID || rc=$?
      echo rc=$rc
      P=$(cat $OUT/pid)
      echo pid=$P
      echo pidfile-mode=$(stat -c %a $OUT/pid)
      echo out-files=$(ls $OUT | tr '\\n' ' ')
      if kill -0 $P; then echo alive=yes; fi
      echo outer-comm=$(cat /proc/$P/comm)
      echo outer-hostname=$(hostname)
      for ns in mnt pid ipc uts time net; do
        if [ "$(readlink /proc/$P/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ]
        then echo ns-$ns=same; else echo ns-$ns=new; fi
      done
      nsenter -t $P -a /bin/sh -c '
        echo comm=$(cat /proc/1/comm)
        echo exe=$(readlink /proc/1/exe)
        echo hostname=$(hostname)
        echo ready-fd=$(cat /out/readyfd)
        if [ -e /proc/1/fd/$(cat /out/readyfd) ]; then echo ready-fd-open=yes; else echo ready-fd-open=no; fi
        cat /proc/self/mountinfo > /out/mountinfo
        for p in /proc/[0-9]*; do echo "\${p#/proc/} $(cat $p/comm)"; done > /out/ps
      '
      kill -TERM $P
      waitfor 5 grep -q "^$P " $D/reaped.log
    `);
    expect(r.stderr).toContain(`reaper[${NAME}-sub1]: all processes gone, exiting`);
    const pid = Number(r.kv.pid);
    expect(r.kv).toMatchObject({
      early: 'no',
      rc: '0',
      'pidfile-mode': '644',
      'out-files': 'bin pid readyfd',
      alive: 'yes',
      'outer-comm': '.reaper',
      comm: '.reaper',
      exe: '/.reaper',
      hostname: `${NAME}-sub1`,
      'ready-fd-open': 'no',
      'ns-mnt': 'new',
      'ns-pid': 'new',
      'ns-ipc': 'new',
      'ns-uts': 'new',
      'ns-time': 'new',
      'ns-net': 'same',
    });
    expect(r.kv['outer-hostname']).not.toBe(`${NAME}-sub1`);
    expect(r.kv['ready-fd']).toMatch(/^\d+$/);
    expect(s.readOut('pid')).toBe(`${pid}\n`);
    expect(pid).toBeGreaterThan(1);

    // Only the subhost's own mounts: the old root is gone, not just hidden.
    const mountpoints = s
      .readOut('mountinfo')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[4]);
    expect(mountpoints.sort()).toEqual([...s.expectedMounts].sort());

    // Only the subhost's processes: the reaper, its sleep, and nsenter's shell.
    const ps = s
      .readOut('ps')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(ps[0]).toEqual(['1', '.reaper']);
    for (const [, comm] of ps) expect(['.reaper', 'sleep', 'sh', 'cat']).toContain(comm);
    expect(ps.filter(([, c]) => c === 'sleep')).toHaveLength(1);

    expect(r.reaped.get(pid)).toBe('exit 0');
  });

  it('fails with the exit status when PROGRAM exits before the reaper is ready', async () => {
    const s = await scenario();
    const r = await s.run(`
      rc=0
      $SE $BASE enter --pidfile $OUT/pid $R -- /bin/sh -c 'echo init output; exit 3' || rc=$?
      echo rc=$rc
    `);
    expect(r.kv.rc).toBe('1');
    expect(r.stdout).toMatch(/^init output$/m);
    expect(r.stderr).toBe('subhost-enter: /bin/sh exited with status 3 before the subhost was ready');
    expect(s.hasOut('pid')).toBe(false);
  });

  it('reports exec failure, a root that is no mount point, an unwritable pidfile', async () => {
    const s = await scenario();
    const r = await s.run(`
      rc=0; $SE $BASE enter --pidfile $OUT/pid $R -- /no/such/init 2>$D/e1 || rc=$?
      echo rc1=$rc
      rc=0; $SE mkdir $D/plain 755 enter $D/plain -- /bin/sh 2>$D/e2 || rc=$?
      echo rc2=$rc
      rc=0; $SE $BASE enter --pidfile $D/nodir/pid $R -- \\
        /bin/sh -c 'sleep 1000 & exec /.reaper ${NAME}-nopid' 2>$D/e3 || rc=$?
      echo rc3=$rc
      echo sleeps=$(pgrep -x sleep | wc -l)
      cat $D/e1 $D/e2 $D/e3 >&2
    `);
    expect(r.kv).toMatchObject({ rc1: '1', rc2: '1', rc3: '1', sleeps: '0' });
    expect(r.stderr.split('\n')).toEqual([
      'subhost-enter: exec /no/such/init: No such file or directory',
      'subhost-enter: /no/such/init exited with status 1 before the subhost was ready',
      `subhost-enter: pivot_root ${s.dir}/plain: Device or resource busy (is it a mount point?)`,
      'subhost-enter: /bin/sh exited with status 1 before the subhost was ready',
      `subhost-enter: write pidfile ${s.dir}/nodir/pid: No such file or directory`,
    ]);
    expect(s.hasOut('pid')).toBe(false);
  });

  it('gives up after --ready-timeout and kills PROGRAM', async () => {
    const s = await scenario();
    const r = await s.run(`
      rc=0; $SE $BASE enter --pidfile $OUT/pid --ready-timeout 0.5 $R -- /bin/sh -c 'exec sleep 30' || rc=$?
      echo rc=$rc
      echo sleeps=$(pgrep -x sleep | wc -l)
    `);
    expect(r.kv).toMatchObject({ rc: '1', sleeps: '0' });
    expect(r.stderr).toBe('subhost-enter: /bin/sh was not ready after 0.5 s (timeout); killed it');
    expect(r.ms).toBeLessThan(5000);
    expect(s.hasOut('pid')).toBe(false);
  });

  it('gives up when PROGRAM closes the readiness fd without writing R', async () => {
    const s = await scenario();
    const r = await s.run(`
      rc=0
      $SE $BASE enter --pidfile $OUT/pid $R -- \\
        /bin/sh -c 'eval "exec $OVERLAY_BOOT_READY_FD>&-"; exec sleep 30' || rc=$?
      echo rc=$rc
    `);
    expect(r.kv.rc).toBe('1');
    expect(r.stderr).toBe('subhost-enter: /bin/sh closed the readiness fd without writing R; killed it');
    expect(r.ms).toBeLessThan(8000);
    expect(s.hasOut('pid')).toBe(false);
  });

  it("takes the init script's progress items before R, and refuses anything else on the readiness fd", async () => {
    const s = await scenario();
    const r = await s.run(`
      rc=0
      $SE $BASE enter --pidfile $OUT/pid $R -- \\
        /bin/sh -c 'eval "printf \\"Sssh\\\\nS/usr/bin/\\\\303\\\\274x y\\\\nD2 0\\\\n\\" >&$OVERLAY_BOOT_READY_FD"; exec /.reaper ${NAME}-items' || rc=$?
      echo ok-rc=$rc
      P=$(cat $OUT/pid)
      # No child left: the reaper exits on its own.
      waitfor 5 grep -q "^$P " $D/reaped.log
      rm -f $OUT/pid
      rc=0
      $SE $BASE enter --pidfile $OUT/pid $R -- \\
        /bin/sh -c 'eval "printf \\"Sok\\\\nXbad\\" >&$OVERLAY_BOOT_READY_FD"; exec sleep 30' || rc=$?
      echo bad-rc=$rc
    `);
    expect(r.kv).toMatchObject({ 'ok-rc': '0', 'bad-rc': '1' });
    expect(r.stderr).toContain('subhost-enter: /bin/sh wrote something other than readiness items to the readiness fd; killed it');
    expect(s.hasOut('pid')).toBe(false);
  });

  it('--no-wait writes the pidfile right away and sets no readiness fd', async () => {
    const s = await scenario();
    const r = await s.run(`
      $SE $BASE enter --no-wait --pidfile $OUT/pid $R -- \\
        /bin/sh -c 'echo \${OVERLAY_BOOT_READY_FD:-unset} > /out/env; sleep 1; exec /.reaper ${NAME}-nw'
      echo pid-at-return=$(cat $OUT/pid)
      waitfor 5 test -s $OUT/env
      echo env=$(cat $OUT/env)
      P=$(cat $OUT/pid)
      waitfor 5 grep -q "^$P " $D/reaped.log
    `);
    expect(r.stderr).toBe('');
    const pid = Number(r.kv['pid-at-return']);
    expect(pid).toBeGreaterThan(1);
    expect(r.kv.env).toBe('unset');
    // The reaper had no children left: it exits 0 on its own, as in 1.6.
    expect(r.reaped.get(pid)).toBe('exit 0');
  });
});
