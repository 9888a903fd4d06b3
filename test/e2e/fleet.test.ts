// Fleets (issue 14): examples/ansible/ run against a sandbox systemd as its
// managed host (ansible-core from Debian, connection local inside the
// sandbox): the first run deploys the .deb, lays out a subhost, lists it
// with `overlay-boot enable` and starts it with
// ansible.builtin.systemd_service; the second run changes nothing. Then
// what monitoring clients see: ansible's service_facts, and
// prometheus-node-exporter's systemd collector, scraped once.
import { execa } from 'execa';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { useSandbox } from '../sandbox/vitest.js';
import type { Sandbox, RunResult } from '../sandbox/sandbox.js';
import { ROOT, counts, state, stopSubhost, journalOf, type Counts } from './kit.js';

const NAME = 'fl1';
const PLAYBOOK = '/root/obt-ansible';
const DEB = '/var/tmp/overlay-boot.deb';

const INVENTORY = `[subhost_hosts]
localhost ansible_python_interpreter=/usr/bin/python3
`;
const HOST_VARS = (base: string, extra = '') => `overlay_boot_deb: ${DEB}
overlay_boot_subhosts:
  - name: ${NAME}
    base: ${base}
    config:
      CABLES: "="
${extra}`;

/** PLAY RECAP of localhost: { ok, changed, failed, ... }. */
function recap(out: string): Record<string, number> {
  const line = out.split('\n').find((l) => /^localhost\s+:/.test(l));
  if (!line) throw new Error(`no PLAY RECAP in:\n${out}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

describe('examples/ansible against a sandbox; node exporter', () => {
  const sandbox = useSandbox();
  let clean: Counts;
  let base: string;

  const playbook = (sb: Sandbox): Promise<RunResult> =>
    sb.run(
      [
        'ansible-playbook',
        '-i',
        `${PLAYBOOK}/test-inventory.ini`,
        `${PLAYBOOK}/site.yml`,
        // This machine itself (the sandbox), no ssh.
        '--connection=local',
        // No sudo in the sandbox: the connection is root already.
        '-e',
        'ansible_become=false',
      ],
      { timeoutMs: 300_000, env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' } },
    );

  beforeAll(async () => {
    const r = await execa(join(ROOT, 'debian/build-deb'), [], { reject: false });
    if (r.exitCode !== 0) throw new Error(`debian/build-deb: ${r.stderr}`);
    const deb = r.stdout.trim().split('\n').pop()!;
    const sb = sandbox();
    // As in package.test.ts: this machine's policy-rc.d forbids every
    // service action (a real host has none), and man-db's index update
    // takes seconds per dpkg run.
    await sb.run(['rm', '-f', '/usr/sbin/policy-rc.d', '/var/lib/man-db/auto-update']);
    await sb.run(['sh', '-c', 'ip netns add warmup && ip netns delete warmup']);
    clean = await counts(sb);
    base = `${sb.dataDir}/${NAME}`;
    await sb.writeFile(DEB, readFileSync(deb));
    cpSync(join(ROOT, 'examples/ansible'), `${sb.root}${PLAYBOOK}`, { recursive: true });
    await sb.writeFile(`${PLAYBOOK}/test-inventory.ini`, INVENTORY);
    await sb.writeFile(`${PLAYBOOK}/host_vars/localhost.yml`, HOST_VARS(base));
  }, 300_000);

  afterAll(async () => {
    const sb = sandbox();
    if ((await state(sb, `subhost@${NAME}.service`)) !== 'inactive') await stopSubhost(sb, NAME);
    expect(await counts(sb)).toEqual(clean);
  });

  it('first run: deploys, lays out, enables and starts; second run: changed=0', async () => {
    const sb = sandbox();
    const first = await playbook(sb);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const r1 = recap(first.stdout);
    expect(r1.failed).toBe(0);
    expect(r1.changed).toBeGreaterThan(0);
    expect((await sb.run(['dpkg-query', '--status', 'overlay-boot'])).stdout).toMatch(/^Status: install ok installed$/m);
    expect(await sb.readFile('/etc/subhosts.conf')).toContain(`${base}/${NAME}.conf\n`);
    const st = await state(sb, `subhost@${NAME}.service`);
    if (st !== 'active') throw new Error(`${st}\n${await journalOf(sb, `subhost@${NAME}.service`)}`);
    // Listed, so started by the generator's drop-in (its config path in the environment).
    expect((await sb.run(['overlay-boot', 'status', NAME])).stdout).toMatch(/Config: .*\(from \/etc\/subhosts\.conf/);

    const second = await playbook(sb);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(recap(second.stdout), second.stdout).toMatchObject({ changed: 0, failed: 0 });
    expect(await state(sb, `subhost@${NAME}.service`)).toBe('active');
  });

  it('a changed config restarts the subhost; enabled: false and state: stopped take it out of the boot list and stop it', async () => {
    const sb = sandbox();
    const pid = await sb.unitProperty(`subhost@${NAME}.service`, 'org.freedesktop.systemd1.Service', 'MainPID');
    await sb.writeFile(
      `${PLAYBOOK}/host_vars/localhost.yml`,
      HOST_VARS(base).replace('      CABLES: "="\n', '      CABLES: "="\n      TASKS_MAX: 64\n'),
    );
    const changed = await playbook(sb);
    expect(changed.exitCode, changed.stdout + changed.stderr).toBe(0);
    expect(recap(changed.stdout).changed).toBeGreaterThan(0);
    expect(await state(sb, `subhost@${NAME}.service`)).toBe('active');
    expect(await sb.unitProperty(`subhost@${NAME}.service`, 'org.freedesktop.systemd1.Service', 'MainPID')).not.toBe(pid);
    expect(await sb.unitProperty(`subhost@${NAME}.service`, 'org.freedesktop.systemd1.Service', 'TasksMax')).toBe(64n);

    await sb.writeFile(`${PLAYBOOK}/host_vars/localhost.yml`, HOST_VARS(base, '    state: stopped\n    enabled: false\n'));
    const off = await playbook(sb);
    expect(off.exitCode, off.stdout + off.stderr).toBe(0);
    expect(await sb.readFile('/etc/subhosts.conf')).not.toContain(`${base}/${NAME}.conf`);
    expect(await state(sb, `subhost@${NAME}.service`)).toBe('inactive');
    const again = await playbook(sb);
    expect(recap(again.stdout), again.stdout).toMatchObject({ changed: 0, failed: 0 });

    // Back to running for what follows.
    await sb.writeFile(`${PLAYBOOK}/host_vars/localhost.yml`, HOST_VARS(base));
    expect((await playbook(sb)).exitCode).toBe(0);
    expect(await state(sb, `subhost@${NAME}.service`)).toBe('active');
  });

  it('service_facts: the subhost is running; its netns unit is "stopped" although active (a oneshot without a process)', async () => {
    const sb = sandbox();
    const r = await sb.run(
      [
        'ansible',
        'localhost',
        '-c',
        'local',
        '-e',
        'ansible_python_interpreter=/usr/bin/python3',
        '-m',
        'ansible.builtin.service_facts',
        '-o',
      ],
      { timeoutMs: 120_000, env: { ANSIBLE_NOCOLOR: '1' } },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    const services = json.ansible_facts.services as Record<string, { state: string; status: string }>;
    expect(services[`subhost@${NAME}.service`]).toMatchObject({ state: 'running' });
    // service_facts maps every sub-state but "running" to "stopped"; systemd says active.
    expect(services[`subhost-netns@${NAME}.service`]).toMatchObject({ state: 'stopped' });
    expect(await state(sb, `subhost-netns@${NAME}.service`)).toBe('active');
  });

  it('prometheus-node-exporter --collector.systemd: node_systemd_unit_state of the subhost', async () => {
    const sb = sandbox();
    // The packaged binary as a transient unit (the sandbox has its own
    // network namespace: the port is its own).
    const run = await sb.run([
      'systemd-run',
      '--unit=obt-node-exporter',
      '--property=Type=exec',
      '/usr/bin/prometheus-node-exporter',
      '--collector.disable-defaults',
      '--collector.systemd',
      '--collector.systemd.unit-include=subhost@.+',
      '--web.listen-address=127.0.0.1:9100',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    try {
      const scrape = [
        'import sys, time, urllib.request',
        'for _ in range(100):',
        '    try:',
        '        sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=10).read().decode()); break',
        '    except OSError: time.sleep(0.1)',
      ].join('\n');
      const r = await sb.run(['/usr/bin/python3', '-c', scrape], { timeoutMs: 60_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      const line = `node_systemd_unit_state{name="subhost@${NAME}.service",state="active",type="notify"} 1`;
      expect(r.stdout.split('\n')).toContain(line);
      // Only what the include pattern names.
      expect(r.stdout).not.toMatch(/node_systemd_unit_state\{name="(?!subhost@)/);
    } finally {
      await sb.run(['systemctl', 'stop', 'obt-node-exporter.service']);
    }
  });
});
