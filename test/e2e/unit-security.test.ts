// How exposed each unit the package installs is, as systemd 252's own
// `systemd-analyze security` rates it in the sandbox (issue 25): every
// service unit in units/ has a row in SECURITY.md's table (between the
// unit-exposure markers), stays at or below the limit there, and the
// figure the table (and README's summary) says was measured is the one
// measured now.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, ROOT } from './kit.js';

/** The unit to rate for a unit file of units/: a template as instance "x" (no config: the template's own settings). */
const unitOf = (file: string) => file.replace(/\.in$/, '').replace(/@\.service$/, '@x.service');

interface Row {
  unit: string;
  limit: number;
  measured: number;
}

/** SECURITY.md's table: | `UNIT` | limit | measured | what it does |. */
function documented(): Row[] {
  const text = readFileSync(join(ROOT, 'SECURITY.md'), 'utf8');
  const m = /<!-- unit-exposure:begin -->([\s\S]*?)<!-- unit-exposure:end -->/.exec(text);
  if (!m) throw new Error('SECURITY.md has no unit-exposure table');
  return m[1]!
    .split('\n')
    .map((l) => /^\| `([^`]+)` \| ([\d.]+) \| ([\d.]+) \|/.exec(l))
    .filter((r) => r !== null)
    .map((r) => ({ unit: r[1]!.replace('NAME', 'x'), limit: Number(r[2]), measured: Number(r[3]) }));
}

/** The overall exposure systemd-analyze gives UNIT (0.0 safest, 10.0 most exposed). */
async function exposure(sb: Sandbox, unit: string): Promise<number> {
  const r = await sb.run(['systemd-analyze', 'security', '--no-pager', unit]);
  const m = /Overall exposure level for (\S+): (\d+\.\d)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m || m[1] !== unit)
    throw new Error(`systemd-analyze security ${unit}: exit ${r.exitCode}\n${r.stderr}${r.stdout}`);
  return Number(m[2]);
}

describe('the units the package installs, rated by systemd-analyze security', () => {
  const { sandbox } = useInstalledSandbox();
  const services = readdirSync(join(ROOT, 'units'))
    .filter((f) => /\.service(\.in)?$/.test(f))
    .map(unitOf);
  const rows = documented();

  it('SECURITY.md rates every service unit of units/, and nothing else', () => {
    expect(rows.map((r) => r.unit).sort()).toEqual([...services].sort());
  });

  it.each(services)('%s stays at or below its limit, at the figure SECURITY.md says', async (unit) => {
    const row = rows.find((r) => r.unit === unit);
    const got = await exposure(sandbox(), unit);
    expect(got, `${unit}: ${got}`).toBeLessThanOrEqual(row!.limit);
    expect(got, `${unit}: measured ${got}, SECURITY.md says ${row!.measured}: update its table`).toBe(row!.measured);
  });

  it("README's summary gives the same figures", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    for (const r of rows) expect(readme).toContain(`${r.unit.replace(/x\.service$/, '')} ${r.measured.toFixed(1)}`);
  });

  it('tells a fenced unit from an open one: a bare service is rated above every limit', async () => {
    const sb = sandbox();
    await sb.writeFile('/etc/systemd/system/ob-bare.service', '[Service]\nExecStart=/bin/true\n', 0o644);
    await sb.daemonReload();
    const bare = await exposure(sb, 'ob-bare.service');
    for (const r of rows) expect(bare, r.unit).toBeGreaterThan(r.limit);
  });
});
