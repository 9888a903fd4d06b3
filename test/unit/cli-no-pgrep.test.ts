// Subhosts are found through systemd (MainPID, ControlGroup over D-Bus),
// never by scanning processes as 1.6 did (`pgrep -f`, `ps --ppid`): no
// source file runs pgrep, pkill, pidof or ps.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIRS = ['cli', 'lib', 'runtime', 'generator'];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

/** The code without comments (// and /* *\/ for TypeScript, # for shell). */
function code(path: string, text: string): string {
  if (path.endsWith('.ts')) return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return text.replace(/(^|\s)#.*$/gm, '$1');
}

// A process tool as a command: a string naming it, or at the start of a shell command.
const FORBIDDEN = [
  /['"`](?:\/usr)?(?:\/s?bin\/)?(pgrep|pkill|pidof|ps)['"`\s]/,
  /(?:^|[;&|`]|\$\(|\bexec\b)\s*(pgrep|pkill|pidof|ps)\s+[-"'$]/m,
];

describe('no process scanning', () => {
  const all = DIRS.flatMap((d) => files(join(ROOT, d)));
  it('finds the sources', () => {
    expect(all.filter((f) => f.endsWith('.ts')).length).toBeGreaterThan(20);
  });
  it('no source file calls pgrep, pkill, pidof or ps', () => {
    const hits: string[] = [];
    for (const f of all) {
      const c = code(f, readFileSync(f, 'utf8'));
      c.split('\n').forEach((line, i) => {
        for (const re of FORBIDDEN) if (re.test(line)) hits.push(`${f.slice(ROOT.length)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });
  it('would catch the 1.6 way', () => {
    const c = (t: string) => FORBIDDEN.some((re) => re.test(code('x.ts', t)));
    expect(c("execa('pgrep', ['-f', 'overlay-boot'])")).toBe(true);
    expect(c("spawn('/usr/bin/ps', ['-hopid'])")).toBe(true);
    expect(c("sh('ps -hopid --ppid=1')")).toBe(true);
    expect(FORBIDDEN.some((re) => re.test('USPID=$(ps -hopid --ppid=1)'))).toBe(true);
    expect(FORBIDDEN.some((re) => re.test('x=1; pkill -f foo'))).toBe(true);
    expect(c('// never pgrep')).toBe(false);
    expect(c('const ps = 1; caps(ps)')).toBe(false);
  });
});
