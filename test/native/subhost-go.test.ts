// subhost-go (overlay-go's helper) against a stand-in reaper, without
// systemd: sgtarget.c, PID 1 of fresh pid/mount/uts/ipc/net namespaces,
// with two seccomp filters, optionally no_new_privs and a smaller bounding
// set. What runs through subhost-go must have exactly the same, with the
// filters in the same order (the newest decides keyctl's errno).
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD, REPO, buildNative } from './harness.js';

const SG = join(BUILD, 'subhost-go');
const TARGET = join(BUILD, 'test', 'sgtarget');
const STATUS = /^(CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):.*$/gm;
const statusOf = (s: string) => s.match(STATUS)?.join('\n') ?? '';

let running: ResultPromise[] = [];

/** sgtarget ARGS as PID 1 of new namespaces (hostname "sgt"); its host PID once ready. */
async function startTarget(args: string[]): Promise<number> {
  const p = execa(
    'unshare',
    ['-m', '-p', '-f', '-u', '-i', '-n', '--mount-proc', '--kill-child', 'sh', '-c', 'hostname sgt && exec "$@"', 'sh', TARGET, ...args],
    { reject: false, buffer: false },
  );
  running.push(p);
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', (d: Buffer) => (String(d).startsWith('ready') ? resolve() : reject(new Error(String(d)))));
    p.once('exit', () => reject(new Error('sgtarget exited')));
  });
  // unshare -f: the target is unshare's only child.
  const kids = (await readFile(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8')).trim();
  return Number(kids);
}

beforeAll(async () => {
  await buildNative();
  await mkdir(join(BUILD, 'test'), { recursive: true });
  await execa('gcc', ['-O', '-Wall', '-Wextra', '-Werror', '-o', TARGET, join(REPO, 'test', 'native', 'sgtarget.c')]);
}, 120_000);

afterEach(async () => {
  for (const p of running) p.kill('SIGKILL');
  await Promise.allSettled(running);
  running = [];
});

describe('subhost-go', () => {
  it('copies the bounding set, no_new_privs and the seccomp filters, newest on top; enters the namespaces', async () => {
    const pid = await startTarget(['nnp', '16', '25']);
    const target = statusOf(await readFile(`/proc/${pid}/status`, 'utf8'));
    expect(target).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(target).toMatch(/^Seccomp_filters:\s+2$/m);
    const r = await execa(
      SG,
      [
        String(pid),
        '--',
        'sh',
        '-c',
        'grep -E "^(CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status; hostname; echo "pid=$$"; keyctl show',
      ],
      { reject: false, stdin: 'ignore' },
    );
    expect(statusOf(r.stdout)).toBe(target);
    expect(r.stdout).toContain('\nsgt\n');
    // In the target's pid namespace (its PID 1 is the target).
    expect(r.stdout).toMatch(/^pid=\d+$/m);
    expect(Number(/^pid=(\d+)$/m.exec(r.stdout)![1])).toBeLessThan(10);
    // EACCES: the newest filter's answer. Installed the other way round, EPERM.
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Permission denied');
    expect(r.stderr).not.toContain('Operation not permitted');
    // The target itself goes on after being inspected.
    expect(await readFile(`/proc/${pid}/status`, 'utf8')).toMatch(/^State:\s+S/m);
  });

  it('a target without seccomp or dropped capabilities: nothing is added', async () => {
    // Our own status: the target of a plain sleep in fresh namespaces.
    const p = execa('unshare', ['-p', '-f', '-u', '--kill-child', 'sleep', '300'], { reject: false });
    running.push(p);
    let pid = 0;
    for (let i = 0; i < 200 && !pid; i++) {
      pid = Number((await readFile(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').catch(() => '')).trim());
      if (!pid) await new Promise((r) => setTimeout(r, 25));
    }
    const target = statusOf(await readFile(`/proc/${pid}/status`, 'utf8'));
    expect(target).toMatch(/^Seccomp:\s+0$/m);
    const r = await execa(SG, [String(pid), 'grep', '-E', '^(CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):', '/proc/self/status'], {
      stdin: 'ignore',
    });
    expect(r.stdout).toBe(target);
  });

  it('on a terminal: the window size is passed on at the start and on SIGWINCH; the terminal is restored', async () => {
    const pid = await startTarget([]);
    const inner = 'stty size; trap "stty size; exit 7" WINCH; echo ready; while :; do sleep 0.05; done';
    // script(1) gives subhost-go a terminal; its stdin stays open until the end.
    const p = execa(
      'script',
      ['-q', '-e', '-c', `stty rows 20 cols 60; tty; stty -g; ${SG} ${pid} -- sh -c '${inner}'; echo "rc=$?"; stty -g`, '/dev/null'],
      { reject: false, buffer: false, stdin: 'pipe' },
    );
    running.push(p);
    let out = '';
    let wake = (): void => {};
    p.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      wake();
    });
    const until = async (re: RegExp) => {
      while (!re.test(out.replace(/\r/g, ''))) {
        if (p.exitCode !== null) throw new Error(`script ended: ${out}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          p.once('exit', resolve);
        });
      }
    };
    await until(/^ready$/m);
    const tty = /^(\/dev\/pts\/\d+)$/m.exec(out.replace(/\r/g, ''))![1]!;
    // Resizing script's terminal signals its foreground process group: subhost-go.
    await execa('stty', ['-F', tty, 'rows', '41', 'cols', '101']);
    await until(/^rc=\d+$/m);
    p.stdin!.end();
    await p;
    const l = out.replace(/\r/g, '').trim().split('\n');
    expect(l.slice(2)).toEqual(['20 60', 'ready', '41 101', 'rc=7', l[1]]);
  });

  it('bad calls: usage (2); a PID that does not exist, a command that does not (125, 127)', async () => {
    let r = await execa(SG, ['x', 'true'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^subhost-go: bad PID 'x'\n\nUsage: subhost-go PID/);
    r = await execa(SG, ['1'], { reject: false });
    expect(r.exitCode).toBe(2);
    r = await execa(SG, ['999999999', 'true'], { reject: false });
    expect(r).toMatchObject({ exitCode: 125, stderr: 'subhost-go: no process 999999999 (is the subhost running?)' });
    const pid = await startTarget([]);
    const n = await execa(SG, [String(pid), '--', '/nonexistent'], { reject: false, stdin: 'ignore' });
    expect(n).toMatchObject({ exitCode: 127, stderr: 'subhost-go: cannot run /nonexistent: No such file or directory' });
  });
});
