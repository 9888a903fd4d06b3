// The kept plans (lib/plan/keep.ts) and how `overlay-boot start` reads
// the units it keeps them for (cli/support/plans.ts): pure parts.
import { describe, it, expect } from 'vitest';
import { startPlanFile, netnsPlanFile, planSig, subhostPidfile } from '../../lib/plan/keep.js';
import { planFileContent, startPlan } from '../../lib/plan/plan.js';
import { parseCables } from '../../lib/config/cables.js';
import { envConfOf, execDir } from '../../cli/support/plans.js';
import { planBase, planFacts } from './plan-fixture.js';

const builtin = {
  ...planBase,
  PREMOUNT: { builtin: true },
  POSTMOUNT: { builtin: true },
  INIT: { builtin: true },
} as unknown as typeof planBase;

describe('kept plans', () => {
  const sig = [['check-env', 'OVERLAY_BOOT_CONF', '-']];
  it("a start plan runs with the unit's pidfile, as the runtime's", () => {
    expect(subhostPidfile('x')).toBe('/run/subhost/x/pid');
    expect(startPlanFile(builtin, planFacts, sig)).toBe(planFileContent(sig, startPlan(builtin, planFacts, '/run/subhost/x/pid')));
  });
  it('none with a custom hook: its start is never one native plan', () => {
    expect(startPlanFile(planBase, planFacts, sig)).toBeUndefined();
  });
  it('a netns plan: its checks, then the netns and its cables', () => {
    expect(netnsPlanFile('x', parseCables('=', 'x'), sig, 'contained')).toBe(
      'check-env\tOVERLAY_BOOT_CONF\t-\nnetns\tx\nveth\tx0\teth0\t-\t-\n',
    );
  });
  it("signs the unit's OVERLAY_BOOT_CONF (- when unset) and the config first", () => {
    expect(planSig('x', '/nonexistent/x.conf', undefined).slice(0, 2)).toEqual([
      ['check-env', 'OVERLAY_BOOT_CONF', '-'],
      ['check-stat', '/nonexistent/x.conf', 'absent'],
    ]);
    expect(planSig('x', '/nonexistent/x.conf', '/e/x.conf')[0]).toEqual(['check-env', 'OVERLAY_BOOT_CONF', '/e/x.conf']);
  });
});

describe("the units' side, as read over D-Bus", () => {
  it("OVERLAY_BOOT_CONF: the unit's last assignment, undefined when unset", () => {
    expect(envConfOf(['A=1', 'OVERLAY_BOOT_CONF=/a.conf', 'OVERLAY_BOOT_CONF=/b.conf'])).toBe('/b.conf');
    expect(envConfOf(['OVERLAY_BOOT_CONF='])).toBe('');
    expect(envConfOf(['A=1'])).toBeUndefined();
  });
  it("LIBDIR: the directory of ExecStart's program", () => {
    expect(execDir([['/usr/lib/overlay-boot/subhost-enter', ['subhost-enter', '--plan'], false]])).toBe('/usr/lib/overlay-boot');
    expect(execDir([])).toBeUndefined();
    expect(execDir(undefined)).toBeUndefined();
  });
});
