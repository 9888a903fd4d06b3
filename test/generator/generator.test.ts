// Generator tests in the Quadlet style: each directory under cases/ is an
// input (subhosts.conf plus the configs it lists) whose expected results
// are written beside it, as `## ` lines in those same files:
//   ## mkdir DIR...                        create dirs in the case dir first
//   ## chmod MODE FILE                     set a file's mode first
//   ## assert-key-is FILE SECTION KEY V... every value of KEY, in order
//   ## assert-key-contains FILE SECTION KEY V
//   ## assert-no-key FILE SECTION KEY
//   ## assert-no-file FILE                 (relative to the output dir)
//   ## assert-files N                      number of generated files
//   ## assert-link LINK TARGET             TARGET: the template's file name
//   ## assert-no-link LINK
//   ## assert-error-contains TEXT          some error line contains TEXT
//   ## assert-warning-contains TEXT
//   ## assert-errors N
//   ## assert-not-created FILE             (relative to the case dir: a command must not have run)
//   ## assert-plan-op NAME WORD...         the start plan of subhost NAME has these words in a
//                                          row (an op and its first arguments, or enter's options)
//   ## assert-no-plan-op NAME WORD...      ... and does not have these
//   ## assert-no-plan NAME                 no start plan for NAME (it starts through Node.js)
//   ## assert-netns-line NAME FIELD...     the netns plan of NAME has this line (tab-separated)
// @CASE@ in any file stands for the case's (temporary) directory, @OUT@
// for the output dir (plans are referenced from the drop-ins by path).
// Every generated unit must also pass `systemd-analyze verify`, every start
// plan `subhost-enter --check` and every netns plan `subhost-netns
// --check` (the contract between the TypeScript that writes plans and the
// C that reads them).
import { it, expect, beforeAll } from 'vitest';
import { cpSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, mkdirSync, chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { generate } from '../../generator/generate.js';
import { parseUnit, values } from './unitfile.js';

const CASES = new URL('./cases/', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = join(ROOT, 'dist');

const KNOWN = new Set([
  'mkdir',
  'chmod',
  'assert-key-is',
  'assert-key-contains',
  'assert-no-key',
  'assert-no-file',
  'assert-files',
  'assert-link',
  'assert-no-link',
  'assert-error-contains',
  'assert-warning-contains',
  'assert-errors',
  'assert-not-created',
  'assert-plan-op',
  'assert-no-plan-op',
  'assert-no-plan',
  'assert-netns-line',
]);

/** A start plan's words (NUL-separated, argv[0] first), or undefined. */
function planWords(text: string | undefined): string[] | undefined {
  return text?.split('\0').slice(0, -1);
}

/** Does WORDS have NEEDLE as a run of consecutive words? */
function hasRun(words: string[], needle: string[]): boolean {
  return words.some((_, i) => needle.every((w, k) => words[i + k] === w));
}

let unitDir: string;
beforeAll(() => {
  // The templates as installed, with the build tree as libdir.
  unitDir = mkdtempSync(join(tmpdir(), 'ob-units-'));
  for (const f of readdirSync(join(ROOT, 'units'))) {
    const text = readFileSync(join(ROOT, 'units', f), 'utf8').replaceAll('@LIBDIR@', join(ROOT, 'dist'));
    writeFileSync(join(unitDir, f.replace(/\.in$/, '')), text);
  }
  return () => rmSync(unitDir, { recursive: true, force: true });
});

function directives(dir: string): string[][] {
  const out: string[][] = [];
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^## (\S+)\s*(.*)$/.exec(line);
      if (m) out.push([m[1]!, ...m[2]!.split(/\s+/).filter(Boolean)]);
    }
  }
  return out;
}

for (const name of readdirSync(CASES).sort()) {
  it(`case ${name}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `ob-gen-${name}-`));
    chmodSync(dir, 0o755);
    const out = mkdtempSync(join(tmpdir(), 'ob-gen-out-'));
    try {
      cpSync(join(CASES, name), dir, { recursive: true });
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        writeFileSync(p, readFileSync(p, 'utf8').replaceAll('@CASE@', dir));
        chmodSync(p, 0o644);
      }
      const dirs = directives(dir);
      for (const [verb, ...args] of dirs) {
        if (verb === 'mkdir') for (const d of args) mkdirSync(join(dir, d), { recursive: true });
        if (verb === 'chmod') chmodSync(join(dir, args[1]!), parseInt(args[0]!, 8));
      }
      // A case's own /etc/fstab (file systems still to be mounted), if it has one.
      if (existsSync(join(dir, 'fstab'))) process.env.OVERLAY_BOOT_FSTAB = join(dir, 'fstab');
      else delete process.env.OVERLAY_BOOT_FSTAB;
      const g = await generate(
        join(dir, 'subhosts.conf'),
        {
          subhost: join(unitDir, 'subhost@.service'),
          target: join(unitDir, 'subhosts.target'),
        },
        out,
      );
      for (const [p, text] of g.output.files) {
        mkdirSync(join(out, p, '..'), { recursive: true });
        writeFileSync(join(out, p), text);
      }
      const file = (p: string) => parseUnit(readFileSync(join(out, p.replaceAll('@CASE@', dir)), 'utf8'));
      const sub = (s: string) => s.replaceAll('@CASE@', dir).replaceAll('@OUT@', out);
      const startPlan = (n: string) => planWords(g.output.files.get(`overlay-boot/${n}.start`));
      const plan = (n: string) => {
        const words = startPlan(n);
        expect(words, `start plan of ${n}`).toBeDefined();
        return words!;
      };
      const netnsLines = (n: string) => (g.output.files.get(`overlay-boot/${n}.netns`) ?? '').split('\n');
      for (const [verb, ...a] of dirs) {
        const rest = a.slice(3).map(sub);
        switch (verb) {
          case 'mkdir':
          case 'chmod':
            break;
          case 'assert-key-is':
            expect(values(file(a[0]!), a[1]!, a[2]!).join(' '), a.join(' ')).toBe(rest.join(' '));
            break;
          case 'assert-key-contains':
            expect(values(file(a[0]!), a[1]!, a[2]!).join(' ')).toContain(rest.join(' '));
            break;
          case 'assert-no-key':
            expect(values(file(a[0]!), a[1]!, a[2]!)).toEqual([]);
            break;
          case 'assert-no-file':
            expect(g.output.files.has(a[0]!), a[0]).toBe(false);
            break;
          case 'assert-files':
            expect(g.output.files.size).toBe(Number(a[0]));
            break;
          case 'assert-link':
            expect(g.output.links.get(a[0]!)?.split('/').pop(), a[0]).toBe(a[1]);
            break;
          case 'assert-no-link':
            expect(g.output.links.has(a[0]!), a[0]).toBe(false);
            break;
          case 'assert-error-contains':
            expect(g.errors.join('\n')).toContain(sub(a.join(' ')));
            break;
          case 'assert-warning-contains':
            expect(g.warnings.join('\n')).toContain(sub(a.join(' ')));
            break;
          case 'assert-errors':
            expect(g.errors, g.errors.join('\n')).toHaveLength(Number(a[0]));
            break;
          case 'assert-not-created':
            expect(existsSync(join(dir, a[0]!))).toBe(false);
            break;
          case 'assert-plan-op':
            expect(hasRun(plan(a[0]!), a.slice(1).map(sub)), a.join(' ')).toBe(true);
            break;
          case 'assert-no-plan-op':
            expect(hasRun(plan(a[0]!), a.slice(1).map(sub)), a.join(' ')).toBe(false);
            break;
          case 'assert-no-plan':
            expect(startPlan(a[0]!), a[0]).toBeUndefined();
            break;
          case 'assert-netns-line':
            expect(netnsLines(a[0]!)).toContain(a.slice(1).map(sub).join('\t'));
            break;
          default:
            throw new Error(`unknown directive ${verb} in case ${name}`);
        }
      }
      // Every plan is one its reader parses (runs nothing, needs no root).
      for (const p of g.output.files.keys()) {
        const reader = p.endsWith('.start') ? 'subhost-enter' : p.endsWith('.netns') ? 'subhost-netns' : undefined;
        if (!p.startsWith('overlay-boot/') || !reader) continue;
        const r = await execa(join(DIST, reader), ['--check', join(out, p)], { reject: false });
        expect(r.stderr, `${reader} --check ${p}`).toBe('');
        expect(r.exitCode, `${reader} --check ${p}`).toBe(0);
      }
      // Everything generated is a valid unit for systemd itself.
      if (g.output.files.size) {
        const dropins = [...g.output.files.keys()].filter((p) => !p.startsWith('overlay-boot/'));
        const units = [...new Set(dropins.map((p) => p.split('/')[0]!.replace(/\.d$/, '')))];
        const r = await execa('systemd-analyze', ['verify', '--man=no', '--recursive-errors=yes', ...units], {
          env: { SYSTEMD_UNIT_PATH: `${out}:${unitDir}:` },
          reject: false,
        });
        expect(r.stderr).toBe('');
        expect(r.exitCode).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
}

it('every case directive is known, in every file of every case', () => {
  expect(readdirSync(CASES).length).toBeGreaterThanOrEqual(12);
  const unknown: string[] = [];
  for (const c of readdirSync(CASES)) {
    for (const f of readdirSync(join(CASES, c))) {
      readFileSync(join(CASES, c, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // "##" starts a directive (a config's own comments use one "#").
          if (line.startsWith('##') && !KNOWN.has(/^## (\S+)/.exec(line)?.[1] ?? '')) unknown.push(`${c}/${f}:${i + 1}: ${line}`);
        });
    }
  }
  expect(unknown).toEqual([]);
  // And the runner knows every one of them (its switch is the other list).
  const runner = readFileSync(new URL(import.meta.url).pathname, 'utf8');
  for (const verb of KNOWN) expect(runner, verb).toContain(`case '${verb}':`);
});
