// Subhosts in systemd-machined (issue 14): subhost-machine@NAME registers
// each running subhost, off its start path, so that machinectl sees it by
// the subhost's own name; machined forgets it when the subhost stops,
// crashes or is killed. Without machined nothing changes and nothing is
// said. The sandbox bus-activates systemd-machined (systemd-container is
// installed by scripts/setup.sh).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Sandbox, RunResult } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, mainPid, counts, stopSubhost, waitGone, journalOf, inside, state, type Counts } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;
const NAME = 'mch';

function sh(sb: Sandbox, script: string): Promise<RunResult> {
  return sb.run(['sh', '-c', script], { timeoutMs: 60_000 });
}

async function machines(sb: Sandbox): Promise<string[]> {
  const r = await sb.run(['machinectl', 'list', '--no-legend']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/)[0]!);
}

/** Registration follows the start: wait until machined has NAME (or give up and show the list). */
async function waitRegistered(sb: Sandbox, name: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!(await machines(sb)).includes(name)) {
    if (Date.now() > end) throw new Error(`${name} not registered: ${await journalOf(sb, `subhost-machine@${name}.service`)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** machined drops a machine when its unit's state change reaches it: wait for that. */
async function waitForgotten(sb: Sandbox, name: string): Promise<string[]> {
  const end = Date.now() + 15_000;
  for (;;) {
    const list = await machines(sb);
    if (!list.includes(name) || Date.now() > end) return list;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function start(sb: Sandbox, conf: string): Promise<void> {
  const r = await sb.run(['overlay-boot', 'start', conf], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`start: ${r.stderr}\n${await journalOf(sb, U(NAME))}`);
}

describe('systemd-machined', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  let conf: string;

  beforeAll(async () => {
    clean = cleanCounts();
    conf = (await makeSubhost(sandbox(), NAME, 'BASE=.\nCABLES= =\nSTART=none\n')).conf;
  });

  afterAll(async () => {
    const sb = sandbox();
    if ((await state(sb, U(NAME))) !== 'inactive') await stopSubhost(sb, NAME);
    expect(await counts(sb)).toEqual(clean);
  });

  it('machinectl list and status show the running subhost: leader, unit, root, interface, address', async () => {
    const sb = sandbox();
    await start(sb, conf);
    await waitRegistered(sb, NAME);
    expect((await inside(sb, NAME, ['ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0'])).exitCode).toBe(0);
    const pid = await mainPid(sb, NAME);
    const s = await sb.run(['machinectl', 'status', NAME, '--no-pager']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`Leader: ${pid} \\(\\.reaper\\)`));
    expect(s.stdout).toMatch(/Service: overlay-boot; class container/);
    expect(s.stdout).toContain(`Root: ${sb.dataDir}/${NAME}/live`);
    expect(s.stdout).toMatch(new RegExp(`Iface: ${NAME}0`));
    expect(s.stdout).toMatch(/Address: 10\.77\.0\.2/);
    expect(s.stdout).toContain(`Unit: ${U(NAME)}`);
    // The same name reaches it through overlay-boot's own commands.
    expect((await sb.run(['overlay-boot', 'status', NAME])).exitCode).toBe(0);
    expect((await sb.run(['overlay-go', NAME, '--', 'true'])).stdout).toBe('');
  });

  it('copy-from works on the default subhost; copy-to is refused (machined creates as the host root in an overlay of idmapped layers)', async () => {
    const sb = sandbox();
    await sb.writeFile('/tmp/mch-in.txt', 'to the subhost\n');
    // A limitation of CONTAINMENT=private-users (overlay-boot.conf(5)):
    // machined's copy creates the file with the host's uid 0, which the
    // subhost's id map has no place for.
    const to = await sb.run(['machinectl', 'copy-to', NAME, '/tmp/mch-in.txt', '/root/mch-in.txt']);
    expect(to.exitCode).not.toBe(0);
    expect(to.stderr).toContain('Value too large for defined data type');
    expect((await sb.run(['test', '-e', `${sb.dataDir}/${NAME}/root/root/mch-in.txt`])).exitCode).toBe(1);
    expect((await sb.run(['overlay-go', NAME, '--', 'sh', '-c', 'echo from the subhost > /tmp/mch-out.txt'])).exitCode).toBe(0);
    const from = await sb.run(['machinectl', 'copy-from', NAME, '/tmp/mch-out.txt', '/tmp/mch-out.txt']);
    expect(from.exitCode, from.stderr).toBe(0);
    expect(await sb.readFile('/tmp/mch-out.txt')).toBe('from the subhost\n');
  });

  it('stopped, crashed, killed or terminated: the machine is forgotten, the subhost is gone', async () => {
    const sb = sandbox();
    // running -> stop
    await stopSubhost(sb, NAME);
    expect(await waitForgotten(sb, NAME)).toEqual([]);
    // crash: the reaper SIGKILLed behind systemd's back
    await start(sb, conf);
    await waitRegistered(sb, NAME);
    expect((await sb.run(['kill', '-KILL', String(await mainPid(sb, NAME))])).exitCode).toBe(0);
    await waitGone(sb, NAME);
    expect(await waitForgotten(sb, NAME)).toEqual([]);
    // machinectl kill: every process of the unit
    await start(sb, conf);
    await waitRegistered(sb, NAME);
    expect((await sb.run(['machinectl', 'kill', NAME, '--signal=KILL'])).exitCode).toBe(0);
    await waitGone(sb, NAME);
    expect(await waitForgotten(sb, NAME)).toEqual([]);
    // machinectl terminate: stops the unit (as systemctl stop)
    await start(sb, conf);
    await waitRegistered(sb, NAME);
    expect((await sb.run(['machinectl', 'terminate', NAME])).exitCode).toBe(0);
    await waitGone(sb, NAME);
    expect(await state(sb, U(NAME))).toBe('inactive');
    expect(await waitForgotten(sb, NAME)).toEqual([]);
    expect(await counts(sb)).toEqual(clean);
  });

  it('with machined masked: the subhost starts as before and nothing is said', async () => {
    const sb = sandbox();
    expect((await sh(sb, 'systemctl stop systemd-machined && systemctl mask --quiet systemd-machined')).exitCode).toBe(0);
    try {
      const r = await sb.run(['overlay-boot', 'start', conf], { timeoutMs: 60_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      // The registration ran (and found no machined): wait for its end.
      const end = Date.now() + 15_000;
      while ((await state(sb, `subhost-machine@${NAME}.service`)) !== 'active' && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(await state(sb, `subhost-machine@${NAME}.service`)).toBe('active');
      expect(await journalOf(sb, `subhost-machine@${NAME}.service`)).not.toContain('subhost-machine:');
      expect(await state(sb, U(NAME))).toBe('active');
      await stopSubhost(sb, NAME);
    } finally {
      await sh(sb, 'systemctl unmask --quiet systemd-machined');
    }
  });
});
