// The reaper as PID 1 of a subhost: reaping, exiting when out of children,
// graceful stop on SIGTERM from outside the pid namespace.

import { describe, expect, it } from 'vitest';
import { NAME, nativeSuite } from './harness.js';

const scenario = nativeSuite();

const INIT = `
export PATH=/out/bin:/usr/bin:/bin
/bin/sh /out/child.sh &
exec /.reaper ${NAME}-stop
`;

// A long-running "service" that cleans up on SIGTERM.
const CHILD = `
trap 'echo child-term >> /out/order; exit 0' TERM
sleep 1000 &
echo started > /out/child.started
wait
`;

// Counts the processes left in the subhost's pid namespace, after the fact.
const LEFTOVERS = `
left=0
for p in /proc/[0-9]*; do
  if [ "$(readlink $p/ns/pid 2>/dev/null)" = "$NS" ]; then left=$((left + 1)); fi
done
echo left=$left
`;

type Scenario = Awaited<ReturnType<typeof scenario>>;

/**
 * A subhost whose init starts CHILD and execs the reaper with
 * OVERLAY_BOOT_STOP=stop, with a fake `service` running serviceLines.
 * Returns the shell that starts it, waits for the child and sends the
 * first SIGTERM (P: the reaper's pid, NS: its pid namespace).
 */
async function withServices(s: Scenario, serviceLines: string[], stop: string): Promise<string> {
  await s.writeOut('bin/service', ['#!/bin/sh', ...serviceLines, ''].join('\n'), 0o755);
  await s.writeOut('init.sh', INIT.replace('export PATH', `export OVERLAY_BOOT_STOP="${stop}"\nexport PATH`));
  await s.writeOut('child.sh', CHILD);
  return `
      $SE $BASE enter --pidfile $OUT/pid $R -- /bin/sh /out/init.sh
      P=$(cat $OUT/pid)
      echo pid=$P
      NS=$(readlink /proc/$P/ns/pid)
      waitfor 5 test -e $OUT/child.started
      kill -TERM $P`;
}

describe('reaper', () => {
  it('on SIGTERM stops the services in order, then SIGTERMs everything and exits 0', async () => {
    const s = await scenario();
    const start = await withServices(s, ['echo "$1 $2" >> /out/order', 'grep "^SigBlk" /proc/self/status >> /out/service-sigs'], 'b a');
    const r = await s.run(`${start}
      waitfor 10 grep -q "^$P " $D/reaped.log
      ${LEFTOVERS}
    `);
    expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
    expect(r.kv.left).toBe('0');
    expect(s.readOut('order')).toBe('b stop\na stop\nchild-term\n');
    // The stop script must not inherit the reaper's all-blocked mask.
    expect(s.readOut('service-sigs')).toBe('SigBlk:\t0000000000000000\n'.repeat(2));
    expect(r.stderr.split('\n')).toEqual([
      `reaper[${NAME}-stop]: got SIGTERM, stopping services: b a`,
      `reaper[${NAME}-stop]: service stop script exited with status 0`,
      `reaper[${NAME}-stop]: sending SIGTERM to all processes`,
      `reaper[${NAME}-stop]: all processes gone, exiting`,
    ]);
  });

  it('a second SIGTERM skips the service stop that hangs', async () => {
    const s = await scenario();
    const start = await withServices(s, ['echo "$1 $2 begin" >> /out/order', 'sleep 30', 'echo "$1 $2 end" >> /out/order'], 'slow');
    const r = await s.run(`${start}
      waitfor 5 grep -q "slow stop begin" $OUT/order
      kill -TERM $P
      waitfor 5 grep -q "^$P " $D/reaped.log
      ${LEFTOVERS}
    `);
    expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
    expect(r.kv.left).toBe('0');
    expect(s.readOut('order')).toBe('slow stop begin\nchild-term\n');
    expect(r.stderr.split('\n')).toContain(`reaper[${NAME}-stop]: got SIGTERM again, not waiting for service stop`);
    expect(r.stderr.split('\n')).toContain(`reaper[${NAME}-stop]: service stop script was killed by signal 15 (SIGTERM)`);
  });

  it('without services configured, SIGTERM goes straight to everyone', async () => {
    const s = await scenario();
    await s.writeOut('init.sh', INIT);
    await s.writeOut('child.sh', CHILD);
    const r = await s.run(`
      $SE $BASE enter --pidfile $OUT/pid $R -- /bin/sh /out/init.sh
      P=$(cat $OUT/pid)
      echo pid=$P
      waitfor 5 test -e $OUT/child.started
      kill -TERM $P
      waitfor 5 grep -q "^$P " $D/reaped.log
    `);
    expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
    expect(s.readOut('order')).toBe('child-term\n');
    expect(r.stderr.split('\n')).toEqual([
      `reaper[${NAME}-stop]: got SIGTERM`,
      `reaper[${NAME}-stop]: sending SIGTERM to all processes`,
      `reaper[${NAME}-stop]: all processes gone, exiting`,
    ]);
  });

  it('reaps orphans and exits 0 once it runs out of children', async () => {
    const s = await scenario();
    const r = await s.run(`
      t0=$(date +%s%N)
      $SE $BASE enter --pidfile $OUT/pid $R -- /bin/sh -c \\
        '/bin/sh -c "sleep 1.5 &"; sleep 0.3 & exec /.reaper ${NAME}-out'
      P=$(cat $OUT/pid)
      echo pid=$P
      if kill -0 $P; then echo alive=yes; fi
      waitfor 5 grep -q "^$P " $D/reaped.log
      echo elapsed-ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    `);
    expect(r.kv.alive).toBe('yes');
    expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
    // The orphaned `sleep 1.5` (its parent shell exited at once) kept it alive.
    expect(Number(r.kv['elapsed-ms'])).toBeGreaterThanOrEqual(1400);
    // Silent unless stopping: the journal is not flooded by normal reaping.
    expect(r.stderr).toBe('');
  });

  it('works as a 1.6 drop-in: no env, plain pid namespace, SIGTERM from outside', async () => {
    const s = await scenario();
    const r = await s.run(`
      env -i PATH=/usr/bin:/bin unshare -p -f /bin/sh -c \\
        "sleep 1000 & exec $REAPER ${NAME}-legacy" &
      U=$!
      waitfor 5 pgrep -P $U >/dev/null
      RP=$(pgrep -P $U)
      # a SIGTERM before the reaper has set up its signals would be lost
      waitfor 5 grep -q '^SigCgt:.*[1-9a-f]' /proc/$RP/status
      echo comm=$(cat /proc/$RP/comm)
      kill -TERM $RP
      rc=0; wait $U || rc=$?
      echo rc=$rc
      echo sleeps=$(pgrep -x sleep | wc -l)
    `);
    expect(r.kv).toMatchObject({ comm: 'reaper', rc: '0', sleeps: '0' });
    expect(r.stderr.split('\n')).toEqual([
      `reaper[${NAME}-legacy]: got SIGTERM`,
      `reaper[${NAME}-legacy]: sending SIGTERM to all processes`,
      `reaper[${NAME}-legacy]: all processes gone, exiting`,
    ]);
  });
  // 1.6's dummy service, held by the reaper ($OVERLAY_BOOT_DUMMY, as the
  // default init script sets it): /out/dummy here, /run/dummy_service there.
  describe('holding the dummy service FIFO', () => {
    const DUMMY_INIT = (pre: string) => `
export PATH=/usr/bin:/bin
${pre}
export OVERLAY_BOOT_DUMMY=/out/dummy
exec /.reaper ${NAME}-dummy
`;
    // Started and ready: the FIFO exists (made by the reaper) and is open in it.
    const START = `
      $SE $BASE enter --pidfile $OUT/pid $R -- /bin/sh /out/init.sh
      P=$(cat $OUT/pid)
      echo pid=$P
      test -p $OUT/dummy && echo fifo=yes
      echo fds=$(for f in /proc/$P/fd/*; do readlink $f; done | grep -c '/out/dummy$')`;

    it('keeps a subhost without any other process up until the FIFO is written, then exits 0', async () => {
      const s = await scenario();
      await s.writeOut('init.sh', DUMMY_INIT(''));
      const r = await s.run(`${START}
      echo children=$(pgrep -P $P | wc -l)
      echo bye > $OUT/dummy
      waitfor 5 grep -q "^$P " $D/reaped.log
    `);
      expect(r.kv).toMatchObject({ fifo: 'yes', fds: '1', children: '0' });
      expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
      expect(r.stderr.split('\n')).toEqual([`reaper[${NAME}-dummy]: /out/dummy was written to: dummy service ended`]);
    });

    it("a writer that closes without writing ends it too, as it ended 1.6's read; running services keep the subhost up", async () => {
      const s = await scenario();
      await s.writeOut('init.sh', DUMMY_INIT('sleep 1000 &'));
      const r = await s.run(`${START}
      : > $OUT/dummy
      waitfor 5 sh -c "! ls -l /proc/$P/fd | grep -q /out/dummy"
      if kill -0 $P; then echo alive-after-write=yes; fi
      kill $(pgrep -P $P -x sleep)
      waitfor 5 grep -q "^$P " $D/reaped.log
    `);
      expect(r.kv).toMatchObject({ fifo: 'yes', fds: '1', 'alive-after-write': 'yes' });
      expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
      expect(r.stderr.split('\n')).toEqual([`reaper[${NAME}-dummy]: /out/dummy was written to: dummy service ended`]);
    });

    it('SIGTERM ends it with the rest, as before', async () => {
      const s = await scenario();
      await s.writeOut('init.sh', DUMMY_INIT(''));
      const r = await s.run(`${START}
      kill -TERM $P
      waitfor 5 grep -q "^$P " $D/reaped.log
    `);
      expect(r.kv).toMatchObject({ fifo: 'yes', fds: '1' });
      expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
      expect(r.stderr.split('\n')).toEqual([
        `reaper[${NAME}-dummy]: got SIGTERM`,
        `reaper[${NAME}-dummy]: sending SIGTERM to all processes`,
        `reaper[${NAME}-dummy]: all processes gone, exiting`,
      ]);
    });

    it('a path that is not a FIFO: no dummy service, said once', async () => {
      const s = await scenario();
      await s.writeOut('dummy', 'a regular file\n');
      await s.writeOut('init.sh', DUMMY_INIT(''));
      const r = await s.run(`
      $SE $BASE enter --pidfile $OUT/pid $R -- /bin/sh /out/init.sh
      P=$(cat $OUT/pid)
      echo pid=$P
      waitfor 5 grep -q "^$P " $D/reaped.log
    `);
      expect(r.reaped.get(Number(r.kv.pid))).toBe('exit 0');
      expect(r.stderr.split('\n')).toEqual([`reaper[${NAME}-dummy]: /out/dummy is not a FIFO: no dummy service`]);
      expect(s.readOut('dummy')).toBe('a regular file\n');
    });
  });
});
