// Shared harness for the native tests: builds native/ and runs shell
// scenarios as root in throwaway namespaces, so that real mounts, real
// pivot_root and real pid namespaces can be used without touching the host.
//
// Each scenario runs as
//   unshare -m -n -p -f --mount-proc --propagation private tinit LOG sh -e s.sh
// The private mount namespace stands in for the one subhost-enter makes
// in the unit (it makes none when not in PID 1's), the network namespace for
// NetworkNamespacePath=. tinit is PID 1 of a test pid namespace: the started
// subhost's reaper is orphaned to it, it logs the reaper's exit status, and
// when the scenario ends the kernel kills whatever is left in there.

import { execa } from 'execa';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, expect } from 'vitest';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = join(REPO, 'native', 'build');
export const SE = join(BUILD, 'subhost-enter');
export const REAPER = join(BUILD, 'reaper');
const TINIT = join(BUILD, 'test', 'tinit');

// Mark everything this test process creates (temp dirs, subhost names), so
// leftovers can be told apart from those of anybody else working on the host
// at the same time.
export const TAG = `ob-native-${process.pid}-`;
export const NAME = `obn${process.pid}`;

export async function buildNative(): Promise<void> {
  await execa('make', ['-C', join(REPO, 'native')]);
  await mkdir(dirname(TINIT), { recursive: true });
  await execa('gcc', ['-O', '-Wall', '-Wextra', '-Werror', '-o', TINIT, join(REPO, 'test', 'native', 'tinit.c')]);
}

export interface RunResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** key=value lines of stdout */
  kv: Record<string, string>;
  /** processes reaped by tinit (i.e. orphans such as the reaper): pid -> "exit N" | "signal N" */
  reaped: Map<number, string>;
  ms: number;
}

export class Scenario {
  readonly root: string;
  readonly out: string;
  /** mount points the base root has inside, after pivot_root */
  readonly expectedMounts: string[] = ['/', '/usr'];
  private readonly baseOps: string[];

  private constructor(readonly dir: string) {
    this.root = join(dir, 'root');
    this.out = join(dir, 'out');
    const R = this.root;
    const ops = [`mount tmpfs tmpfs ${R} - mode=755,size=16m`, `mkdir ${R}/usr 755`, `mount - /usr ${R}/usr bind,ro -`];
    // Bind the host's programs instead of shipping a busybox: nothing to
    // install, and it works on merged-/usr hosts (symlinks) and others.
    for (const d of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
      const host = `/${d}`;
      if (!existsSync(host)) continue;
      if (lstatSync(host).isSymbolicLink()) {
        ops.push(`symlink ${readlinkSync(host)} ${R}/${d}`);
      } else {
        ops.push(`mkdir ${R}/${d} 755`, `mount - ${host} ${R}/${d} bind,ro -`);
        this.expectedMounts.push(host);
      }
    }
    ops.push(
      `mkdir ${R}/dev 755`,
      `mknod ${R}/dev/null 666 c 1 3 0 0`,
      `mkdir ${R}/proc 555`,
      `mkdir ${R}/out 755`,
      `mount - ${this.out} ${R}/out bind -`,
      `install-if-missing ${REAPER} ${R}/.reaper 755`,
    );
    this.expectedMounts.push('/out', '/proc');
    this.baseOps = ops;
  }

  static async create(): Promise<Scenario> {
    const dir = await mkdtemp(join(tmpdir(), TAG));
    if (/\s/.test(dir)) throw new Error(`tmpdir with blanks: ${dir}`);
    await mkdir(join(dir, 'root'));
    await mkdir(join(dir, 'out', 'bin'), { recursive: true });
    return new Scenario(dir);
  }

  /** A file in the subhost's /out (visible inside and outside). */
  async writeOut(name: string, text: string, mode = 0o644): Promise<void> {
    await writeFile(join(this.out, name), text, { mode });
  }

  readOut(name: string): string {
    return readFileSync(join(this.out, name), 'utf8');
  }

  hasOut(name: string): boolean {
    return existsSync(join(this.out, name));
  }

  /**
   * Run a sh script inside fresh namespaces. Available variables:
   * SE, REAPER, D (scenario dir), R (root mount point), OUT (host side of
   * /out), BASE (ops building a minimal root in R); function
   * `waitfor SECS CMD...` polls CMD until it succeeds.
   */
  async run(script: string, timeoutMs = 20_000): Promise<RunResult> {
    const preamble = [
      `SE=${SE}`,
      `REAPER=${REAPER}`,
      `D=${this.dir}`,
      `R=${this.root}`,
      `OUT=${this.out}`,
      `BASE="${this.baseOps.join(' ')}"`,
      // This throwaway mount namespace is the unit's own: subhost-enter makes
      // none of its own (its mounts stay for the scenario's later steps).
      'export OVERLAY_BOOT_MNTNS=$(stat -L -c %i /proc/self/ns/mnt)',
      'waitfor() { _n=$(($1 * 20)); shift; while ! "$@" 2>/dev/null; do ' +
        '_n=$((_n - 1)); [ $_n -gt 0 ] || return 1; sleep 0.05; done; }',
      '',
    ].join('\n');
    const file = join(this.dir, 's.sh');
    await writeFile(file, preamble + script);
    const log = join(this.dir, 'reaped.log');
    const t0 = Date.now();
    const r = await execa(
      'unshare',
      ['-m', '-n', '-p', '-f', '--mount-proc', '--propagation', 'private', TINIT, log, '/bin/sh', '-e', file],
      {
        reject: false,
        timeout: timeoutMs,
        extendEnv: false,
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      },
    );
    const ms = Date.now() - t0;
    const kv: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^([\w.-]+)=(.*)$/.exec(line);
      if (m) kv[m[1]!] = m[2]!;
    }
    const reaped = new Map<number, string>();
    if (existsSync(log)) {
      for (const line of (await readFile(log, 'utf8')).split('\n')) {
        const m = /^(\d+) (.*)$/.exec(line);
        if (m) reaped.set(Number(m[1]), m[2]!);
      }
    }
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, kv, reaped, ms };
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Host mounts that involve this test process's temp dirs. */
export function ourHostMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(TAG));
}

/** Host processes whose command line mentions this suite's temp dirs or names. */
export function leftoverProcesses(): string[] {
  const found: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmd.includes(TAG) || cmd.includes(NAME)) found.push(`${p}: ${cmd}`);
  }
  return found;
}

/**
 * Hooks for a native test file: build first, clean up each scenario's
 * directory, and check after each test that no mount of ours shows on the
 * host and no process of ours is left. (Whole-mountinfo comparisons are
 * useless here: other people's tests mount things on this host meanwhile.)
 * Returns the scenario factory.
 */
export function nativeSuite(): () => Promise<Scenario> {
  const scenarios: Scenario[] = [];
  beforeAll(async () => {
    await buildNative();
  });
  afterEach(async () => {
    expect(ourHostMounts()).toEqual([]);
    expect(leftoverProcesses()).toEqual([]);
    while (scenarios.length) await scenarios.pop()!.cleanup();
  });
  return async () => {
    const s = await Scenario.create();
    scenarios.push(s);
    return s;
  };
}
