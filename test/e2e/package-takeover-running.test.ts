// The package installed over overlay-boot 1.6 while three 1.6 subhosts
// run (issue 22). The subhosts are started by 1.6's own scripts (the
// readable 1.6 sources in fixtures/overlay-boot-1.6/, its reaper built from
// its reaper.c), as an admin's shell would; then `dpkg -i`: the postinst
// says what it found and adopts each as subhost@NAME.service, running on
// (same reaper, same processes, now in the unit's cgroup): list and status
// show them, overlay-go enters them, overlay-stop stops one the way 1.6
// did (its START service stopped inside, its netns removed), `service
// subhosts stop` the others; `service subhosts start` then starts the
// listed ones as overlay-boot 2 subhosts. What the subhosts wrote is
// intact throughout.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSandbox } from '../sandbox/vitest.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { ROOT, makeSubhost, state, journalOf, mainPid, waitGone, until, type SubhostDir } from './kit.js';

const FIX = join(ROOT, 'test/e2e/fixtures/overlay-boot-1.6');
const fix = (f: string) => readFileSync(join(FIX, f));
let deb: string;
let reaper16: Buffer;

beforeAll(async () => {
  if (process.env.OVERLAY_BOOT_DEB) deb = process.env.OVERLAY_BOOT_DEB;
  else {
    const r = await execa(join(ROOT, 'debian/build-deb'), [], { reject: false });
    if (r.exitCode !== 0) throw new Error(`debian/build-deb: ${r.stderr}`);
    deb = r.stdout.trim().split('\n').pop()!;
  }
  // 1.6's reaper, built as its Makefile did (static).
  const dir = mkdtempSync(join(tmpdir(), 'ob-reaper16-'));
  try {
    await execa('gcc', ['-Wall', '-static', '-O2', '-o', join(dir, 'reaper'), join(FIX, 'reaper.c')]);
    reaper16 = readFileSync(join(dir, 'reaper'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);

// A START service of 1.6's kind: an init script that notes start and stop in UPPER.
const T16SVC = `#!/bin/sh
case "$1" in
start) sleep 100000 >/dev/null 2>&1 & echo $! > /run/t16svc.pid; echo started >> /var/log/t16svc.log ;;
stop) kill "$(cat /run/t16svc.pid)"; echo stopped >> /var/log/t16svc.log ;;
esac
`;

describe('installing over overlay-boot 1.6 while its subhosts run', () => {
  const sandbox = useSandbox();
  const ok = async (sb: Sandbox, cmd: string) => {
    const r = await sb.run(['sh', '-c', cmd], { timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  /** The reaper of a 1.6 subhost, as a test finds it: the process of its netns that is PID 1 of its own pid namespace. */
  const reaperOf = async (sb: Sandbox, name: string) =>
    Number(
      (
        await ok(sb, `for p in $(ip netns pids ${name}); do grep -q '^NSpid:.*[[:space:]]1$' /proc/$p/status && echo $p; done; true`)
      ).trim() || 0,
    );
  const sums = (sb: Sandbox, subs: SubhostDir[]) =>
    ok(sb, `cd / && sha256sum ${subs.map((s) => `${s.base.slice(1)}/root/data/keep.txt`).join(' ')}`);

  it('adopts three running 1.6 subhosts; list/status/go/stop/service subhosts stop|start reach them; data intact', async () => {
    const sb = sandbox();
    await ok(sb, 'rm -f /usr/sbin/policy-rc.d /var/lib/man-db/auto-update');
    // 1.6's `make install`.
    for (const f of ['overlay-boot', 'overlay-stop', 'overlay-go', 'functions', 'overlay-init', 'overlay-premount', 'overlay-postmount'])
      await sb.writeFile(`/var/lib/overlay-boot/${f}`, fix(f), 0o755);
    await sb.writeFile('/var/lib/overlay-boot/reaper', reaper16, 0o755);
    await sb.writeFile('/etc/init.d/subhosts', fix('subhosts.sh'), 0o755);
    await sb.writeFile('/usr/lib/systemd/system/subhosts@.service', fix('subhosts@.service'), 0o644);
    for (const c of ['overlay-boot', 'overlay-stop', 'overlay-go']) await ok(sb, `ln -sfn /var/lib/overlay-boot/${c} /usr/sbin/${c}`);

    const web = await makeSubhost(sb, 't16web', 'BASE=.\nCABLES= =\nSTART= none\n');
    const tiny = await makeSubhost(sb, 't16tiny', 'BASE=.\nSTART= none\n');
    const svc = await makeSubhost(sb, 't16svc', 'BASE=.\nSTART= t16svc\n');
    const subs = [web, tiny, svc];
    for (const s of subs) await sb.writeFile(`${s.base}/root/data/keep.txt`, `${s.name}'s data\n`);
    await sb.writeFile(`${svc.base}/root/etc/init.d/t16svc`, T16SVC, 0o755);
    // Listed: web and svc (1.6's boot list); tiny started by hand.
    await sb.writeFile('/etc/subhosts.conf', `${fix('subhosts.conf')}${web.conf}\n${svc.conf}\n`, 0o644);
    await ok(sb, 'systemctl daemon-reload');

    // 1.6 starts them with its own script, as from an admin's shell (a
    // transient unit here: the sandbox's run() ends what it started).
    for (const s of subs)
      await ok(sb, `systemd-run --quiet --unit=admin-${s.name} -p Type=oneshot -p RemainAfterExit=yes /usr/sbin/overlay-boot ${s.conf}`);
    const reapers = new Map<string, number>();
    for (const s of subs) {
      await until(`1.6 subhost ${s.name} runs`, async () => (await reaperOf(sb, s.name)) > 0);
      reapers.set(s.name, await reaperOf(sb, s.name));
    }
    await until(
      't16svc started its service',
      async () => (await sb.run(['cat', `${svc.base}/root/var/log/t16svc.log`])).stdout === 'started\n',
    );
    // 1.6's reaper is the one running: its own binary, copied to /.reaper.
    expect(await ok(sb, `readlink /proc/${reapers.get('t16web')}/exe`)).toBe('/.reaper\n');
    const before = await sums(sb, subs);

    await sb.writeFile('/var/tmp/overlay-boot.deb', readFileSync(deb));
    const r = await sb.run(['dpkg', '-i', '/var/tmp/overlay-boot.deb'], { timeoutMs: 180_000 });
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
    // The postinst says what it found and what it did.
    for (const s of subs) {
      expect(r.stdout).toMatch(
        new RegExp(
          `overlay-boot: found running 1\\.6 subhost ${s.name} \\(reaper PID ${reapers.get(s.name)}, \\d+ processes\\), config ${s.conf}\\n`,
        ),
      );
      expect(r.stdout).toContain(`overlay-boot: adopted ${s.name} as subhost@${s.name}.service, still running under 1.6`);
    }

    // Running as subhost@NAME, with 1.6's own reaper as its main process, in the unit's cgroup.
    for (const s of subs) {
      expect(await state(sb, `subhost@${s.name}.service`)).toBe('active');
      expect(await mainPid(sb, s.name)).toBe(reapers.get(s.name));
      expect((await ok(sb, `cat /proc/${reapers.get(s.name)}/cgroup`)).split('\n')).toContain(
        `0::/system.slice/system-subhost.slice/subhost@${s.name}.service`,
      );
      expect(await journalOf(sb, `subhost@${s.name}.service`)).toContain(
        `adopted 1.6 subhost ${s.name}: reaper PID ${reapers.get(s.name)}`,
      );
    }
    // machined sees them too (subhost-machine@, pulled in by the start), when it is there.
    if ((await sb.run(['sh', '-c', 'command -v machinectl'])).exitCode === 0) {
      await until(
        'machinectl lists t16web',
        async () => (await sb.run(['machinectl', 'show', 't16web', '-p', 'Leader', '--value'])).stdout.trim() !== '',
      );
      expect(await ok(sb, 'machinectl show t16web -p Leader --value')).toBe(`${reapers.get('t16web')}\n`);
    }
    // 1.6's processes keep 1.6's privileges in the unit's cgroup: no device fence while adopted.
    expect(await ok(sb, 'systemctl show -p DevicePolicy --value subhost@t16web.service')).toBe('auto\n');
    const list = await ok(sb, 'overlay-boot list');
    for (const s of subs) expect(list).toMatch(new RegExp(`^${s.name} +active \\(running\\) under overlay-boot 1\\.6 .*${s.conf}`, 'm'));
    const st = await ok(sb, 'overlay-boot status t16tiny');
    expect(st).toContain('under overlay-boot 1.6');
    expect(st).toContain(`Main PID:  ${reapers.get('t16tiny')} (the subhost's PID 1)`);
    // Entered by overlay-go: its files, its processes.
    expect(await ok(sb, 'overlay-go t16web -- cat /data/keep.txt')).toBe("t16web's data\n");
    expect(await ok(sb, 'overlay-go t16svc -- sh -c "cat /run/t16svc.pid; readlink /proc/1/exe"')).toMatch(/^\d+\n\/\.reaper\n$/);
    await ok(sb, 'overlay-go t16web -- sh -c "echo written-while-adopted > /data/new.txt"');

    // overlay-stop, as 1.6's: the START service stopped inside, then the rest, then the netns.
    await ok(sb, 'overlay-stop t16svc');
    expect(await ok(sb, `cat ${svc.base}/root/var/log/t16svc.log`)).toBe('started\nstopped\n');
    expect(await state(sb, 'subhost@t16svc.service')).toBe('inactive');
    expect(await ok(sb, 'ip netns list')).not.toContain('t16svc');
    await ok(sb, `! kill -0 ${reapers.get('t16svc')} 2>/dev/null`);
    // The adoption is over: no drop-in left, the unit is the package's own again.
    expect(await ok(sb, 'ls /run/systemd/system/subhost@t16svc.service.d 2>/dev/null || true')).toBe('');
    expect(await ok(sb, 'systemctl show -p Description --value subhost@t16svc.service')).toBe('Subhost t16svc\n');

    // service subhosts stop: the other two, listed or not.
    await ok(sb, 'service subhosts stop');
    for (const n of ['t16web', 't16tiny']) await waitGone(sb, n);
    expect((await ok(sb, 'ip netns list')).trim()).toBe('');
    for (const n of ['t16web', 't16tiny']) await ok(sb, `! kill -0 ${reapers.get(n)} 2>/dev/null`);

    // service subhosts start: the listed ones, now as overlay-boot 2 subhosts.
    await ok(sb, 'service subhosts start');
    expect(await ok(sb, 'service subhosts status')).toMatch(/running: (t16svc t16web|t16web t16svc)$/m);
    for (const n of ['t16web', 't16svc']) {
      const pid = await mainPid(sb, n);
      expect(pid).not.toBe(reapers.get(n));
      expect(await ok(sb, `systemctl show -p Description --value subhost@${n}.service`)).toBe(`Subhost ${n}\n`);
      expect(await ok(sb, `systemctl show -p DevicePolicy --value subhost@${n}.service`)).toBe('closed\n');
    }
    expect(await ok(sb, `cat ${svc.base}/root/var/log/t16svc.log`)).toBe('started\nstopped\nstarted\n');
    // What the subhosts wrote: intact, also what was written while adopted.
    expect(await sums(sb, subs)).toBe(before);
    expect(await ok(sb, `cat ${web.base}/root/data/new.txt`)).toBe('written-while-adopted\n');
    await ok(sb, 'service subhosts stop');
    for (const n of ['t16web', 't16svc']) await waitGone(sb, n);
    expect((await ok(sb, 'ip netns list')).trim()).toBe('');
  });
});
