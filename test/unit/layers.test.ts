// The layers of ARCHITECTURE.md, enforced: lib/ is the shared core and
// imports none of the programs built on it; the generator, the runtime and
// the commands are peers that import lib/ and not one another.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Top-level folders a source file imports from (relative imports only). */
function importedFolders(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ]
    .map((m) => m[1]!)
    .filter((s) => s.startsWith('.'));
  return specs.map((s) => relative(ROOT, resolve(dirname(file), s)).split('/')[0]!);
}

// What each folder may import from, besides itself and node_modules.
const MAY_IMPORT: Record<string, string[]> = {
  lib: [],
  generator: ['lib'],
  runtime: ['lib'],
  cli: ['lib'],
};

describe('layers', () => {
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${folder}/ imports only from ${allowed.length ? allowed.map((a) => `${a}/`).join(', ') : 'itself'}`, () => {
      const found = files(join(ROOT, folder));
      expect(found.length).toBeGreaterThan(0);
      const bad: string[] = [];
      for (const f of found) {
        for (const to of importedFolders(f)) {
          if (to !== folder && !allowed.includes(to)) bad.push(`${relative(ROOT, f)} imports from ${to}/`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});
