// The start plan is data: check what it would do without doing it.
import { describe, it, expect } from 'vitest';
import {
  overlayOps,
  postmountOps,
  reaperOps,
  shareOps,
  checkOps,
  premountOps,
  interfacesFile,
  startPlan,
  builtinHooks,
  enterArgs,
  journalOps,
  relayOps,
} from '../../lib/plan/plan.js';
import { mkdirP, OPS, arity, argNames, argvToOps, opsToArgv, type Op } from '../../lib/plan/ops.js';
import { initScript } from '../../lib/plan/init-script.js';
import { netnsPlanLines } from '../../lib/plan/netns.js';
import { parseCables } from '../../lib/config/cables.js';
import type { SubhostConfig } from '../../lib/config/fields.js';
import { planBase as base, planFacts as facts } from './plan-fixture.js';

describe('overlay mount', () => {
  it('overlays LOWER and UPPER on LIVE', () => {
    expect(overlayOps(base)).toEqual([
      ['mount', 'overlay', 'overlay', '/s/x/live', '-', 'lowerdir=/,upperdir=/s/x/root,workdir=/s/x/work'],
    ]);
  });
  it('escapes commas and colons in paths', () => {
    expect(overlayOps({ ...base, UPPER: '/a,b:c' })[0]![5]).toBe('lowerdir=/,upperdir=/a\\,b\\:c,workdir=/s/x/work');
  });
  it('bind mounts when UPPER is LOWER, and does nothing when LIVE is UPPER too', () => {
    expect(overlayOps({ ...base, UPPER: '/t', LOWER: '/t' })).toEqual([['mount', 'none', '/t', '/s/x/live', 'bind', '-']]);
    // In place: bound onto itself, so that pivot_root finds a mount point.
    expect(overlayOps({ ...base, UPPER: '/t', LOWER: '/t', LIVE: '/t' })).toEqual([['mount', 'none', '/t', '/t', 'bind,rec', '-']]);
  });
});

describe('default POSTMOUNT', () => {
  const ops = postmountOps(base, facts);
  it("makes the 1.6 device nodes with their modes and owners, but not the host's console (5:1: the relay makes /dev/console a pty)", () => {
    const nodes = ops.filter((o) => o[0] === 'mknod').map((o) => [o[1].replace('/s/x/live', ''), ...o.slice(2)]);
    expect(nodes).toEqual([
      ['/dev/null', '666', 'c', '1', '3', '0', '0'],
      ['/dev/zero', '666', 'c', '1', '5', '0', '0'],
      ['/dev/ptmx', '666', 'c', '5', '2', '0', '5'],
      ['/dev/tty', '666', 'c', '5', '0', '0', '5'],
      ['/dev/random', '444', 'c', '1', '8', '0', '0'],
      ['/dev/urandom', '444', 'c', '1', '9', '0', '0'],
    ]);
  });
  it('mounts /dev, devpts, sysfs read-only, /run of RAM_SIZE with /run/lock, and /etc/adjtime', () => {
    const mounts = ops.filter((o) => o[0] === 'mount').map((o) => `${o[1]} ${o[3].replace('/s/x/live', '')} ${o[4]} ${o[5]}`);
    expect(mounts).toEqual([
      'tmpfs /dev nosuid size=50M,mode=755',
      'devpts /dev/pts nosuid,noexec newinstance,ptmxmode=0666,mode=620,gid=5',
      'sysfs /sys ro,nosuid,nodev,noexec -',
      'tmpfs /run nosuid,nodev size=50M,mode=755',
    ]);
    // Contained, the host's clock drift file is the subhost's to read only; 1.6 (CONTAINMENT=none) shared it writable.
    expect(ops).toContainEqual(['bind-ro-if-exists', '/etc/adjtime', '/s/x/live/etc/adjtime']);
    expect(postmountOps({ ...base, CONTAINMENT: 'none' }, facts)).toContainEqual([
      'bind-if-exists',
      '/etc/adjtime',
      '/s/x/live/etc/adjtime',
    ]);
    expect(ops).toContainEqual(['chmod', '/s/x/live/run/lock', '1777']);
  });
  it('RAM_SIZE=none leaves /run alone', () => {
    const o = postmountOps({ ...base, RAM_SIZE: 'none' }, facts);
    expect(o.some((x) => x[0] === 'mount' && x[3].endsWith('/run'))).toBe(false);
  });
  it('a size is passed to tmpfs as is', () => {
    expect(postmountOps({ ...base, RAM_SIZE: '1G' }, facts)).toContainEqual([
      'mount',
      'tmpfs',
      'tmpfs',
      '/s/x/live/run',
      'nosuid,nodev',
      'size=1G,mode=755',
    ]);
  });
});

describe('SHARE and the reaper', () => {
  it('creates the inside path level by level and binds', () => {
    expect(shareOps({ ...base, SHARE: [{ host: '/h/d', inside: '/srv/d', line: 3 }] })).toEqual([
      ['mkdir', '/s/x/live/srv', '755'],
      ['mkdir', '/s/x/live/srv/d', '755'],
      ['bind-nofollow', '/h/d', '/s/x/live/srv/d'],
    ]);
    expect(mkdirP('/r', '//a//b/')).toEqual([
      ['mkdir', '/r/a', '755'],
      ['mkdir', '/r/a/b', '755'],
    ]);
  });
  it('installs .reaper when missing and always binds the current one over it', () => {
    expect(reaperOps(base, facts)).toEqual([
      ['install-if-missing', facts.reaper, '/s/x/live/.reaper', '755'],
      ['bind-file-ro', facts.reaper, '/s/x/live/.reaper'],
    ]);
    expect(reaperOps({ ...base, REAPER: '/sbin/other' }, facts)).toEqual([]);
  });
});

describe('init script', () => {
  it('starts START in order and tells the reaper the reverse order', () => {
    const s = initScript({ ...base, START: ['rsyslog', '/usr/local/bin/go', 'ssh'] });
    const starts = s.split('\n').filter((l) => l.startsWith('start_service '));
    expect(starts).toEqual(["start_service 'rsyslog'", "start_service '/usr/local/bin/go'", "start_service 'ssh'"]);
    expect(s).toContain("export OVERLAY_BOOT_STOP='ssh rsyslog'\nexec '/.reaper' 'x'\n");
    // 1.6's dummy service, always: our reaper holds its FIFO, no process of its own.
    expect(s).toContain('export OVERLAY_BOOT_DUMMY=/run/dummy_service\n');
    expect(s).not.toContain('mkfifo');
    expect(s).not.toContain('read X');
  });
  it('has the reaper hold the dummy service when START is none', () => {
    const s = initScript({ ...base, START: [] });
    expect(s).toContain("export OVERLAY_BOOT_DUMMY=/run/dummy_service\nexport OVERLAY_BOOT_STOP=''\nexec '/.reaper' 'x'\n");
  });
  it("parks 1.6's sh dummy service for a custom REAPER, which cannot hold it", () => {
    const s = initScript({ ...base, START: [], REAPER: '/sbin/other' });
    expect(s).toContain('[ -p /run/dummy_service ] || mkfifo /run/dummy_service\n');
    expect(s).toContain("read X < /run/dummy_service' dummy_service ) &\n");
    expect(s).not.toContain('OVERLAY_BOOT_DUMMY');
    expect(s).toContain("exec '/sbin/other' 'x'\n");
  });
});

describe('network', () => {
  it('writes lo and one manual stanza per veth into interfaces', () => {
    const c = { ...base, CABLES: parseCables('= br0= =.7', 'x') };
    expect(interfacesFile(c)).toBe(
      '# Generated for x subhost\nauto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet manual\n\nauto eth1\niface eth1 inet manual\n',
    );
  });
  it('creates veths (MAC on the subhost end) and VLANs on the previous host end', () => {
    expect(netnsPlanLines('x', parseCables('= br0=02:00:00:00:00:05 =.12', 'x'))).toEqual([
      'netns\tx',
      'veth\tx0\teth0\t-\t-',
      'veth\tx1\teth1\t02:00:00:00:00:05\tbr0',
      'vlan\tx1.12\tx1\t12\t-',
    ]);
  });
});

describe('the whole start plan', () => {
  it('checks first, then PREMOUNT, the overlay, POSTMOUNT, shares, the reaper, and enter with the init script', () => {
    const argv = startPlan({ ...base, SHARE: [{ host: '/h', inside: '/in', line: 4 }] }, facts, '/run/subhost/x/pid');
    const ops = argv.filter((a) =>
      ['require-dir', 'refuse-mountpoint', 'write-if-missing', 'mount', 'install-if-missing', 'bind-file-ro', 'enter'].includes(a),
    );
    expect(ops.slice(0, 7)).toEqual([
      'require-dir',
      'require-dir',
      'require-dir',
      'require-dir',
      'require-dir',
      'require-dir',
      'refuse-mountpoint',
    ]);
    expect(ops.slice(7, 9)).toEqual(['write-if-missing', 'mount']);
    expect(argv.slice(argv.indexOf('guard'), argv.indexOf('guard') + 4)).toEqual(['guard', '/s/x/live', 'guard', '/s/x/root']);
    expect(ops.slice(-3)).toEqual(['install-if-missing', 'bind-file-ro', 'enter']);
    expect(argv.slice(argv.indexOf('enter'))).toEqual([
      'enter',
      '--hostname',
      'x',
      '--hostname-from-root',
      '--pidfile',
      '/run/subhost/x/pid',
      '--contain',
      '/s/x/live',
      '--',
      '/bin/sh',
      '-c',
      initScriptOf(argv),
      'init-x',
    ]);
    // The unit's fence is checked against the config, before anything is mounted.
    expect(argv.slice(argv.indexOf('check-containment'), argv.indexOf('check-containment') + 2)).toEqual([
      'check-containment',
      'contained',
    ]);
    expect(argv.indexOf('check-containment')).toBeLessThan(argv.indexOf('mount'));
    // UPPER, WORK and LIVE are locked before anything is written (native/lock.c).
    expect(argvToOps(argv).ops.filter((o) => o[0] === 'lock' || o[0] === 'refuse-foreign-mounts')).toEqual([
      ['lock', 'x', 'UPPER', '/s/x/root'],
      ['lock', 'x', 'WORK', '/s/x/work'],
      ['lock', 'x', 'LIVE', '/s/x/live'],
      ['refuse-foreign-mounts'],
    ]);
    expect(argv.indexOf('refuse-foreign-mounts')).toBeLessThan(argv.indexOf('write-if-missing'));
    const none = startPlan({ ...base, CONTAINMENT: 'none' }, facts, '/run/subhost/x/pid');
    expect(none).not.toContain('--contain');
    expect(none.slice(none.indexOf('check-containment'), none.indexOf('check-containment') + 2)).toEqual(['check-containment', 'none']);
    expect(checkOps(base)).toContainEqual(['require-dir', '/s/x/live', '/s/x/x.conf: LIVE: /s/x/live is not a directory']);
    expect(premountOps({ ...base, UPPER: '/t', LOWER: '/t', LIVE: '/t' })).toEqual([]);
  });
  it('reads back op by op with the arities of the one ops table, up to enter', () => {
    const cfg = { ...base, SHARE: [{ host: '/h', inside: '/in/deep', line: 4 }], CONTAINMENT: 'none' as const, RAM_SIZE: 'none' };
    const argv = startPlan(cfg, facts, '/run/subhost/x/pid');
    const { ops, rest } = argvToOps(argv);
    expect(rest[0]).toBe('enter');
    // What the start makes in UPPER is journalled (the netns unit's ExecStopPost= undoes a killed start).
    expect(ops).toContainEqual(['undo-journal', `/run/overlay-boot/undo/${base.NAME}`, base.UPPER]);
    expect(opsToArgv(ops)).toEqual(argv.slice(0, argv.length - rest.length));
    for (const op of ops) expect(op.length, op.join(' ')).toBe(1 + arity(op[0])!);
    expect(new Set(ops.map((o) => o[0]))).toEqual(
      new Set([
        'require-dir',
        'refuse-mountpoint',
        'check-containment',
        'lock',
        'refuse-foreign-mounts',
        'link-up',
        'guard',
        'undo-journal',
        'write-if-missing',
        'mount',
        'mkdir',
        'mknod',
        'symlink',
        'chmod',
        'bind-if-exists',
        'bind-nofollow',
        'install-if-missing',
        'bind-file-ro',
        'bind-socket-ro',
        'relay',
      ]),
    );
  });
});

describe('the console and syslog relay', () => {
  const relay = (c: typeof base) => relayOps(c, facts);
  it('contained: the console pty and a /dev/log socket of its own, made last, right before enter', () => {
    expect(relay(base)).toEqual([
      [
        'relay',
        '/usr/lib/overlay-boot/subhost-relay',
        base.NAME,
        '/s/x/live/dev/pts',
        '/s/x/live/dev/console',
        '/s/x/live/run/systemd/journal/dev-log',
        '/run/systemd/journal/dev-log',
      ],
    ]);
    expect(journalOps(base)).not.toContainEqual(expect.arrayContaining(['bind-socket-ro']));
    const { ops } = argvToOps(startPlan(base, facts, '/run/p'));
    expect(ops.at(-1)?.[0]).toBe('relay');
  });
  it('RAM_SIZE=none: /dev/log itself; JOURNAL=no: the console only', () => {
    expect(relay({ ...base, RAM_SIZE: 'none' })[0]?.[5]).toBe('/s/x/live/dev/log');
    expect(relay({ ...base, JOURNAL: 'no' })[0]?.[5]).toBe('-');
  });
  it("CONTAINMENT=none: the console pty too, but the host's syslog socket bound in as it is", () => {
    const none = { ...base, CONTAINMENT: 'none' as const };
    expect(relay(none)[0]?.[5]).toBe('-');
    expect(journalOps(none)).toContainEqual(['bind-socket-ro', '/run/systemd/journal/dev-log', '/s/x/live/run/systemd/journal/dev-log']);
  });
});

describe('the ops table', () => {
  it('gives each op its arity and argument names; unknown words have none', () => {
    expect(arity('mknod')).toBe(7);
    expect(argNames('mknod')).toEqual(['path', 'mode', 'type', 'major', 'minor', 'uid', 'gid']);
    expect(arity('guard')).toBe(1);
    expect(arity('enter')).toBeUndefined();
    expect(arity('toString')).toBeUndefined();
    expect(Object.keys(OPS)).toHaveLength(26);
  });
  it('types each op by it (a wrong arity or word does not compile)', () => {
    const ok: Op[] = [
      ['guard', '/r'],
      ['check-containment', 'none'],
      ['mknod', '/d', '666', 'b', '1', '2', '0', '0'],
    ];
    // @ts-expect-error one argument too few
    const short: Op = ['mkdir', '/x'];
    // @ts-expect-error not a containment level
    const level: Op = ['check-containment', 'loose'];
    expect([ok.length, short.length, level.length]).toEqual([3, 2, 2]);
  });
});

function initScriptOf(argv: string[]): string {
  return argv[argv.length - 2]!;
}

describe('built-in hooks', () => {
  it('make the whole start one native plan only when all three are built in', () => {
    const builtin = { PREMOUNT: { builtin: true }, POSTMOUNT: { builtin: true }, INIT: { builtin: true } } as const;
    expect(builtinHooks(base)).toBe(false);
    expect(builtinHooks({ ...base, ...builtin })).toBe(true);
    expect(builtinHooks({ ...base, ...builtin, INIT: { argv: ['/i'] } })).toBe(false);
  });
});

describe('enter arguments', () => {
  it('follow TIMEOUT_START for readiness; a custom REAPER waits for the default init script, not for a custom INIT', () => {
    const args = (c: Partial<SubhostConfig>, defaultInit = true) => enterArgs({ ...base, ...c }, '/p', defaultInit);
    expect(args({})).not.toContain('--ready-timeout');
    const t = args({ SYSTEMD: { TimeoutStartSec: '2min' } });
    expect(t.slice(t.indexOf('--ready-timeout'), t.indexOf('--ready-timeout') + 2)).toEqual(['--ready-timeout', '120']);
    expect(args({ SYSTEMD: { TimeoutStartSec: 'infinity' } })).toContain('0');
    expect(args({ REAPER: '/sbin/myreaper' })).not.toContain('--no-wait');
    expect(args({ REAPER: '/sbin/myreaper' }, false)).toContain('--no-wait');
    expect(initScript({ ...base, REAPER: '/sbin/myreaper' })).toContain(
      "if [ ! -f '/sbin/myreaper' ] || [ ! -x '/sbin/myreaper' ]; then\n    echo \"overlay-boot: REAPER /sbin/myreaper is not an executable file inside the subhost\" >&2; exit 1\nfi\n",
    );
  });
});
