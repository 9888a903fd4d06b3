// The contract at the TypeScript <-> C/sh boundary, checked without root:
// the start plans TypeScript writes are ones subhost-enter parses
// (`--check` runs nothing), with the arities its --help gives; the netns
// plans are ones subhost-netns parses; and the file signature a plan
// records is computed alike by TypeScript and C (common.c, in both).
// The generator's cases go through the same checks (test/generator).
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planFileContent, startPlan } from '../../lib/plan/plan.js';
import { netnsPlanContent, netnsPlanLines } from '../../lib/plan/netns.js';
import { sigOps, statSig } from '../../lib/plan/sig.js';
import { parseCables } from '../../lib/config/cables.js';
import type { SubhostConfig } from '../../lib/config/fields.js';
import { planBase as base, planFacts as facts } from './plan-fixture.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SE = join(ROOT, 'dist/subhost-enter');
const NETNS = join(ROOT, 'dist/subhost-netns');

const dir = mkdtempSync(join(tmpdir(), 'ob-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every shape of config startPlan treats differently. */
const fixtures: Record<string, SubhostConfig> = {
  contained: base,
  'CONTAINMENT=none': { ...base, CONTAINMENT: 'none' },
  'CONTAINMENT=private-users': { ...base, CONTAINMENT: 'private-users' },
  'private-users, UPPER=LOWER': { ...base, CONTAINMENT: 'private-users', UPPER: '/t', LOWER: '/t' },
  'private-users, LIVE=UPPER=LOWER': { ...base, CONTAINMENT: 'private-users', UPPER: '/t', LOWER: '/t', LIVE: '/t' },
  SHARE: {
    ...base,
    SHARE: [
      { host: '/h/d', inside: '/srv/d', line: 3 },
      { host: '/h/e f', inside: '/a/b/c', line: 4 },
    ],
  },
  'RAM_SIZE=none': { ...base, RAM_SIZE: 'none' },
  'UPPER=LOWER': { ...base, UPPER: '/t', LOWER: '/t' },
  'LIVE=UPPER=LOWER': { ...base, UPPER: '/t', LOWER: '/t', LIVE: '/t' },
  'custom REAPER': { ...base, REAPER: '/sbin/other' },
  'START=none, odd paths': { ...base, START: [], LIVE: '/s/x/a b', UPPER: '/s/x/u,v:w' },
  CABLES: { ...base, CABLES: parseCables('= br0=02:00:00:00:00:01 br1=.12', 'x') },
};

let n = 0;
function planFile(content: string): string {
  const p = join(dir, `plan-${n++}`);
  writeFileSync(p, content);
  return p;
}

/** A plan file's bytes: WORDS, each NUL-terminated. */
const nul = (...words: string[]) => words.map((w) => `${w}\0`).join('');
const check = (path: string) => execa(SE, ['--check', path], { reject: false });
// Ops run in a mount namespace of subhost-enter's own: as a normal user,
// in a user namespace where it is root (unshare -r), as on a host as root.
const runOps = (args: string[], opts: { reject: false }) =>
  process.geteuid?.() === 0 ? execa(SE, args, opts) : execa('unshare', ['-r', '--', SE, ...args], opts);

/** OP -> number of arguments, from the OP lines of subhost-enter --help. */
async function helpArities(): Promise<Map<string, number>> {
  const help = (await execa(SE, ['--help'])).stdout.split('\n');
  const from = help.findIndex((l) => l.startsWith('OPs run in order'));
  const arities = new Map<string, number>();
  for (const l of help.slice(from + 1)) {
    if (!l.startsWith('  ')) break;
    if (l.startsWith('   ')) continue; // a description's continuation
    const words = l.trim().split(/ {2,}/)[0]!.split(' ');
    arities.set(words[0]!, words.length - 1);
  }
  return arities;
}

/** A plan's ops, split by the arities of --help; the rest from enter on. */
function splitPlan(argv: string[], arities: Map<string, number>): { ops: string[][]; rest: string[] } {
  const ops: string[][] = [];
  let i = 1;
  while (i < argv.length && argv[i] !== 'enter') {
    const arity = arities.get(argv[i]!);
    if (arity === undefined) throw new Error(`op ${argv[i]} is not in subhost-enter --help`);
    ops.push(argv.slice(i, i + 1 + arity));
    i += 1 + arity;
  }
  return { ops, rest: argv.slice(i) };
}

describe('start plans: what TypeScript writes, subhost-enter parses', () => {
  const plans = Object.entries(fixtures).map(([what, c]) => {
    const sig = sigOps(join(dir, `${c.NAME}.conf`), undefined, ['/etc/subhosts.conf']);
    return [what, sig, startPlan(c, facts, `/run/subhost/${c.NAME}/pid`)] as const;
  });

  it.each(plans)('%s: subhost-enter --check accepts it', async (_, sig, argv) => {
    const r = await check(planFile(planFileContent(sig, argv)));
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('the plans use every op of subhost-enter --help, each with the arity it gives there', async () => {
    const arities = await helpArities();
    expect(arities.size).toBeGreaterThanOrEqual(18);
    const used = new Set<string>();
    for (const [what, sig, argv] of plans) {
      const { ops, rest } = splitPlan(['subhost-enter', ...sig.flat(), ...argv], arities);
      for (const op of ops) {
        expect(op.length, `${what}: ${op.join(' ')}`).toBe(1 + arities.get(op[0]!)!);
        used.add(op[0]!);
      }
      expect(rest[0], what).toBe('enter');
      expect(rest.slice(-4, -2), what).toEqual(['/bin/sh', '-c']);
    }
    expect([...used].sort()).toEqual([...arities.keys()].sort());
  });

  it('--check refuses what a run would refuse, runs nothing, and says why in one line', async () => {
    const [, sig, argv] = plans[0]!;
    const good = planFileContent(sig, argv);
    const bad: [string, string, RegExp][] = [
      ['unknown op', good.replace('link-up\0', 'link-down\0'), /^subhost-enter: unknown op 'link-down'\n\nUsage:/],
      ['too few arguments', nul('subhost-enter', 'mkdir', '/x'), /^subhost-enter: mkdir: too few arguments\n/],
      ['a bad mode', nul('subhost-enter', 'mkdir', '/x', '999'), /^subhost-enter: mkdir: bad argument '999'\n/],
      [
        'a bad mount flag',
        nul('subhost-enter', 'mount', 't', 's', '/d', 'ro,bogus', '-'),
        /^subhost-enter: mount: bad argument 'ro,bogus'\n/,
      ],
      [
        'a bad containment',
        good.replace('check-containment\0contained\0', 'check-containment\0maybe\0'),
        /^subhost-enter: check-containment: bad argument 'maybe'\n/,
      ],
      ['a bad enter option', good.replace('--pidfile', '--pidfle'), /^subhost-enter: enter: unknown option --pidfle\n/],
      ['a relative PROGRAM', good.replace('/bin/sh\0', 'sh\0'), /^subhost-enter: enter: PROGRAM must be an absolute path: sh\n/],
      ['a torn file', good.slice(0, -1), /^subhost-enter: --check: .* is not a plan \(empty, or not NUL-terminated\)\n/],
      ['an empty file', '', /^subhost-enter: --check: .* is not a plan/],
    ];
    for (const [what, content, message] of bad) {
      const r = await check(planFile(content));
      expect(r.exitCode, what).toBe(2);
      expect(r.stderr, what).toMatch(message);
    }
    const made = join(dir, 'made-by-a-run');
    const valid = await check(planFile(nul('subhost-enter', 'mkdir', made, '755')));
    expect(valid.exitCode).toBe(0);
    expect(existsSync(made)).toBe(false);
    const missing = await check(join(dir, 'no-such-plan'));
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^subhost-enter: --check: cannot read .*no-such-plan: No such file or directory$/);
    expect((await execa(SE, ['--check'], { reject: false })).exitCode).toBe(2);
  });
});

describe('netns plans: what TypeScript writes, subhost-netns parses', () => {
  it.each(Object.entries(fixtures))('%s: subhost-netns --check accepts it', async (_, c) => {
    const sig = sigOps(join(dir, `${c.NAME}.conf`), '/etc/x.conf', []);
    const r = await execa(NETNS, ['--check', planFile(netnsPlanContent(sig, netnsPlanLines(c.NAME, c.CABLES)))], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('a NAME of any valid length names the netns (1.6 made t16c-averylongname without cables)', async () => {
    for (const name of ['t16c-averylongname', 'n'.repeat(64)]) {
      const sig = sigOps('/nowhere.conf', undefined, []);
      const r = await execa(NETNS, ['--check', planFile(netnsPlanContent(sig, netnsPlanLines(name, [])))], { reject: false });
      expect(r.stderr, name).toBe('');
      expect(r.exitCode, name).toBe(0);
    }
  });

  it('every kind of line TypeScript writes is one the program reads', async () => {
    const lines = netnsPlanLines('x', fixtures.CABLES!.CABLES);
    expect(lines.map((l) => l.split('\t')[0])).toEqual(['netns', 'veth', 'veth', 'vlan']);
    const source = readFileSync(join(ROOT, 'native/subhost-netns.c'), 'utf8');
    for (const kind of ['check-env', 'check-stat', 'netns', 'veth', 'vlan']) expect(source).toContain(`is_op(l, "${kind}", `);
  });

  it('--check refuses lines the script would not read', async () => {
    const sig = sigOps('/nowhere.conf', undefined, []);
    const good = netnsPlanContent(sig, netnsPlanLines('x', fixtures.CABLES!.CABLES));
    for (const [what, content] of [
      ['a line it does not know', good.replace('netns\tx\n', 'netns\tx\nbridge\tbr9\n')],
      ['a field too few', good.replace('\t02:00:00:00:00:01', '')],
      ['a check after the netns line', `${good}check-stat\t/x\tabsent\n`],
      ['no netns line', netnsPlanContent(sig, [])],
      ['a cable before the netns line', netnsPlanContent(sig, ['veth\tx0\teth0\t-\t-', 'netns\tx'])],
      ['another variable checked', good.replace('OVERLAY_BOOT_CONF', 'HOME')],
      ['a bad MAC', good.replace('02:00:00:00:00:01', '02:00:00:00:00')],
      ['a bad VLAN id', good.replace('\t12\t', '\t4095\t')],
      ['an interface name too long', good.replace('veth\tx0\t', 'veth\tx0123456789abcdef\t')],
      ['a netns name with a slash', good.replace('netns\tx\n', 'netns\t../x\n')],
      ['a netns name longer than a NAME may be', good.replace('netns\tx\n', `netns\t${'n'.repeat(65)}\n`)],
    ]) {
      expect(content, what).not.toBe(good);
      const r = await execa(NETNS, ['--check', planFile(content!)], { reject: false });
      expect(r.exitCode, what).toBe(2);
      expect(r.stderr, what).toMatch(/^subhost-netns: [^\n]*$/);
    }
    const missing = await execa(NETNS, ['--check', join(dir, 'no-such-plan')], { reject: false });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^subhost-netns: cannot read .*no-such-plan: No such file or directory$/);
  });
});

describe('the file signature: TypeScript and C agree', () => {
  const files = join(dir, 'sig');
  mkdirSync(files);
  writeFileSync(join(files, 'file'), 'some content\n');
  symlinkSync('file', join(files, 'link'));
  symlinkSync('nowhere', join(files, 'dangling'));
  mkdirSync(join(files, 'dir'));
  const kinds = ['file', 'link', 'dangling', 'dir'].map((k) => [k, join(files, k)] as const);

  it.each(kinds)('%s: subhost-enter check-stat holds with the TypeScript signature, and not with another', async (_, p) => {
    const sig = statSig(p);
    expect(sig).toMatch(/^\d+:\d+:\d+:\d+\.\d{9}$/);
    const ok = await runOps(['check-stat', p, sig], { reject: false });
    expect(ok.stderr).toBe('');
    expect(ok.exitCode).toBe(0);
    const stale = await runOps(['check-stat', p, sig.replace(/\.(\d)/, (_m, d: string) => `.${(+d + 1) % 10}`)], { reject: false });
    expect(stale.exitCode).toBe(75);
    expect(stale.stderr).toBe(`subhost-enter: plan is stale: ${p} changed`);
  });

  it.each(kinds)('%s: a subhost-netns plan holds with the TypeScript signature, and not with another', async (_, p) => {
    const sig = statSig(p);
    const plan = (s: string) => planFile(netnsPlanContent([['check-stat', p, s]], ['netns\tx']));
    expect((await execa(NETNS, ['--holds', plan(sig)], { reject: false })).exitCode).toBe(0);
    const other = sig.replace(/\.(\d)/, (_m, d: string) => `.${(+d + 1) % 10}`);
    expect((await execa(NETNS, ['--holds', plan(other)], { reject: false })).exitCode).toBe(1);
    expect((await execa(NETNS, ['--holds', plan('absent')], { reject: false })).exitCode).toBe(1);
    // (stat(1)'s %d:%i:%s:%.9Y, which 1.6-era sh used, is the same signature.)
    expect((await execa('stat', ['-c', '%d:%i:%s:%.9Y', p])).stdout).toBe(sig);
  });

  it('check-env: a subhost-netns plan holds only with OVERLAY_BOOT_CONF as it was', async () => {
    const plan = (v: string) => planFile(netnsPlanContent([['check-env', 'OVERLAY_BOOT_CONF', v]], ['netns\tx']));
    const env = (v?: string) => ({ env: { OVERLAY_BOOT_CONF: v }, extendEnv: false, reject: false }) as const;
    expect((await execa(NETNS, ['--holds', plan('-')], env())).exitCode).toBe(0);
    expect((await execa(NETNS, ['--holds', plan('-')], env('/a.conf'))).exitCode).toBe(1);
    expect((await execa(NETNS, ['--holds', plan('/a.conf')], env('/a.conf'))).exitCode).toBe(0);
    expect((await execa(NETNS, ['--holds', plan('/a.conf')], env('/b.conf'))).exitCode).toBe(1);
  });

  it('a missing file: "absent" in TypeScript, holds in C only as "absent"', async () => {
    const p = join(files, 'missing');
    expect(statSig(p)).toBe('absent');
    expect((await runOps(['check-stat', p, 'absent'], { reject: false })).exitCode).toBe(0);
    expect((await runOps(['check-stat', p, '1:2:3:4.000000000'], { reject: false })).exitCode).toBe(75);
    expect((await runOps(['check-stat', join(files, 'file'), 'absent'], { reject: false })).exitCode).toBe(75);
  });
});
