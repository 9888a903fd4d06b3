// The generator as Quadlet: parse -> convert -> write. convert() turns one
// loaded config into its drop-ins, links and the plans the drop-ins point
// to; without plan inputs (--dry-run, the cases) it makes no plans.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { convert, type PlanInputs } from '../../generator/convert.js';
import { generate } from '../../generator/generate.js';
import { argvToOps } from '../../lib/plan/ops.js';
import { fixture, type Fixture } from './helpers.js';

let f: Fixture;
beforeEach(() => {
  f = fixture();
  f.mkdirs('live', 'root', 'work');
});
afterEach(() => f.cleanup());

const templates = { subhost: '/usr/lib/systemd/system/subhost@.service', target: '/usr/lib/systemd/system/subhosts.target' };
const inputs: PlanInputs = {
  outDir: '/run/systemd/generator',
  facts: { ttyGid: 5, reaper: '/usr/lib/overlay-boot/reaper', relay: '/usr/lib/overlay-boot/subhost-relay' },
  sig: [
    ['check-env', 'OVERLAY_BOOT_CONF', '/c/x.conf'],
    ['check-stat', '/c/x.conf', '1:2:3:4.000000000'],
  ],
};

describe('convert', () => {
  it('returns the start and netns plans with the drop-ins that name them', async () => {
    const p = f.conf('BASE=.\nSTART=none\nCABLES==\n', 'x.conf');
    const r = await loadConfig(p, { checkFs: false });
    const out = convert({ path: p, listedAt: 'subhosts.conf:1' }, r, templates, inputs);
    expect([...out.files.keys()]).toEqual([
      'subhost@x.service.d/50-overlay-boot.conf',
      'subhost-netns@x.service.d/50-overlay-boot.conf',
      'overlay-boot/x.start',
      'overlay-boot/x.netns',
    ]);
    expect(out.files.get('subhost@x.service.d/50-overlay-boot.conf')).toContain(
      'Environment=OVERLAY_BOOT_PLAN=/run/systemd/generator/overlay-boot/x.start\n',
    );
    expect(out.files.get('subhost-netns@x.service.d/50-overlay-boot.conf')).toContain(
      'Environment=OVERLAY_BOOT_NETNS_PLAN=/run/systemd/generator/overlay-boot/x.netns\n',
    );
    const start = out.files.get('overlay-boot/x.start')!.split('\0');
    expect(start[0]).toBe('subhost-enter');
    const { ops, rest } = argvToOps(start.slice(1, -1));
    expect(ops.slice(0, 2)).toEqual(inputs.sig);
    expect(rest[0]).toBe('enter');
    expect(out.files.get('overlay-boot/x.netns')).toBe(
      'check-env\tOVERLAY_BOOT_CONF\t/c/x.conf\ncheck-stat\t/c/x.conf\t1:2:3:4.000000000\nnetns\tx\tprivate-users\nveth\tx0\teth0\t-\t-\n',
    );
  });
  it('makes no start plan for custom hooks, and no plans at all without inputs', async () => {
    const p = f.conf(`BASE=.\nSTART=none\nPOSTMOUNT=/bin/true\n`, 'h.conf');
    const r = await loadConfig(p, { checkFs: false });
    const out = convert({ path: p, listedAt: 'subhosts.conf:1' }, r, templates, inputs);
    expect([...out.files.keys()].filter((k) => k.startsWith('overlay-boot/'))).toEqual(['overlay-boot/h.netns']);
    expect(out.files.get('subhost@h.service.d/50-overlay-boot.conf')).not.toContain('OVERLAY_BOOT_PLAN');
    const bare = convert({ path: p, listedAt: 'subhosts.conf:1' }, r, templates);
    expect([...bare.files.keys()].filter((k) => k.startsWith('overlay-boot/'))).toEqual([]);
  });
  it('generate() with an output dir gives the plans convert() made', async () => {
    const p = f.conf('BASE=.\nSTART=none\n', 'g.conf');
    const list = f.conf(`${p}\n`, 'subhosts.conf');
    const g = await generate(list, templates, '/run/gen');
    expect(g.errors).toEqual([]);
    expect([...g.output.files.keys()]).toContain('overlay-boot/g.start');
    expect((await generate(list, templates)).output.files.has('overlay-boot/g.start')).toBe(false);
  });
});
