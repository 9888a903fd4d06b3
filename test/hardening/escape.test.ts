// The escape suite (issues 11 and 20): every way root inside a subhost
// could reach the host through the kernel, tried from inside by
// escape-probe.c running as one of the subhost's own processes (a START
// entry), harmlessly. A subhost from an unchanged 1.6 config (no
// CONTAINMENT line: private-users) must have every vector closed; the same
// config with CONTAINMENT=none must have them open, so that each assertion
// can fail. CONTAINMENT=contained (no user namespace) is probed too: the
// vectors only a user namespace closes are listed in OPEN_AT_CONTAINED,
// which must stay open there (SECURITY.md says so).
//
// What this kernel cannot show (it has no module support, no kexec, no
// sysrq, no kcore; cgroups are hybrid): loading a module or a kernel is
// covered by CAP_SYS_MODULE/CAP_SYS_BOOT leaving the bounding set and by
// the seccomp filter (finit_module and kexec_load are ENOSYS with
// CONTAINMENT=none, EPERM contained: the filter answers first);
// /proc/sysrq-trigger and /proc/kcore are absent (ENOENT with the opt-out;
// contained, anything but open: the masks are there for kernels that have
// them); the cgroup escape is shown on the cgroup2 tree only (the v1
// hierarchies are not mounted in the sandbox).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { useInstalledSandbox, register, stopSubhost, ROOT } from '../e2e/kit.js';
import {
  buildProbe,
  makeProbedSubhost,
  probeSubhost,
  probeOverlayGo,
  startHostTarget,
  probeHostSide,
  HOST_SIDE_VECTOR_NAMES,
  VECTOR_NAMES,
  ABSENT_HERE,
  type Findings,
} from './escape.js';

/** What only the user namespace closes: open at CONTAINMENT=contained (measured). */
const OPEN_AT_CONTAINED = ['host-caps', 'ptrace-host', 'proc-mem-host', 'netnsid-host', 'ioprio-rt', 'mlock-beyond'];

const VECTORS = VECTOR_NAMES;

/**
 * overlay-go carries the subhost's bounding set and seccomp filter once it
 * runs through subhost-go (branch `go`); before that the contained
 * overlay-go half is skipped. Tried with `go` merged: it passes.
 */
const OVERLAY_GO_IS_CONTAINED = existsSync(join(ROOT, 'native/subhost-go.c'));

// The host's /etc/adjtime, which subhosts get bound in (1.6 bound it read-write).
const ADJTIME = '0.0 0 0.0\n0\nUTC\n';

describe('escape from a subhost', () => {
  const { sandbox } = useInstalledSandbox({ files: { '/etc/adjtime': ADJTIME } });
  const found: Record<'contained' | 'optout' | 'fenced', Findings> = { contained: new Map(), optout: new Map(), fenced: new Map() };
  // contained: the default (private-users), from an unchanged 1.6 config; fenced: CONTAINMENT=contained.
  const subhosts = { contained: 'esc', optout: 'escnone', fenced: 'escfen' } as const;
  const targets: string[] = [];

  beforeAll(async () => {
    await buildProbe();
    const sb = sandbox();
    // An unchanged 1.6 config for the contained one; the opt-out adds one line.
    await register(
      sb,
      await makeProbedSubhost(sb, subhosts.contained),
      await makeProbedSubhost(sb, subhosts.optout, 'CONTAINMENT=none\n'),
      await makeProbedSubhost(sb, subhosts.fenced, 'CONTAINMENT=contained\n'),
    );
    await sb.daemonReload();
    for (const [level, name] of Object.entries(subhosts) as [keyof typeof subhosts, string][]) {
      expect(await sb.startUnit(`subhost@${name}.service`), await sb.journal(`subhost@${name}.service`, 30)).toBe('done');
      targets.push(await startHostTarget(sb, name));
      found[level] = await probeSubhost(sb, name);
    }
  });

  afterAll(async () => {
    const sb = sandbox();
    for (const t of targets) await sb.run(['systemctl', 'stop', t]);
    for (const name of Object.values(subhosts)) await stopSubhost(sb, name);
  });

  it('the probe tried every vector in both subhosts', () => {
    for (const f of Object.values(found)) expect([...f.keys()].filter((k) => k !== 'proc-sys-net').sort()).toEqual([...VECTORS].sort());
  });

  describe.each(VECTORS)('%s', (v) => {
    it('is open with CONTAINMENT=none (the probe can see it)', () => {
      const f = found.optout.get(v)!;
      if (ABSENT_HERE.includes(v)) expect(f.detail).toMatch(/ENOENT|ENOSYS/);
      else expect(f, `${v} with CONTAINMENT=none`).toMatchObject({ state: 'open' });
    });
    it('is closed in a subhost from an unchanged 1.6 config', () => {
      const f = found.contained.get(v)!;
      if (ABSENT_HERE.includes(v)) expect(f.state).not.toBe('open');
      else expect(f, `${v} contained`).toMatchObject({ state: 'closed' });
    });
    it(`is ${OPEN_AT_CONTAINED.includes(v) ? 'open' : 'closed'} at CONTAINMENT=contained`, () => {
      const f = found.fenced.get(v)!;
      if (ABSENT_HERE.includes(v)) expect(f.state).not.toBe('open');
      else expect(f, `${v} at contained`).toMatchObject({ state: OPEN_AT_CONTAINED.includes(v) ? 'open' : 'closed' });
    });
  });

  it("the subhost's own network settings stay writable at both levels (its own netns)", () => {
    expect(found.contained.get('proc-sys-net')?.state).toBe('open');
    expect(found.optout.get('proc-sys-net')?.state).toBe('open');
  });

  // An overlay-go shell is started from the host, not by the subhost: it
  // must be given the same bounding set, filter and cgroup explicitly.
  it('an overlay-go shell in the CONTAINMENT=none subhost has every vector open', async () => {
    const go = await probeOverlayGo(sandbox(), subhosts.optout);
    for (const v of VECTORS)
      expect(go.get(v), `${v} in overlay-go ${subhosts.optout}`).toMatchObject({ state: ABSENT_HERE.includes(v) ? 'n/a' : 'open' });
  });
  it.skipIf(!OVERLAY_GO_IS_CONTAINED)('an overlay-go shell in the contained subhost has every vector closed', async () => {
    const go = await probeOverlayGo(sandbox(), subhosts.contained);
    for (const v of VECTORS) {
      if (ABSENT_HERE.includes(v)) expect(go.get(v)?.state, `${v} in overlay-go ${subhosts.contained}`).not.toBe('open');
      else expect(go.get(v), `${v} in overlay-go ${subhosts.contained}`).toMatchObject({ state: 'closed' });
    }
  });

  // ---- issue 20: what reaches host users and terminals (h20edge) ----
  // Judged on the host after the probe prepared them (escape.ts). Two are
  // not a matter of the level: UPPER's reach is BASE's mode (the contained
  // subhost's is made 0700, as overlay-boot create makes it; the opt-out's
  // stays 0755, as 1.6 and create before made it), and every name from
  // inside is escaped by the commands at every level: there the raw name
  // in ip(8)'s output and exact JSON are what the test can tell apart.
  describe('what reaches host users and terminals', () => {
    const host: Record<keyof typeof subhosts, Findings> = { contained: new Map(), optout: new Map(), fenced: new Map() };
    beforeAll(async () => {
      const sb = sandbox();
      expect((await sb.run(['chmod', '700', `${sb.dataDir}/${subhosts.contained}`])).exitCode).toBe(0);
      for (const [level, name] of Object.entries(subhosts) as [keyof typeof subhosts, string][])
        host[level] = await probeHostSide(sb, name);
    });
    describe.each(HOST_SIDE_VECTOR_NAMES.filter((v) => v !== 'ifname-escape'))('%s', (v) => {
      it('is open with CONTAINMENT=none (and a 1.6 BASE)', () => {
        expect(host.optout.get(v), `${v} with CONTAINMENT=none`).toMatchObject({ state: 'open' });
      });
      it('is closed contained (and a BASE as create makes it)', () => {
        expect(host.contained.get(v), `${v} contained`).toMatchObject({ state: 'closed' });
      });
    });
    it('ifname-escape: the ESC is in the name (ip shows it raw, --json exactly), status escapes it at both levels', () => {
      for (const f of Object.values(host))
        expect(f.get('ifname-escape')).toMatchObject({
          state: 'closed',
          detail: expect.stringMatching(/raw: true; status --json exact: true$/),
        });
    });
  });
  // ---- end of issue 20 (h20edge) ----
});
