import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { chownSync, chmodSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, realpathIn, type LoadResult } from '../../lib/config/load.js';
import { SubhostConfigSchema } from '../../lib/config/fields.js';
import { builtinHookPath, HOOKS } from '../../lib/config/variables.js';
import { parseConfText } from '../../lib/config/parse.js';
import { formatProblem } from '../../lib/config/problem.js';
import { fixture, type Fixture, itAsRoot } from './helpers.js';

let f: Fixture;
beforeEach(() => {
  f = fixture();
  f.mkdirs('live', 'root', 'work');
});
afterEach(() => f.cleanup());

const errors = (r: LoadResult) => r.problems.map(formatProblem);

describe('parsing the 1.6 text format', () => {
  it('accepts whitespace around = and trims values, keeps values literal', () => {
    const p = parseConfText("  START = none  \nCABLES= =\n#BASE=x\n\nLOWER='quoted'\n");
    expect(p.assignments.map((a) => [a.key, a.value, a.line])).toEqual([
      ['START', 'none', 1],
      ['CABLES', '=', 2],
      ['LOWER', "'quoted'", 5],
    ]);
  });
  it('marks !command values without running them', () => {
    const p = parseConfText('LOWER=!overlay-diskfile mnt/ disk.img 2\n');
    expect(p.assignments[0]).toMatchObject({ key: 'LOWER', command: true, value: 'overlay-diskfile mnt/ disk.img 2' });
  });
  it('reports stray lines separately', () => {
    const p = parseConfText('BASE=.\nthis is not an assignment\n');
    expect(p.strayLines).toEqual([2]);
  });
  it('handles CRLF line ends', () => {
    expect(parseConfText('BASE=.\r\nSTART=none\r\n').assignments.map((a) => a.value)).toEqual(['.', 'none']);
  });
});

describe('defaults (1.6 values)', () => {
  it('resolves every variable of BASE=. to the 1.6 default', async () => {
    const r = await loadConfig(f.conf('BASE=.\n', 'ex1.conf'));
    expect(errors(r)).toEqual([]);
    const c = r.config!;
    expect(c.NAME).toBe('ex1');
    expect(c.BASE).toBe(f.dir);
    expect(c.LIVE).toBe(join(f.dir, 'live'));
    expect(c.UPPER).toBe(join(f.dir, 'root'));
    expect(c.WORK).toBe(join(f.dir, 'work'));
    expect(c.LOWER).toBe('/');
    expect(c.CABLES).toEqual([]);
    expect(c.START).toEqual(['networking', 'ssh']);
    expect(c.PREMOUNT).toEqual({ builtin: true });
    expect(c.POSTMOUNT).toEqual({ builtin: true });
    expect(c.INIT).toEqual({ builtin: true });
    // check shows the built-in hooks by the path that names them.
    for (const k of HOOKS) expect(r.resolved[k]).toEqual({ value: builtinHookPath(k), source: { kind: 'default', why: 'built in' } });
    expect(c.RAM_SIZE).toBe('50M');
    expect(c.REAPER).toBe('/.reaper');
    expect(c.SHARE).toEqual([]);
    expect(c.LOG).toBe('');
    for (const k of ['NAME', 'LIVE', 'UPPER', 'WORK', 'LOWER', 'START', 'RAM_SIZE', 'REAPER', 'CABLES'] as const) {
      expect(r.resolved[k]!.source.kind).toBe('default');
    }
    expect(r.resolved.BASE!.source).toEqual({ kind: 'line', line: 1, text: 'BASE=.' });
  });

  it('an empty value means the default, as in 1.6', async () => {
    const r = await loadConfig(f.conf('BASE=.\nSTART=\nRAM_SIZE=\n'));
    expect(r.config!.START).toEqual(['networking', 'ssh']);
    expect(r.config!.RAM_SIZE).toBe('50M');
  });
});

describe('explicit values', () => {
  it('takes every variable from the file; relative paths resolve against BASE', async () => {
    f.mkdirs('sub/l', 'sub/u', 'sub/w', 'sub/low', 'data', 'hooks', 'tree');
    for (const h of ['pre', 'post', 'init']) {
      const p = f.conf('#!/bin/sh\n', `hooks/${h}`, 0o755);
      chmodSync(p, 0o755);
    }
    const r = await loadConfig(
      f.conf(
        [
          'NAME=web',
          'BASE=sub',
          'LIVE=l',
          'UPPER=u',
          'WORK=w',
          'LOWER=low',
          'CABLES=br0= =02:00:00:aa:bb:cc =.12',
          'START=rsyslog networking /usr/local/bin/x',
          `PREMOUNT=${f.dir}/hooks/pre --flag`,
          `POSTMOUNT=${f.dir}/hooks/post`,
          `INIT=${f.dir}/hooks/init`,
          'RAM_SIZE=none',
          'REAPER=/sbin/myreaper',
          'SHARE=../data',
          `SHARE=${f.dir}/data:/srv/data`,
        ].join('\n'),
        'x.conf',
      ),
    );
    expect(errors(r)).toEqual([]);
    const c = r.config!;
    const sub = join(f.dir, 'sub');
    expect(c).toMatchObject({
      NAME: 'web',
      BASE: sub,
      LIVE: join(sub, 'l'),
      UPPER: join(sub, 'u'),
      WORK: join(sub, 'w'),
      LOWER: join(sub, 'low'),
      START: ['rsyslog', 'networking', '/usr/local/bin/x'],
      PREMOUNT: { argv: [`${f.dir}/hooks/pre`, '--flag'] },
      POSTMOUNT: { argv: [`${f.dir}/hooks/post`] },
      INIT: { argv: [`${f.dir}/hooks/init`] },
      RAM_SIZE: 'none',
      REAPER: '/sbin/myreaper',
    });
    expect(c.CABLES).toEqual([
      { kind: 'veth', index: 0, hostIf: 'web0', peerIf: 'eth0', bridge: 'br0', mac: undefined },
      { kind: 'veth', index: 1, hostIf: 'web1', peerIf: 'eth1', mac: '02:00:00:aa:bb:cc', bridge: undefined },
      { kind: 'vlan', hostIf: 'web1.12', parent: 'web1', vlan: 12, bridge: undefined },
    ]);
    expect(c.SHARE).toEqual([
      { host: join(f.dir, 'data'), inside: join(f.dir, 'data'), line: 14 },
      { host: join(f.dir, 'data'), inside: '/srv/data', line: 15 },
    ]);
    expect(r.resolved.LIVE!.source).toMatchObject({ kind: 'line', line: 3 });
  });

  it('the last assignment wins; SHARE keeps every line', async () => {
    f.mkdirs('a', 'b');
    const r = await loadConfig(f.conf('BASE=.\nSTART=one\nSTART=two\nSHARE=a\nSHARE = b:/in/b\n'));
    expect(r.config!.START).toEqual(['two']);
    expect(r.resolved.START!.source).toMatchObject({ line: 3 });
    expect(r.config!.SHARE.map((s) => s.inside)).toEqual([join(f.dir, 'a'), '/in/b']);
  });

  it('START=none and "START= none" mean no services', async () => {
    expect((await loadConfig(f.conf('BASE=.\nSTART=none\n'))).config!.START).toEqual([]);
    expect((await loadConfig(f.conf('BASE=.\nSTART= none\n'))).config!.START).toEqual([]);
  });

  it('UPPER equal to LOWER needs no WORK', async () => {
    f.mkdirs('tree');
    const r = await loadConfig(f.conf('BASE=.\nUPPER=tree\nLOWER=tree\nWORK=nowhere\n'));
    expect(errors(r)).toEqual([]);
  });

  it('LOG is accepted and reported as ignored', async () => {
    const r = await loadConfig(f.conf('BASE=.\nLOG=/var/log/x.log\n'));
    expect(r.config).toBeDefined();
    expect(r.warnings.map(formatProblem)).toEqual([
      `${f.dir}/sub.conf:2: LOG: ignored: overlay-boot 2 logs to the journal (journalctl -u subhost@NAME)`,
    ]);
  });

  it('unknown variables and stray lines are warnings, not errors (1.6 ignored them)', async () => {
    const r = await loadConfig(f.conf('BASE=.\nFOO=bar\njunk\n'));
    expect(r.config).toBeDefined();
    expect(r.warnings.map((w) => w.line)).toEqual([2, 3]);
  });
});

describe('the config is what a whole zod parse of the validated values gives (load.ts typedConfig)', () => {
  // Every kind of value: defaults, each key set, cables of every form,
  // shares, custom hooks with arguments, the systemd keys; and the same
  // values again (remembered per schema: load.ts knownValid).
  const texts = (d: string) => [
    'BASE=.\nCABLES==\nSTART=none\n',
    [
      'NAME=web',
      'BASE=sub',
      'LIVE=l',
      'UPPER=u',
      'WORK=w',
      'LOWER=low',
      'CABLES=br0= =02:00:00:aa:bb:cc =.12 br1=.7',
      'START=rsyslog networking /usr/local/bin/x',
      `PREMOUNT=${d}/hooks/pre --flag`,
      `INIT=${d}/hooks/init`,
      'RAM_SIZE=none',
      'REAPER=/sbin/myreaper',
      'SHARE=../data',
      `SHARE=${d}/data:/srv/data`,
      'START_TIMEOUT=2min',
      'CONTAINMENT=none',
      'JOURNAL=no',
      'AFTER=db cache',
      'REQUIRES=db',
      'MEMORY_MAX=1G',
      'CPU_QUOTA=50%',
      'CPU_WEIGHT=idle',
      'IO_WEIGHT=100',
      'TASKS_MAX=infinity',
      'TIMEOUT_START=90s',
      'TIMEOUT_STOP=30s',
    ].join('\n'),
    'BASE=.\nRAM_SIZE=10%\nSTART=a b c\nLOWER=tree\nUPPER=tree\nLIVE=tree\n',
  ];
  it('for every kind of value, twice over', async () => {
    f.mkdirs('sub/l', 'sub/u', 'sub/w', 'sub/low', 'data', 'hooks', 'tree');
    for (const h of ['pre', 'init']) chmodSync(f.conf('#!/bin/sh\n', `hooks/${h}`, 0o755), 0o755);
    for (const round of [1, 2]) {
      for (const [i, text] of texts(f.dir).entries()) {
        const r = await loadConfig(f.conf(text, `c${i}.conf`));
        expect(errors(r), `config ${i}, round ${round}`).toEqual([]);
        const whole = SubhostConfigSchema.parse(r.partial);
        expect(r.config).toStrictEqual(whole);
        expect(JSON.stringify(r.config)).toBe(JSON.stringify(whole)); // the same key order (check --json)
      }
    }
  });

  it('values remembered are copies: changing one config leaves the next alone', async () => {
    const a = await loadConfig(f.conf('BASE=.\nSTART=a b\nAFTER=x\n', 'a.conf'));
    a.config!.START.push('changed');
    a.config!.AFTER.push('changed');
    const b = await loadConfig(f.conf('BASE=.\nSTART=a b\nAFTER=x\n', 'b.conf'));
    expect(b.config!.START).toEqual(['a', 'b']);
    expect(b.config!.AFTER).toEqual(['x']);
  });
});

describe('realpathIn: realpath(3) through the parents resolved earlier in the run', () => {
  it('gives what realpathSync gives, through links relative and absolute, links to links, and /', () => {
    f.mkdirs('a/b/c', 'x/y');
    symlinkSync('a/b', join(f.dir, 'rel'));
    symlinkSync(join(f.dir, 'x'), join(f.dir, 'a/b/c/abs'));
    symlinkSync('../../rel', join(f.dir, 'x/y/up'));
    const paths = ['/', '/tmp', f.dir, `${f.dir}/a/b/c`, `${f.dir}/rel`, `${f.dir}/rel/c`, `${f.dir}/rel/c/abs/y`, `${f.dir}/x/y/up/c`];
    const known = new Map<string, string>();
    for (const round of [1, 2]) {
      for (const p of paths) expect(realpathIn(p, known), `${p}, round ${round}`).toBe(realpathSync(p));
    }
    expect(known.get(`${f.dir}/rel/c/abs/y`)).toBe(`${f.dir}/x/y`);
  });

  it("BASE comes out the same with and without the run's resolved paths: a dir, a link to one, a link to a link, a file, nothing", async () => {
    f.mkdirs('real/dir');
    symlinkSync('real/dir', join(f.dir, 'link'));
    symlinkSync('link', join(f.dir, 'link2'));
    f.conf('', 'afile');
    const realpaths = new Map<string, string>();
    for (const round of [1, 2]) {
      for (const base of ['.', 'real/dir', 'link', 'link2', 'link2/', 'afile', 'nothing']) {
        const p = f.conf(`BASE=${base}\n`, 'b.conf');
        const plain = await loadConfig(p, { checkFs: false });
        const run = await loadConfig(p, { checkFs: false, realpaths });
        expect(run.partial.BASE, `BASE=${base}, round ${round}`).toBe(plain.partial.BASE);
        expect(run.resolved.BASE, `BASE=${base}, round ${round}`).toEqual(plain.resolved.BASE);
      }
    }
    expect(realpaths.size).toBeGreaterThan(0);
  });
});

describe('!command values', () => {
  it('are kept unevaluated by default and shown as deferred', async () => {
    const r = await loadConfig(f.conf('BASE=.\nLOWER=!overlay-diskfile mnt/ disk.img 2\n'));
    expect(r.problems).toEqual([]);
    expect(r.config).toBeUndefined();
    expect(r.deferred).toEqual(['LOWER']);
    expect(r.resolved.LOWER).toEqual({
      value: '!overlay-diskfile mnt/ disk.img 2',
      source: { kind: 'command', line: 2, text: 'LOWER=!overlay-diskfile mnt/ disk.img 2', deferred: true },
    });
  });

  it('are evaluated by an evaluator, in BASE, with the first output line as value', async () => {
    f.mkdirs('mnt');
    const calls: string[] = [];
    const r = await loadConfig(f.conf('BASE=.\nLOWER=!overlay-diskfile mnt/ disk.img 2\n'), {
      evaluate: async (cmd, ctx) => {
        calls.push(`${ctx.key} ${cmd} ${ctx.cwd}`);
        return 'mnt/\nignored second line\n';
      },
    });
    expect(errors(r)).toEqual([]);
    expect(calls).toEqual([`LOWER overlay-diskfile mnt/ disk.img 2 ${f.dir}`]);
    expect(r.config!.LOWER).toBe(join(f.dir, 'mnt'));
  });

  it('a failing command is an error naming the line and key', async () => {
    const r = await loadConfig(f.conf('BASE=.\nUPPER=!false\n'), {
      evaluate: async () => {
        throw new Error('exit status 1');
      },
    });
    expect(errors(r)).toEqual([`${f.dir}/sub.conf:2: UPPER: command "false" failed: exit status 1`]);
  });
});

describe('invalid configs: one clear line naming file, line and key', () => {
  const cases: [string, string, string | RegExp][] = [
    ['missing BASE', 'START=none\n', 'sub.conf: BASE: missing BASE=... (required: the subhost directory, relative to the config file)'],
    ['BASE not a directory', 'BASE=nope\n', /sub\.conf:1: BASE: \/.*\/nope is not a directory$/],
    [
      'bad NAME characters',
      'BASE=.\nNAME=a/b\n',
      'sub.conf:2: NAME: "a/b" may contain only letters, digits, ".", "_" and "-", and must start with a letter, digit or "_"',
    ],
    [
      'NAME needing unit escaping',
      'BASE=.\nNAME=web+mail\n',
      'sub.conf:2: NAME: "web+mail" may contain only letters, digits, ".", "_" and "-", and must start with a letter, digit or "_"',
    ],
    [
      'NAME starting with -',
      'BASE=.\nNAME=-x\n',
      'sub.conf:2: NAME: "-x" may contain only letters, digits, ".", "_" and "-", and must start with a letter, digit or "_"',
    ],
    [
      'NAME as a command',
      'BASE=.\nNAME=!hostname\n',
      'sub.conf:2: NAME: NAME cannot be a !command: systemd must know it without running anything',
    ],
    [
      'interface name too long',
      'BASE=.\nNAME=averyverylongnam\nCABLES==\n',
      'sub.conf:3: CABLES: host-side interface "averyverylongnam0" is longer than 15 characters (kernel limit for interface names); use a NAME of at most 14 characters',
    ],
    [
      'VLAN interface too long',
      'BASE=.\nNAME=elevenchars\nCABLES== =.1234\n',
      'sub.conf:3: CABLES: host-side interface "elevenchars0.1234" is longer than 15 characters (kernel limit for interface names); use a NAME of at most 9 characters',
    ],
    ['cable without =', 'BASE=.\nCABLES=br0\n', 'sub.conf:2: CABLES: entry "br0" is not of the form [bridge]=[mac|.vlan]'],
    [
      'bad MAC',
      'BASE=.\nCABLES==02:00:zz:00:00:01\n',
      'sub.conf:2: CABLES: entry "=02:00:zz:00:00:01": "02:00:zz:00:00:01" is neither a MAC address (xx:xx:xx:xx:xx:xx) nor .VLAN',
    ],
    [
      'multicast MAC',
      'BASE=.\nCABLES==01:00:00:00:00:01\n',
      'sub.conf:2: CABLES: entry "=01:00:00:00:00:01": 01:00:00:00:00:01 is a multicast MAC address',
    ],
    ['VLAN first', 'BASE=.\nCABLES==.12\n', 'sub.conf:2: CABLES: entry "=.12": a VLAN needs a cable before it'],
    ['VLAN tag out of range', 'BASE=.\nCABLES== =.5000\n', 'sub.conf:2: CABLES: entry "=.5000": VLAN tag must be a number from 1 to 4094'],
    ['bad RAM_SIZE', 'BASE=.\nRAM_SIZE=lots\n', 'sub.conf:2: RAM_SIZE: "lots" must be a size such as 50M, 1G or 10%, or "none"'],
    ['missing UPPER', 'BASE=.\nUPPER=gone\n', /sub\.conf:2: UPPER: \/.*\/gone is not a directory$/],
    ['missing SHARE dir', 'BASE=.\nSHARE=nothere\n', /sub\.conf:2: SHARE: "nothere": host directory \/.*\/nothere does not exist$/],
    ['relative SHARE target', 'BASE=.\nSHARE=/tmp:rel\n', 'sub.conf:2: SHARE: "/tmp:rel": subhost path must be an absolute path'],
    ['SHARE onto /', 'BASE=.\nSHARE=/tmp:/\n', 'sub.conf:2: SHARE: "/tmp:/": subhost path cannot be / (the subhost root)'],
    [
      'START with shell syntax',
      'BASE=.\nSTART=ssh;reboot\n',
      'sub.conf:2: START: "ssh;reboot" entries must be plain service names or absolute paths (no shell syntax)',
    ],
    ['relative PREMOUNT', 'BASE=.\nPREMOUNT=premount.sh\n', 'sub.conf:2: PREMOUNT: "premount.sh" the command must be an absolute path'],
    ['missing POSTMOUNT', 'BASE=.\nPOSTMOUNT=/nonexistent/post\n', 'sub.conf:2: POSTMOUNT: /nonexistent/post does not exist'],
    ['relative REAPER', 'BASE=.\nREAPER=reaper\n', 'sub.conf:2: REAPER: "reaper" must be an absolute path'],
  ];
  for (const [title, text, expected] of cases) {
    it(title, async () => {
      const r = await loadConfig(f.conf(text));
      const got = errors(r).map((e) => e.slice(f.dir.length + 1));
      if (typeof expected === 'string') expect(got).toEqual([expected]);
      else {
        expect(got.length).toBe(1);
        expect(got[0]).toMatch(expected);
      }
      expect(r.config).toBeUndefined();
    });
  }

  it('missing LIVE with the default is reported without a line', async () => {
    const g = fixture();
    g.mkdirs('root', 'work');
    const r = await loadConfig(g.conf('BASE=.\n'));
    expect(errors(r)).toEqual([`${g.dir}/sub.conf: LIVE: ${g.dir}/live is not a directory`]);
    g.cleanup();
  });

  it('an unreadable file says so', async () => {
    const r = await loadConfig(join(f.dir, 'absent.conf'));
    expect(errors(r)).toEqual([`${f.dir}/absent.conf: cannot read config: ENOENT`]);
  });
});

describe("every config must be root's alone (more in trust.test.ts)", () => {
  const RULE = "a config that root runs must be root's alone";
  it('refuses a !cmd config that is group-writable', async () => {
    const p = f.conf('BASE=.\nLOWER=!echo /\n', 'sub.conf', 0o664);
    const r = await loadConfig(p);
    expect(errors(r)).toEqual([`${p}: the file ${p} is writable by group (mode 664): ${RULE}`]);
  });
  itAsRoot('refuses a PREMOUNT config not owned by root', async () => {
    const p = f.conf('BASE=.\nPREMOUNT=/bin/true\n');
    chownSync(p, 65534, 65534);
    const r = await loadConfig(p);
    expect(errors(r)).toEqual([`${p}: the file ${p} is owned by uid 65534, not root: ${RULE}`]);
  });
  it('refuses a !cmd config in a world-writable (non-sticky) directory', async () => {
    const d = join(f.dir, 'open');
    mkdirSync(d);
    chmodSync(d, 0o777);
    const p = join(d, 'x.conf');
    const g = f.conf('BASE=..\nLOWER=!echo /\n', 'open/x.conf');
    expect(g).toBe(p);
    const r = await loadConfig(p);
    expect(errors(r)).toEqual([`${p}: the directory ${d} is writable by others (mode 777): ${RULE}`]);
  });
  it('accepts the same config when root-owned 0644', async () => {
    const r = await loadConfig(f.conf('BASE=.\nLOWER=!echo /\n'));
    expect(r.problems).toEqual([]);
  });
  itAsRoot('refuses configs that run nothing too: START and SHARE act as root as well', async () => {
    const p = f.conf('BASE=.\n', 'sub.conf', 0o644);
    chownSync(p, 65534, 65534);
    expect(errors(await loadConfig(p))).toEqual([`${p}: the file ${p} is owned by uid 65534, not root: ${RULE}`]);
  });
});

describe('the three example configs of the 1.6 manual', () => {
  it('copy: BASE=. alone overlays the host root, no network', async () => {
    const r = await loadConfig(f.conf('BASE=.\n', 'copy.conf'));
    expect(r.config).toMatchObject({ NAME: 'copy', LOWER: '/', CABLES: [], START: ['networking', 'ssh'], UPPER: join(f.dir, 'root') });
  });
  it('tiny: one plain cable, no services, a debootstrap LOWER', async () => {
    f.mkdirs('base');
    const r = await loadConfig(f.conf('BASE=.\nCABLES= =\nSTART= none\nLOWER= base\n', 'tiny.conf'));
    expect(errors(r)).toEqual([]);
    expect(r.config).toMatchObject({
      NAME: 'tiny',
      START: [],
      LOWER: join(f.dir, 'base'),
      CABLES: [{ kind: 'veth', index: 0, hostIf: 'tiny0', peerIf: 'eth0' }],
    });
  });
  it('mta: one cable and six services in order', async () => {
    const r = await loadConfig(f.conf('BASE=.\nCABLES= =\nSTART= rsyslog networking ssh saslauthd postfix dovecot\n', 'mta.conf'));
    expect(r.config).toMatchObject({
      NAME: 'mta',
      LOWER: '/',
      START: ['rsyslog', 'networking', 'ssh', 'saslauthd', 'postfix', 'dovecot'],
      CABLES: [{ kind: 'veth', hostIf: 'mta0', peerIf: 'eth0' }],
    });
  });
});
