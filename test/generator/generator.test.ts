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
// @CASE@ in any file stands for the case's (temporary) directory.
// Every generated unit must also pass `systemd-analyze verify`.
import { it, expect, beforeAll } from 'vitest';
import { cpSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, mkdirSync, chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { generate } from '../../generator/generate.js';
import { parseUnit, values } from './unitfile.js';

const CASES = new URL('./cases/', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

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
      const g = await generate(join(dir, 'subhosts.conf'), {
        subhost: join(unitDir, 'subhost@.service'),
        target: join(unitDir, 'subhosts.target'),
      });
      for (const [p, text] of g.output.files) {
        mkdirSync(join(out, p, '..'), { recursive: true });
        writeFileSync(join(out, p), text);
      }
      const file = (p: string) => parseUnit(readFileSync(join(out, p.replaceAll('@CASE@', dir)), 'utf8'));
      const sub = (s: string) => s.replaceAll('@CASE@', dir);
      for (const [verb, ...a] of dirs) {
        const rest = a.slice(3).map(sub);
        switch (verb) {
          case 'mkdir': case 'chmod': break;
          case 'assert-key-is': expect(values(file(a[0]!), a[1]!, a[2]!).join(' '), a.join(' ')).toBe(rest.join(' ')); break;
          case 'assert-key-contains': expect(values(file(a[0]!), a[1]!, a[2]!).join(' ')).toContain(rest.join(' ')); break;
          case 'assert-no-key': expect(values(file(a[0]!), a[1]!, a[2]!)).toEqual([]); break;
          case 'assert-no-file': expect(g.output.files.has(a[0]!), a[0]).toBe(false); break;
          case 'assert-files': expect(g.output.files.size).toBe(Number(a[0])); break;
          case 'assert-link': expect(g.output.links.get(a[0]!)?.split('/').pop(), a[0]).toBe(a[1]); break;
          case 'assert-no-link': expect(g.output.links.has(a[0]!), a[0]).toBe(false); break;
          case 'assert-error-contains': expect(g.errors.join('\n')).toContain(sub(a.join(' '))); break;
          case 'assert-warning-contains': expect(g.warnings.join('\n')).toContain(sub(a.join(' '))); break;
          case 'assert-errors': expect(g.errors, g.errors.join('\n')).toHaveLength(Number(a[0])); break;
          case 'assert-not-created': expect(existsSync(join(dir, a[0]!))).toBe(false); break;
          default: throw new Error(`unknown directive ${verb} in case ${name}`);
        }
      }
      // Everything generated is a valid unit for systemd itself.
      if (g.output.files.size) {
        const units = [...new Set([...g.output.files.keys()].map((p) => p.split('/')[0]!.replace(/\.d$/, '')))];
        const r = await execa('systemd-analyze', ['verify', '--man=no', '--recursive-errors=yes', ...units], {
          env: { SYSTEMD_UNIT_PATH: `${out}:${unitDir}:` }, reject: false,
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

it('every case directive is known (the runner fails on unknown ones)', () => {
  expect(readdirSync(CASES).length).toBeGreaterThanOrEqual(12);
});

