// Running a command inside a sandbox with nsenter, without ever leaving a
// process behind.
//
// Why so careful: a process started with nsenter that is stopped, or left as a
// zombie, keeps the sandbox's whole pid namespace from dying (its PID 1 hangs
// in zap_pid_ns_processes) and stop() then hangs. So each run gets its own
// host cgroup leaf (under the sandbox's runs/ cgroup, see cgroup.ts): on timeout, and
// after the command returns, cgroup.kill ends whatever it left (background
// children, setsid'd daemons), and execa always reaps nsenter.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { killCgroup, removeCgroupTree } from './cgroup.js';

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  /** default 60 s; the command and everything it started are SIGKILLed then */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** exit status; 128+N if killed by signal N (like a shell) */
  exitCode: number;
  timedOut: boolean;
}

/** The environment inside: nothing of the test runner's leaks in. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
  SYSTEMD_PAGER: '',
  SYSTEMD_COLORS: '0',
};

let runCounter = 0;

/**
 * Runs argv in all namespaces of `pid` (nsenter -a, plus its root and cwd).
 * `runsCgroup` is the host cgroup dir to create the per-run leaf in.
 */
export async function runInside(pid: number, runsCgroup: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new Error('run: empty argv');
  const leaf = path.join(runsCgroup, `run-${process.pid}-${++runCounter}`);
  await fs.mkdir(leaf);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timedOut = false;
  try {
    // sh moves itself into the leaf, then becomes nsenter; "$0" is the
    // cgroup.procs path, "$@" the nsenter command: no string building.
    const sub = execa(
      'sh',
      ['-c', 'echo $$ > "$0" && exec "$@"', path.join(leaf, 'cgroup.procs'), 'nsenter', '-t', String(pid), '-a', '-r', '-w', '--', ...argv],
      {
        input: opts.input,
        stdin: opts.input === undefined ? 'ignore' : undefined,
        env: { ...BASE_ENV, ...opts.env },
        extendEnv: false,
        reject: false,
        stripFinalNewline: false,
        encoding: 'utf8',
      },
    );
    const timer = setTimeout(() => {
      timedOut = true;
      void killCgroup(leaf);
      // In case sh had not moved itself into the leaf yet.
      sub.kill('SIGKILL');
    }, timeoutMs);
    const res = await sub.finally(() => clearTimeout(timer));
    const signalNo = res.signal ? signalNumber(res.signal) : undefined;
    return {
      stdout: String(res.stdout ?? ''),
      stderr: String(res.stderr ?? ''),
      exitCode: res.exitCode ?? (signalNo !== undefined ? 128 + signalNo : -1),
      timedOut,
    };
  } finally {
    await killCgroup(leaf);
    await removeCgroupTree(leaf);
  }
}

function signalNumber(name: string): number | undefined {
  return (os.constants.signals as Record<string, number>)[name];
}
