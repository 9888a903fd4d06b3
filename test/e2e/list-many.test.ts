// `overlay-boot list` and `status` with a dozen subhosts running: every
// record complete and what systemd and ip(8) report, list and status
// agreeing; and the cost does not grow by a process per subhost (list runs
// one helper, native/subhost-addrs, for all addresses).
import { describe, it, expect } from 'vitest';
import { useInstalledSandbox, makeSubhost, register, mainPid, state, counts, waitGone, ok, startOk } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;
const UNIT = 'org.freedesktop.systemd1.Unit';
const SERVICE = 'org.freedesktop.systemd1.Service';
const RUNNING = Array.from({ length: 12 }, (_, i) => `lm${String(i + 1).padStart(2, '0')}`);
const IDLE = 'lm99';

interface Address {
  ifname: string;
  family: string;
  address: string;
}

describe('list and status with many subhosts', () => {
  const { sandbox, clean } = useInstalledSandbox();

  it('list: one complete record per subhost, as systemd and ip(8) see it; status NAME the same; one helper process', async () => {
    const sb = sandbox();
    const confs: string[] = [];
    for (const n of [...RUNNING, IDLE]) confs.push((await makeSubhost(sb, n, 'BASE=.\nSTART=none\nCABLES==\n')).conf);
    await register(sb, ...confs);
    await sb.daemonReload();
    await Promise.all(RUNNING.map((n) => startOk(sb, n)));
    // Addresses of every kind on some of them (none on the others).
    for (const [i, n] of RUNNING.entries()) {
      if (i % 3 === 2) continue;
      await ok(sb.run(['ip', '-n', n, 'addr', 'add', `192.0.2.${i + 1}/24`, 'dev', 'eth0']));
      if (i % 2) await ok(sb.run(['ip', '-n', n, 'addr', 'add', `2001:db8::${i + 1}/64`, 'dev', 'eth0', 'nodad']));
      if (i === 0) await ok(sb.run(['ip', '-n', n, 'addr', 'add', '198.51.100.1/32', 'peer', '198.51.100.2', 'dev', 'eth0']));
    }

    const list = JSON.parse(await ok(sb.run(['overlay-boot', 'list', '--json']))) as Record<string, unknown>[];
    expect(list.map((s) => s.name)).toEqual([...RUNNING, IDLE]);
    for (const s of list) {
      const n = String(s.name);
      const running = n !== IDLE;
      expect(s).toMatchObject({
        unit: U(n),
        load: 'loaded',
        state: running ? 'active' : 'inactive',
        subState: running ? 'running' : 'dead',
        config: confs[running ? RUNNING.indexOf(n) : RUNNING.length],
        configFrom: '/etc/subhosts.conf (generated unit)',
      });
      expect(s.mainPid).toBe(running ? await mainPid(sb, n) : null);
      // When it entered its state, as systemctl shows it (never: null).
      const iso = async (p: string) => {
        const us = BigInt((await sb.unitProperty(U(n), UNIT, p)) as bigint);
        return us ? new Date(Number(us / 1000n)).toISOString() : null;
      };
      expect(s.since).toBe((await iso(running ? 'ActiveEnterTimestamp' : 'InactiveEnterTimestamp')) ?? (await iso('StateChangeTimestamp')));
      if (running) expect(typeof s.since).toBe('string');
      // Counters: known (a number) exactly when systemd knows them.
      for (const [k, p] of [
        ['tasks', 'TasksCurrent'],
        ['memory', 'MemoryCurrent'],
        ['cpuNsec', 'CPUUsageNSec'],
      ] as const) {
        const v = BigInt((await sb.unitProperty(U(n), SERVICE, p)) as bigint);
        expect(s[k] === null).toBe(v === 18446744073709551615n);
      }
      // The addresses ip(8) lists inside, loopback left out, in its order.
      const want: Address[] = [];
      if (running) {
        const links = JSON.parse(await ok(sb.run(['ip', '-j', '-n', n, 'addr', 'show']))) as {
          ifname: string;
          flags: string[];
          addr_info: { family: string; local: string; prefixlen: number }[];
        }[];
        for (const l of links) {
          if (l.flags.includes('LOOPBACK')) continue;
          for (const a of l.addr_info) want.push({ ifname: l.ifname, family: a.family, address: `${a.local}/${a.prefixlen}` });
        }
      }
      expect(s.addresses).toEqual(want);
      // status NAME says the same (the counters move between two reads).
      const one = JSON.parse((await sb.run(['overlay-boot', 'status', '--json', n])).stdout) as Record<string, unknown>;
      const still = (x: Record<string, unknown>) => ({ ...x, tasks: typeof x.tasks, memory: typeof x.memory, cpuNsec: typeof x.cpuNsec });
      // status NAME adds the level and the recorded id range (list leaves them out: a config read per subhost).
      const { containment, ids, locks, ...same } = one;
      expect(still(same)).toEqual(still(s));
      expect(containment).toBe('private-users');
      expect((locks as { role: string }[]).map((l) => l.role)).toEqual(RUNNING.includes(n) ? ['UPPER', 'WORK', 'LIVE'] : []);
      expect(ids === null || /^\d+-\d+$/.test(String(ids))).toBe(true);
    }
    expect((list[0]!.addresses as Address[]).map((a) => a.address)).toEqual(expect.arrayContaining(['192.0.2.1/24', '198.51.100.1/32']));
    expect((list[1]!.addresses as Address[]).map((a) => a.address)).toEqual(expect.arrayContaining(['2001:db8::2/64']));

    // The table: a row per subhost with the same addresses.
    const table = (await ok(sb.run(['overlay-boot', 'list']))).split('\n').filter(Boolean);
    expect(table).toHaveLength(1 + RUNNING.length + 1);
    expect(table.find((l) => l.startsWith('lm02 '))).toMatch(/ eth0 192\.0\.2\.2\/24, eth0 2001:db8::2\/64/);
    expect(table.find((l) => l.startsWith('lm03 '))).toMatch(/ -$/);
    expect(table.find((l) => l.startsWith(`${IDLE} `))).toMatch(/^lm99 +inactive \(dead\) +- +- +- +- +- +\S+ +-$/);

    // Processes: the command itself and one subhost-addrs, however many run.
    const trace = await ok(
      sb.run(['sh', '-c', 'strace -f -qq -e trace=execve -o /tmp/list.strace overlay-boot list >/dev/null && cat /tmp/list.strace']),
    );
    const execs = trace
      .split('\n')
      .filter((l) => /execve\(/.test(l) && / = 0$/.test(l))
      .map((l) => /execve\("([^"]+)"/.exec(l)![1]!);
    expect(execs).toEqual(['/usr/sbin/overlay-boot', '/usr/lib/overlay-boot/subhost-addrs']);

    await Promise.all(RUNNING.map((n) => sb.stopUnit(U(n))));
    for (const n of RUNNING) await waitGone(sb, n);
    expect(await state(sb, U(RUNNING[0]!))).toBe('inactive');
    expect(await counts(sb)).toEqual(clean());
  });
});
