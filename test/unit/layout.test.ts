// The folders' import rules: lib/ is the shared core (config model, the
// start plan, registry, errors, systemd client) and imports none of the
// programs; runtime/, generator/ and cli/ are peers over lib/ and never
// import each other.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAY_IMPORT: Record<string, string[]> = {
  lib: ['lib'],
  runtime: ['lib', 'runtime'],
  generator: ['lib', 'generator'],
  cli: ['lib', 'cli'],
};

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The relative module specifiers of a file: static imports, re-exports and import(). */
function imports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm)) out.push(m[1]!);
  return out;
}

describe('layout', () => {
  it('each folder imports only what it may', () => {
    const bad: string[] = [];
    let seen = 0;
    for (const [dir, allowed] of Object.entries(MAY_IMPORT)) {
      for (const f of files(join(ROOT, dir))) {
        seen++;
        for (const spec of imports(readFileSync(f, 'utf8'))) {
          const top = relative(ROOT, resolve(dirname(f), spec)).split('/')[0]!;
          if (!allowed.includes(top)) bad.push(`${relative(ROOT, f)} imports ${spec}`);
        }
      }
    }
    expect(seen).toBeGreaterThan(40);
    expect(bad).toEqual([]);
  });
  it("one way to run a process: execa everywhere, node:child_process only for overlay-go's gate (ARCHITECTURE.md)", () => {
    const direct: string[] = [];
    for (const dir of Object.keys(MAY_IMPORT)) {
      for (const f of files(join(ROOT, dir))) {
        if (/['"](node:)?child_process['"]/.test(readFileSync(f, 'utf8'))) direct.push(relative(ROOT, f));
      }
    }
    expect(direct).toEqual(['cli/commands/go.ts']);
  });
  it('would catch a sideways import', () => {
    expect(imports("import { startPlan } from '../runtime/plan.js';\nconst x = await import('../cli/x.js');")).toEqual([
      '../runtime/plan.js',
      '../cli/x.js',
    ]);
  });
});
