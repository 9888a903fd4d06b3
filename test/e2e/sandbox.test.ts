// The test sandbox itself: one real systemd booted for the whole file.
import { promises as fs } from 'node:fs';
import { describe, it, expect, beforeAll } from 'vitest';
import { hostLeftovers, variant, type HostLeftovers } from '../sandbox/sandbox.js';
import { useSandbox } from '../sandbox/vitest.js';
import { isMountPoint } from '../sandbox/scratch.js';

const SERVICE_IFACE = 'org.freedesktop.systemd1.Service';
const UNIT_IFACE = 'org.freedesktop.systemd1.Unit';

describe('test sandbox (real systemd)', () => {
  let before: HostLeftovers;
  // Registered before useSandbox's beforeAll, so it runs before the boot.
  beforeAll(async () => {
    before = await hostLeftovers();
  });
  const sandbox = useSandbox({
    mask: ['obt-sandbox-test-masked.service'],
    // /lib is a symlink (merged /usr): must still be one after this.
    files: { '/lib/obt-sandbox-test/hello.txt': { content: 'hello\n', mode: 0o640 } },
  });

  it('boots in a few seconds', () => {
    const sb = sandbox();
    console.log(`sandbox booted in ${sb.bootMs} ms (${sb.bootState}), pid ${sb.pid}`);
    expect(sb.bootMs).toBeLessThan(30_000);
  });

  it('reports Version and SystemState over D-Bus', async () => {
    const sb = sandbox();
    const version = await sb.getManagerProperty('Version');
    expect(String(version)).toMatch(/^252/);
    const state = await sb.getManagerProperty('SystemState');
    expect(['running', 'degraded']).toContain(state);
    if (state === 'degraded') {
      const failed = await sb.systemctl('list-units', '--failed', '--plain', '--no-legend');
      throw new Error(`sandbox degraded:\n${failed.stdout}`);
    }
  });

  it('runs a transient service through StartTransientUnit', async () => {
    const sb = sandbox();
    const unit = 'obt-sandbox-test-marker.service';
    const result = await sb.startTransientUnit(unit, [
      ['Description', variant('s', 'sandbox self-test')],
      ['Type', variant('s', 'oneshot')],
      ['ExecStart', variant('a(sasb)', [['/bin/sh', ['/bin/sh', '-c', 'echo hi > /run/marker'], false]])],
      // Keep the unit loaded after it ends so its Result can be read.
      ['AddRef', variant('b', true)],
    ]);
    expect(result).toBe('done');
    expect(await sb.unitProperty(unit, UNIT_IFACE, 'ActiveState')).toBe('inactive');
    expect(await sb.unitProperty(unit, UNIT_IFACE, 'SubState')).toBe('dead');
    expect(await sb.unitProperty(unit, SERVICE_IFACE, 'Result')).toBe('success');
    expect(await sb.readFile('/run/marker')).toBe('hi\n');
    // /run inside is the sandbox's own tmpfs, not the host's.
    await expect(fs.access('/run/marker')).rejects.toThrow();
  });

  it('reports a failing transient service as a failed job', async () => {
    const sb = sandbox();
    const unit = 'obt-sandbox-test-fail.service';
    const result = await sb.startTransientUnit(unit, [
      ['Type', variant('s', 'oneshot')],
      ['ExecStart', variant('a(sasb)', [['/bin/false', ['/bin/false'], false]])],
      ['AddRef', variant('b', true)],
    ]);
    expect(result).toBe('failed');
    expect(await sb.unitProperty(unit, SERVICE_IFACE, 'Result')).toBe('exit-code');
    await sb.systemctl('reset-failed', unit);
  });

  it('startUnit waits for the job result', async () => {
    const sb = sandbox();
    await sb.writeFile('/etc/systemd/system/obt-sandbox-test-oneshot.service', '[Service]\nType=oneshot\nExecStart=/bin/true\n');
    await sb.daemonReload();
    expect(await sb.startUnit('obt-sandbox-test-oneshot.service')).toBe('done');
    expect(await sb.startUnit('obt-sandbox-test-missing.service').catch((e: Error) => e.message)).toMatch(/not found|NoSuchUnit/i);
  });

  it('round-trips writeFile and run', async () => {
    const sb = sandbox();
    await sb.writeFile('/tmp/obt/in.txt', 'from host\n', 0o600);
    const cat = await sb.run(['cat', '/tmp/obt/in.txt']);
    expect(cat).toMatchObject({ stdout: 'from host\n', exitCode: 0 });
    const stat = await sb.run(['stat', '-c', '%a', '/tmp/obt/in.txt']);
    expect(stat.stdout.trim()).toBe('600');

    const w = await sb.run(['sh', '-c', 'cat > /tmp/obt/out.txt; echo "$FOO"; exit 3'], {
      input: 'from inside',
      env: { FOO: 'bar' },
    });
    expect(w).toMatchObject({ stdout: 'bar\n', exitCode: 3 });
    expect(await sb.readFile('/tmp/obt/out.txt')).toBe('from inside');
  });

  it('runs commands as PID-namespaced, pivoted processes', async () => {
    const sb = sandbox();
    // PID 1 inside is systemd, and the host's mounts are not visible.
    expect((await sb.run(['cat', '/proc/1/comm'])).stdout).toBe('systemd\n');
    const mounts = (await sb.run(['cat', '/proc/self/mountinfo'])).stdout;
    expect(mounts).not.toMatch(/oldroot/);
    // Only the layers of its / (stage.sh: read-only, for subhost-enter's
    // private-users), at the paths its overlay's options name.
    const scratchPoints = mounts
      .split('\n')
      .filter((l) => l.split(' ')[4]?.startsWith('/tmp/obt-sandbox-'))
      .map((l) => `${l.split(' ')[4]!.replace(/^\/tmp\/obt-sandbox-[^/]+/, 'SCRATCH')} ${l.split(' ')[5]!.split(',')[0]}`);
    expect(scratchPoints.sort()).toEqual(['SCRATCH/lower ro', 'SCRATCH/upper ro']);
    expect((await sb.run(['hostname'])).stdout.trim()).toBe('obt-sandbox');
    // The data dir is a tmpfs (overlay upper dirs can live there).
    expect((await sb.run(['stat', '-f', '-c', '%T', sb.dataDir])).stdout.trim()).toBe('tmpfs');
  });

  it('kills a command on timeout', async () => {
    const sb = sandbox();
    const t0 = Date.now();
    const res = await sb.run(['sh', '-c', 'sleep 30 & sleep 30'], { timeoutMs: 300 });
    expect(res.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    const ps = await sb.run(['sh', '-c', 'pgrep -x sleep || true']);
    expect(ps.stdout).toBe('');
  });

  it('has its own network namespace with only lo', async () => {
    const sb = sandbox();
    const res = await sb.run(['ip', '-o', 'link', 'show']);
    expect(res.exitCode).toBe(0);
    const names = res.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]?.trim());
    expect(names).toEqual(['lo']);
  });

  it('places files and masks before boot without shadowing lower symlinks', async () => {
    const sb = sandbox();
    expect((await sb.run(['readlink', '/lib'])).stdout.trim()).toBe('usr/lib');
    expect(await sb.readFile('/usr/lib/obt-sandbox-test/hello.txt')).toBe('hello\n');
    expect((await sb.run(['stat', '-c', '%a', '/lib/obt-sandbox-test/hello.txt'])).stdout.trim()).toBe('640');
    expect(await sb.unitProperty('obt-sandbox-test-masked.service', UNIT_IFACE, 'LoadState')).toBe('masked');
    expect(await sb.unitProperty('postgresql.service', UNIT_IFACE, 'LoadState')).toBe('masked');
    // A fresh machine id, not the host's.
    const id = (await sb.readFile('/etc/machine-id')).trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).not.toBe((await fs.readFile('/etc/machine-id', 'utf8').catch(() => '')).trim());
  });

  it('resolves absolute symlinks inside the sandbox, not on the host', async () => {
    const sb = sandbox();
    await sb.run(['ln', '-s', '/run/obt-target.txt', '/etc/obt-link.txt']);
    await sb.writeFile('/etc/obt-link.txt', 'via link\n');
    expect((await sb.run(['cat', '/run/obt-target.txt'])).stdout).toBe('via link\n');
    await expect(fs.access('/run/obt-target.txt')).rejects.toThrow();
  });

  it('shows a unit journal', async () => {
    const sb = sandbox();
    const journal = await sb.journal('obt-sandbox-test-marker.service');
    expect(journal).toMatch(/sandbox self-test/);
  });

  it('leaves nothing on the host after stop()', async () => {
    const sb = sandbox();
    const { pid, scratch } = sb;
    await sb.stop();
    await sb.stop(); // idempotent
    await expect(fs.access(`/proc/${pid}`)).rejects.toThrow();
    expect(await isMountPoint(scratch)).toBe(false);
    await expect(fs.access(scratch)).rejects.toThrow();
    expect(await hostLeftovers()).toEqual(before);
  });
});
