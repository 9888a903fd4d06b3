// overlay-go's shell is restricted exactly as the subhost's own processes
// are (issue 11): the reaper's capability bounding set, seccomp filters and
// cgroup, on a pseudo-terminal of the subhost's own devpts; the admin's
// terminal is never handed in.
//
// "gor" gets restrictions from a drop-in of its own (as an admin's would
// be, and independent of what the unit template contains); "goo" is the
// opt-out (CONTAINMENT=none, ignored by configs that predate the key):
// there the same checks must come out open, so they can fail.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox, RunResult } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, mainPid, counts, stopSubhost, journalOf, type Counts } from './kit.js';

const U = (n: string) => `subhost@${n}.service`;
const STATUS_LINES = /^(CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):.*$/gm;
const CAP_SYS_MODULE = 16n;
const CAP_SYS_TIME = 25n;

function cli(sb: Sandbox, argv: string[], opts: { input?: string } = {}): Promise<RunResult> {
  return sb.run(argv, { ...opts, timeoutMs: 60_000 });
}

/** argv under script(1): stdin (and stdout) of overlay-go are a terminal. */
function onTerminal(sb: Sandbox, shell: string): Promise<RunResult> {
  return cli(sb, ['script', '-q', '-e', '-c', shell, '/dev/null'], { input: '' });
}

// script(1) puts a NUL into the terminal's input when its own stdin ends; the
// pty echoes it as "^@".
const lines = (s: string) =>
  s
    .replace(/\r|\^@|\0/g, '')
    .trim()
    .split('\n');
/** The shell's open fds, listed last by a plain command (a pipe or $(...) would add fds of its own). */
const FDS = 'echo fds:; ls -l /proc/$$/fd';
/** Output lines before "fds:", and the fd numbers listed after it. */
function split(out: string): { before: string[]; fds: string[] } {
  const l = lines(out);
  const i = l.indexOf('fds:');
  return {
    before: l.slice(0, i),
    fds: l
      .slice(i + 1)
      .map((x) => / (\d+) -> /.exec(x)?.[1])
      .filter((x): x is string => !!x),
  };
}
const statusOf = (s: string) => s.match(STATUS_LINES)?.join('\n') ?? '';

describe('overlay-go restrictions', () => {
  const { sandbox, clean: cleanCounts } = useInstalledSandbox();
  let clean: Counts;

  beforeAll(async () => {
    clean = cleanCounts();
    const sb = sandbox();
    await sb.writeFile(
      '/etc/systemd/system/subhost@gor.service.d/x.conf',
      [
        '[Service]',
        'CapabilityBoundingSet=~CAP_SYS_MODULE CAP_SYS_TIME',
        'SystemCallFilter=~keyctl',
        'SystemCallErrorNumber=EPERM',
        '',
      ].join('\n'),
    );
    await sb.daemonReload();
    for (const [name, conf] of [
      ['gor', 'BASE=.\nSTART=none\n'],
      ['goo', 'BASE=.\nSTART=none\nCONTAINMENT=none\n'],
    ] as const) {
      const s = await makeSubhost(sb, name, conf);
      const r = await cli(sb, ['overlay-boot', 'start', s.conf]);
      if (r.exitCode !== 0) throw new Error(`start ${name}: ${r.stderr}\n${await journalOf(sb, U(name))}`);
    }
  }, 120_000);

  it('the bounding set, no_new_privs and seccomp filters of the reaper; its cgroup; keyctl refused only where the reaper refuses it', async () => {
    const sb = sandbox();
    const probe =
      'grep -E "^(CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status; echo; cat /proc/self/cgroup; echo; cat /proc/1/cgroup';
    for (const name of ['gor', 'goo']) {
      const pid = await mainPid(sb, name);
      const reaper = statusOf((await sb.run(['cat', `/proc/${pid}/status`])).stdout);
      const r = await cli(sb, ['overlay-go', name, '--', 'sh', '-c', probe]);
      expect(r.exitCode, r.stderr).toBe(0);
      const [status, own, pid1] = r.stdout.trim().split('\n\n');
      // Exactly what the subhost's PID 1 has (Seccomp_filters counts them).
      expect(status, name).toBe(reaper);
      // Same cgroup as PID 1 inside, in the same cgroup namespace.
      expect(own, name).toBe(pid1);
      const bnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)/m.exec(status!)![1]}`);
      const seccomp = /^Seccomp:\s*(\d)/m.exec(status!)![1];
      if (name === 'gor') {
        expect(bnd & (1n << CAP_SYS_MODULE)).toBe(0n);
        expect(bnd & (1n << CAP_SYS_TIME)).toBe(0n);
        expect(seccomp).toBe('2');
      } else {
        // The opt-out: nothing dropped, no filter (as nsenter gave everyone before).
        expect(bnd & (1n << CAP_SYS_MODULE)).not.toBe(0n);
        expect(seccomp).toBe('0');
      }
    }
    // keyctl (a harmless read of the session keyring): the drop-in's filter reaches
    // the shell in gor; in goo the same call works.
    let r = await cli(sb, ['overlay-go', 'gor', '--', 'keyctl', 'show']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Operation not permitted');
    r = await cli(sb, ['overlay-go', 'goo', '--', 'keyctl', 'show']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Session Keyring');
  });

  it("on a terminal: a new pty of the subhost's own devpts, its controlling terminal; the outer one is not reachable; size and exit status pass", async () => {
    const sb = sandbox();
    // outer= the st_dev of script's pty (the sandbox's devpts); inside, every
    // terminal the shell can reach: fds 0-2, /dev/tty; its open fds.
    const inner = [
      'tty',
      'readlink /proc/self/fd/0',
      'echo "fd0=$(stat -L -c %d:%t:%T /proc/self/fd/0) pts=$(stat -c %d /dev/pts)"',
      'echo "ctty=$(cut -d" " -f7 /proc/$$/stat) devtty=$( (exec 3</dev/tty) 2>/dev/null && echo yes || echo no)"',
      'stty size',
      FDS,
      'exit 5',
    ].join('; ');
    const r = await onTerminal(
      sb,
      `stty rows 33 cols 77; echo "outer=$(stat -L -c %d /proc/self/fd/0)"; overlay-go gor -- sh -c '${inner}'`,
    );
    expect(r.exitCode, r.stdout + r.stderr).toBe(5);
    const { before: out, fds } = split(r.stdout);
    const outer = out[0]!.replace('outer=', '');
    const [tty, link, devs, devtty, size] = out.slice(1);
    expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(link).toBe(tty);
    const m = /^fd0=(\d+):(\w+):(\w+) pts=(\d+)$/.exec(devs!)!;
    expect(m, devs).not.toBeNull();
    // On the subhost's own devpts (the one mounted at its /dev/pts), which is
    // not the outer terminal's: TIOCSTI or a read there reaches only this pty.
    expect(m[1]).toBe(m[4]);
    expect(m[1]).not.toBe(outer);
    expect(m[2]).toBe('88'); // major 136: a pty slave
    // The new pty is the controlling terminal (tty_nr in /proc/PID/stat is
    // major << 8 | minor for minors < 256), so /dev/tty is that one.
    expect(devtty).toBe(`ctty=${(parseInt(m[2]!, 16) << 8) | parseInt(m[3]!, 16)} devtty=yes`);
    expect(fds).toEqual(['0', '1', '2']);
    expect(size).toBe('33 77');
  });

  it('stdin not a terminal: passed through, a terminal on stdout is replaced by a pipe, no controlling terminal; exit status and signals pass', async () => {
    const sb = sandbox();
    const inner = [
      'for f in 0 1 2; do echo "$f=$(readlink /proc/self/fd/$f | sed "s/:.*//")"; done',
      'echo "devtty=$( (exec 3</dev/tty) 2>/dev/null && echo yes || echo no)"',
      FDS,
    ].join('; ');
    // stdout is script's pty, stdin /dev/null.
    let r = await onTerminal(sb, `overlay-go gor -- sh -c '${inner}' </dev/null`);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(split(r.stdout)).toEqual({ before: ['0=/dev/null', '1=pipe', '2=pipe', 'devtty=no'], fds: ['0', '1', '2'] });
    // Pipes only (what scripts do): passed through as they are.
    r = await cli(sb, ['overlay-go', 'gor', '--', 'sh', '-c', `cat; ${inner}; exit 4`], { input: 'through stdin\n' });
    expect(r.exitCode).toBe(4);
    // (Node gives its children socketpairs or pipes.)
    const both = expect.stringMatching(/^[012]=(pipe|socket)$/);
    expect(split(r.stdout)).toEqual({ before: ['through stdin', both, both, both, 'devtty=no'], fds: ['0', '1', '2'] });
    r = await cli(sb, ['overlay-go', 'gor', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(r.exitCode).toBe(128 + 15);
    r = await cli(sb, ['overlay-go', 'gor', '--', 'no-such-command']);
    expect(r).toMatchObject({
      exitCode: 127,
      stderr: expect.stringContaining('subhost-go: cannot run no-such-command: No such file or directory'),
    });
  });

  it('a reaper that cannot be inspected (already traced): refused, nothing runs', async () => {
    const sb = sandbox();
    const pid = await mainPid(sb, 'gor');
    // strace holds the reaper (one tracer per task): subhost-go cannot read its
    // filters and must not run the command without them.
    const script = [
      `strace -qq -e trace=none -p ${pid} -o /dev/null & t=$!`,
      `for i in $(seq 200); do grep -q "^TracerPid:[[:space:]]*$t$" /proc/${pid}/status && break; sleep 0.05; done`,
      'overlay-go gor -- sh -c "echo ran"; echo "go=$?"',
      'kill $t; wait $t',
    ].join('\n');
    const r = await cli(sb, ['sh', '-c', script]);
    expect(r.stdout.trim()).toBe('go=125');
    expect(r.stderr).toMatch(
      /^subhost-go: cannot inspect process \d+ to copy its seccomp filters: it is traced by process \d+; refusing to run without them$/m,
    );
    // The reaper goes on (detached by strace) and overlay-go works again.
    expect((await cli(sb, ['overlay-go', 'gor', '--', 'hostname'])).stdout).toBe('gor\n');
  });

  it('stopping both leaves nothing behind', async () => {
    const sb = sandbox();
    expect(await stopSubhost(sb, 'gor')).toBe('done');
    expect(await stopSubhost(sb, 'goo')).toBe('done');
    await sb.run(['rm', '-rf', '/etc/systemd/system/subhost@gor.service.d']);
    await sb.daemonReload();
    expect(await counts(sb)).toEqual(clean);
  });
});
