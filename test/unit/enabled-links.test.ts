// `systemctl enable` links of a subhost, under its own name and 1.6's
// (aliases): what an unknown NAME's message names (lib/registry.ts).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enabledLinks, enabledSubhosts } from '../../lib/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'obt-enabled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('enabledLinks', () => {
  it('finds subhost@, subhosts@ and overlay-boot@ links in .wants and .requires, dangling or not', () => {
    for (const d of ['subhosts.target.wants', 'multi-user.target.wants', 'x.target.requires', 'other']) mkdirSync(join(dir, d));
    symlinkSync('/usr/lib/systemd/system/subhost@.service', join(dir, 'subhosts.target.wants/subhost@a.service'));
    symlinkSync('/nonexistent/subhosts@.service', join(dir, 'multi-user.target.wants/subhosts@a.service'));
    symlinkSync('/usr/lib/systemd/system/subhost@.service', join(dir, 'x.target.requires/overlay-boot@a.service'));
    symlinkSync('/usr/lib/systemd/system/subhost@.service', join(dir, 'other/subhost@a.service'));
    symlinkSync('/usr/lib/systemd/system/subhost@.service', join(dir, 'subhosts.target.wants/subhost@ab.service'));
    expect(enabledLinks('a', dir).sort()).toEqual([
      `${dir}/multi-user.target.wants/subhosts@a.service`,
      `${dir}/subhosts.target.wants/subhost@a.service`,
      `${dir}/x.target.requires/overlay-boot@a.service`,
    ]);
    expect(enabledLinks('b', dir)).toEqual([]);
    expect(enabledLinks('a', join(dir, 'absent'))).toEqual([]);
    const all = enabledSubhosts(dir);
    expect([...all.keys()].sort()).toEqual(['a', 'ab']);
    expect(all.get('a')!.length).toBe(3);
    expect(enabledSubhosts(join(dir, 'absent')).size).toBe(0);
  });
});
