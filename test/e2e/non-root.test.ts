// Non-root use through polkit (issue 14). A plain user is refused by every
// command that needs root, with one line saying what to do (sudo, or the
// polkit group), and nothing changes; the read-only commands work and show
// what that user may see. Once the shipped example rule is in
// /etc/polkit-1/rules.d and the user is in its group, the same user starts
// (by config path: pkexec of overlay-boot start), enters (pkexec of
// overlay-go), shares into, enables, disables, restarts (systemd's
// manage-units) and stops a subhost, without a password.
// polkitd is bus-activated in the sandbox (scripts/setup.sh installs
// polkitd and pkexec).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Sandbox, RunResult } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, counts, stopSubhost, waitGone, journalOf, inside, state, type Counts } from './kit.js';

const USER = 'obtuser';
const NAME = 'np1';
const U = `subhost@${NAME}.service`;
const RULE = '/usr/share/doc/overlay-boot/examples/50-overlay-boot.rules';
const REFUSAL = new RegExp(
  `^[a-z-]+: .* needs root: run it with sudo, or join a group that polkit lets manage subhosts \\(example rule: ${RULE.replace(/\./g, '\\.')}\\)\\n$`,
);

/** argv as the plain user (its groups from /etc/group), from /. */
function asUser(sb: Sandbox, argv: string[]): Promise<RunResult> {
  return sb.run(['setpriv', `--reuid=${USER}`, `--regid=${USER}`, '--init-groups', 'sh', '-c', 'cd / && exec "$@"', 'sh', ...argv], {
    timeoutMs: 60_000,
  });
}

async function ok(sb: Sandbox, argv: string[]): Promise<string> {
  const r = await sb.run(argv, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: exit ${r.exitCode}\n${r.stderr}`);
  return r.stdout;
}

describe('non-root use through polkit', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;
  let conf: string;

  beforeAll(async () => {
    clean = cleanCounts();
    const sb = sandbox();
    await ok(sb, ['useradd', '--no-create-home', '--shell', '/bin/sh', USER]);
    await ok(sb, ['groupadd', '--system', 'subhost-admin']);
    conf = (await makeSubhost(sb, NAME, 'BASE=.\nCABLES= =\nSTART=none\n')).conf;
    await ok(sb, ['overlay-boot', 'start', conf]);
  });

  afterAll(async () => {
    const sb = sandbox();
    await sb.run(['rm', '-f', '/etc/polkit-1/rules.d/50-overlay-boot.rules']);
    if ((await state(sb, U)) !== 'inactive') await stopSubhost(sb, NAME);
    expect(await counts(sb)).toEqual(clean);
  });

  it('refuses each command that needs root in one line saying what to do, and changes nothing', async () => {
    const sb = sandbox();
    const subhostsConf = await sb.readFile('/etc/subhosts.conf');
    const pid = await sb.unitProperty(U, 'org.freedesktop.systemd1.Service', 'MainPID');
    for (const argv of [
      ['overlay-boot', 'start', conf],
      ['overlay-boot', 'start', NAME],
      ['overlay-boot', conf],
      ['overlay-go', NAME],
      ['overlay-go', NAME, '--', 'true'],
      ['overlay-share', '--ro', '/tmp', NAME, '/mnt'],
      ['overlay-boot', 'enable', conf],
      ['overlay-boot', 'disable', NAME],
      ['overlay-stop', NAME],
      ['overlay-boot', 'stop', NAME],
    ]) {
      const r = await asUser(sb, argv);
      expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(77);
      expect(r.stderr, argv.join(' ')).toMatch(REFUSAL);
      expect(r.stdout, argv.join(' ')).toBe('');
    }
    expect(await sb.readFile('/etc/subhosts.conf')).toBe(subhostsConf);
    expect(await state(sb, U)).toBe('active');
    expect(await sb.unitProperty(U, 'org.freedesktop.systemd1.Service', 'MainPID')).toBe(pid);
    expect((await inside(sb, NAME, ['sh', '-c', 'grep -c " /mnt " /proc/self/mountinfo || true'])).stdout.trim()).toBe('0');
  });

  it('status, list and check work for everyone; addresses come from machined when the netns cannot be entered', async () => {
    const sb = sandbox();
    expect((await inside(sb, NAME, ['ip', 'addr', 'add', '10.78.0.2/24', 'dev', 'eth0'])).exitCode).toBe(0);
    // Registered with machined (subhost-machine@, after the start).
    const end = Date.now() + 15_000;
    while (!(await sb.run(['machinectl', 'list', '--no-legend'])).stdout.includes(NAME) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const root = JSON.parse(await ok(sb, ['overlay-boot', 'status', '--json', NAME]));
    const user = await asUser(sb, ['overlay-boot', 'status', '--json', NAME]);
    expect(user.exitCode, user.stderr).toBe(0);
    const mine = JSON.parse(user.stdout);
    expect(root.addresses).toEqual([{ ifname: 'eth0', family: 'inet', address: '10.78.0.2/24' }]);
    expect(mine.addresses).toEqual([{ ifname: '', family: 'inet', address: '10.78.0.2' }]);
    const { addresses: _a, ...rootRest } = root;
    const { addresses: _b, ...mineRest } = mine;
    // CPU time moves on between the two calls.
    expect({ ...mineRest, cpuNsec: 0 }).toEqual({ ...rootRest, cpuNsec: 0 });
    const list = await asUser(sb, ['overlay-boot', 'list']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${NAME} +active \\(running\\).* ${conf.replace(/\./g, '\\.')} +10\\.78\\.0\\.2$`, 'm'));
    const check = await asUser(sb, ['overlay-boot', 'check', conf]);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toContain(`${conf}: valid`);
    const go = await asUser(sb, ['overlay-go']);
    expect(go.exitCode, go.stderr).toBe(0);
    expect(go.stdout).toBe(`Select subhost: ${NAME}\n`);
  });

  it('in the group of the example rule: starts, enters, shares into, enables, disables, restarts and stops a subhost without a password', async () => {
    const sb = sandbox();
    await ok(sb, ['cp', RULE, '/etc/polkit-1/rules.d/']);
    await ok(sb, ['usermod', '-aG', 'subhost-admin', USER]);
    // polkitd reloads its rules when the directory changes: wait for that.
    const end = Date.now() + 15_000;
    while ((await asUser(sb, ['sh', '-c', 'pkcheck --action-id org.overlay-boot.enter --process $$'])).exitCode !== 0) {
      if (Date.now() > end) throw new Error('polkit did not pick up the example rule');
      await new Promise((r) => setTimeout(r, 100));
    }
    const as = async (argv: string[]): Promise<RunResult> => {
      const r = await asUser(sb, argv);
      expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    await as(['overlay-stop', NAME]);
    await waitGone(sb, NAME);
    expect((await as(['overlay-boot', 'start', conf])).stdout).toMatch(new RegExp(`^started subhost ${NAME} `));
    expect(await state(sb, U)).toBe('active');
    // Entered as root of the subhost, in its UTS namespace; the exit status comes back.
    const go = await as(['overlay-go', NAME, '--', 'sh', '-c', 'id -u; hostname']);
    expect(go.stdout).toBe(`0\n${NAME}\n`);
    expect((await asUser(sb, ['overlay-go', NAME, '--', 'sh', '-c', 'exit 7'])).exitCode).toBe(7);
    await as(['overlay-share', '--ro', '/usr/share/doc/overlay-boot', NAME, '/mnt']);
    expect((await inside(sb, NAME, ['test', '-f', '/mnt/examples/50-overlay-boot.rules'])).exitCode).toBe(0);
    await as(['overlay-boot', 'enable', conf]);
    expect(await sb.readFile('/etc/subhosts.conf')).toContain(`${conf}\n`);
    await as(['overlay-boot', 'disable', NAME]);
    expect(await sb.readFile('/etc/subhosts.conf')).not.toContain(conf);
    const before = await sb.unitProperty(U, 'org.freedesktop.systemd1.Service', 'MainPID');
    await as(['systemctl', 'restart', U]);
    expect(await sb.unitProperty(U, 'org.freedesktop.systemd1.Service', 'MainPID')).not.toBe(before);
    await as(['overlay-stop', NAME]);
    await waitGone(sb, NAME);
    expect(await state(sb, U)).toBe('inactive');
    expect(await journalOf(sb, U)).not.toMatch(/Permission denied|not authorized/i);
    expect(await counts(sb)).toEqual(clean);
  });
});
