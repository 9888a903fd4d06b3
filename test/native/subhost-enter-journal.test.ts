// The undo journal: a start SIGKILLed after its last step (nothing undone
// in-process) is undone by `subhost-enter --undo`, as subhost-netns@'s
// ExecStopPost= runs it, outside the start's mount namespace.
// Only what the start made goes: UPPER's own entries, and paths made on a
// tmpfs inside LIVE, are left alone.

import { describe, expect, it } from 'vitest';
import { nativeSuite } from './harness.js';

const scenario = nativeSuite();

describe('subhost-enter undo journal', () => {
  it('a start killed after its last step is undone by --undo, and only what it made', async () => {
    const s = await scenario();
    const r = await s.run(`
      # UPPER listing: path, type, mode (what "as it was" compares).
      list() { ( cd $D/upper && find . -printf '%p %y %m\\n' | sort | tr '\\n' ';' ); }
      mkdir -p $D/lower/srv $D/lower/etc $D/upper/etc $D/upper/dev $D/work $D/live
      echo user > $D/upper/etc/motd
      echo users-own > $D/upper/dev/console   # an UPPER entry the tmpfs /dev hides
      echo before="$(list)"
      J=$D/undo
      set +e
      OVERLAY_BOOT_FAULT_KILL_AT=12 $SE guard $D/live guard $D/upper undo-journal $J $D/upper \\
        write-if-missing $D/upper/etc/network/interfaces 644 x \\
        mount overlay overlay $D/live - lowerdir=$D/lower,upperdir=$D/upper,workdir=$D/work \\
        mkdir $D/live/run 755 \\
        mount tmpfs dev $D/live/dev - size=1m \\
        mknod $D/live/dev/console 622 c 5 1 0 5 \\
        mkdir $D/live/srv 755 mkdir $D/live/srv/data 755 \\
        install-if-missing $REAPER $D/live/.reaper 755 \\
        mkdir $D/live/proc 555 \\
        mkdir $D/live/sys 555
      echo rc=$?
      set -e
      echo killed="$(list)"
      # ExecStopPost= runs in a fresh mount namespace: the start's mounts are gone.
      umount -R $D/live
      echo during="$(list)"
      $SE --undo $J
      echo undo=$?
      echo after="$(list)"
      echo journal=$(test -e $J && echo kept || echo gone)
      echo console=$(cat $D/upper/dev/console)
      $SE --undo $J
      echo again=$?
    `);
    expect(r.kv.rc).toBe('137'); // SIGKILL before op 12: ops 1-11 ran, nothing undone in-process
    expect(r.kv.during).toContain('./.reaper f 755');
    expect(r.kv.during).toContain('./etc/network/interfaces f 644');
    expect(r.kv.during).toContain('./srv/data d 755');
    expect(r.kv.during).toContain('./run d 755');
    expect(r.kv).toMatchObject({ undo: '0', journal: 'gone', console: 'users-own', again: '0' });
    expect(r.kv.after).toBe(r.kv.before);
  });

  it('the journal names the path inside UPPER: a symlink planted there does not lead --undo out', async () => {
    const s = await scenario();
    const r = await s.run(`
      mkdir -p $D/upper $D/outside/x
      printf 'u\\0'$D/upper'\\0c\\0x\\0' > $D/undo
      ln -s $D/outside $D/upper/x-link
      printf 'c\\0x-link/x\\0' >> $D/undo
      $SE --undo $D/undo
      echo undo=$?
      echo outside=$(ls $D/outside)
    `);
    expect(r.kv).toMatchObject({ undo: '0', outside: 'x' });
  });
});
