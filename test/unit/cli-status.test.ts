// status/list records from systemd's properties, and their rendering.
import { describe, it, expect } from 'vitest';
import { statusFrom, parseSubhostAddrs, renderTable, renderOne } from '../../cli/support/status.js';

const unitProps = {
  LoadState: 'loaded',
  ActiveState: 'active',
  SubState: 'running',
  ActiveEnterTimestamp: 1700000000000000n,
  InactiveEnterTimestamp: 0n,
  StateChangeTimestamp: 1700000000000000n,
};
const serviceProps = {
  MainPID: 4242,
  Result: 'success',
  TasksCurrent: 3n,
  MemoryCurrent: 18446744073709551615n,
  CPUUsageNSec: 1500000000n,
};

describe('statusFrom', () => {
  it('maps properties to plain JSON values', () => {
    const s = statusFrom('web', unitProps, serviceProps, { conf: '/srv/web/web.conf', how: 'listed', where: '/etc/subhosts.conf:2' }, []);
    expect(s).toEqual({
      name: 'web',
      unit: 'subhost@web.service',
      load: 'loaded',
      state: 'active',
      subState: 'running',
      result: 'success',
      since: '2023-11-14T22:13:20.000Z',
      mainPid: 4242,
      tasks: 3,
      memory: null,
      cpuNsec: 1500000000,
      config: '/srv/web/web.conf',
      configFrom: '/etc/subhosts.conf:2',
      addresses: [],
    });
    expect(() => JSON.stringify(s)).not.toThrow();
  });
  it('an inactive unit: no PID, since it stopped, no config', () => {
    const s = statusFrom(
      'x',
      { ...unitProps, ActiveState: 'inactive', SubState: 'dead', InactiveEnterTimestamp: 1700000001000000n },
      { ...serviceProps, MainPID: 0 },
      undefined,
      [],
    );
    expect(s).toMatchObject({ state: 'inactive', mainPid: null, since: '2023-11-14T22:13:21.000Z', config: null, configFrom: null });
  });
});

describe('parseSubhostAddrs', () => {
  it('reads native/subhost-addrs lines: addresses, namespaces without any, errors', () => {
    const text = [
      'web\tok',
      'web\teth0\tinet\t10.0.0.2/24',
      'web\teth0\tinet6\tfe80::1/64',
      'db\tok',
      'gone\terror\t/run/netns/gone: No such file or directory',
      'stray\teth0\tinet\t10.0.0.9/24',
      '',
    ].join('\n');
    const m = parseSubhostAddrs(text);
    expect(m.get('web')).toEqual([
      { ifname: 'eth0', family: 'inet', address: '10.0.0.2/24' },
      { ifname: 'eth0', family: 'inet6', address: 'fe80::1/64' },
    ]);
    expect(m.get('db')).toEqual([]);
    expect(m.get('gone')).toBe('/run/netns/gone: No such file or directory');
    // An address line without its NAME's ok line first is not believed.
    expect(m.has('stray')).toBe(false);
    expect(parseSubhostAddrs('not\tthe\tformat\n').size).toBe(0);
  });
});

describe('rendering', () => {
  const s = statusFrom('web', unitProps, serviceProps, { conf: '/srv/web/web.conf', how: 'listed', where: '/etc/subhosts.conf:2' }, [
    { ifname: 'eth0', family: 'inet', address: '10.0.0.2/24' },
  ]);
  it('list: a header and a row per subhost', () => {
    const lines = renderTable([s]).split('\n');
    expect(lines[0]).toMatch(/^NAME +STATE +SINCE +PID +TASKS +MEMORY +CPU +CONFIG +ADDRESSES$/);
    expect(lines[1]).toMatch(
      /^web +active \(running\) +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +4242 +3 +- +1\.500s +\/srv\/web\/web\.conf +eth0 10\.0\.0\.2\/24$/,
    );
  });
  it('status NAME: one field per line', () => {
    const out = renderOne(s);
    expect(out).toContain('State:     active (running)\n');
    expect(out).toContain("Main PID:  4242 (the subhost's PID 1)\n");
    // A missing figure says why (issue 22: "Memory: -" alone told nothing).
    expect(out).toContain(
      'Memory:    - (systemd has no figure: MemoryAccounting= is off for subhost@web.service, or the cgroup "memory" controller is not available here)\n',
    );
    // A subhost that overlay-boot 1.6 started, adopted at the package's install.
    expect(renderOne({ ...s, adopted16: true })).toContain('State:     active (running) under overlay-boot 1.6\n');
    expect(renderTable([{ ...s, adopted16: true }])).toMatch(/^web +active \(running\) under overlay-boot 1\.6 +/m);
    const stopped = renderOne({ ...s, state: 'inactive', subState: 'dead', mainPid: null, tasks: null, cpuNsec: null });
    expect(stopped).toContain('Main PID:  - (not running)\n');
    expect(stopped).toContain('Tasks:     - (not running)\n');
    expect(out).toContain('Config:    /srv/web/web.conf  (from /etc/subhosts.conf:2)\n');
    expect(renderOne({ ...s, state: 'failed', subState: 'failed', result: 'exit-code' })).toContain(
      'State:     failed, result exit-code\n',
    );
  });
});
