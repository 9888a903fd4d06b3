// A real systemd (PID 1 of its own pid namespace) booted on an overlay of the
// host's root, for e2e tests on machines whose PID 1 is not systemd.
//
//   host: node ──execa── sh (joins cgroup payload) ─exec─ unshare -fpmnuiC
//                                                          └─ stage.sh ─exec─ systemd
//
// Namespaces: pid, mount, net (its own veths/bridges/netns names), uts (systemd
// sets the hostname at boot: it must not be the host's), ipc, cgroup (see
// cgroup.ts). Files live in a scratch tmpfs (scratch.ts); the boot target,
// masks and machine id are written into the overlay's upper dir (image.ts).
// Lifecycle is all-or-nothing: if boot fails half-way, everything made so far
// is torn down before the error is thrown.
import { existsSync, writeFileSync, rmdirSync, promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { MessageBus } from 'dbus-next';
import { createScratch, layoutOf, prepareLayout, removeScratch, isMountPoint, sleep, type ScratchLayout } from './scratch.js';
import { prepareImage, SANDBOX_TARGET, type FileSpec } from './image.js';
import { createSandboxCgroup, moveToCgroup, killCgroup, removeCgroupTree, removeCgroupTreeSync, type SandboxCgroup } from './cgroup.js';
import { connectBus, SystemdManager, type JobResult, type Variant } from './systemd-bus.js';
import { runInside, BASE_ENV, type RunOptions, type RunResult } from './exec.js';
import { resolveInside, mkdirParentsInLayer, normalizeInside } from './paths.js';

export { hostLeftovers, type HostLeftovers } from './leftovers.js';
export { variant, SystemdManager, type JobResult, type Variant } from './systemd-bus.js';
export type { RunOptions, RunResult } from './exec.js';
export { DEFAULT_MASKS, SANDBOX_TARGET } from './image.js';

const consoleLogPath = (scratch: string): string => path.join(scratch, 'console.log');
const STAGE = fileURLToPath(new URL('./stage.sh', import.meta.url));
/** glibc's SIGRTMIN is 34; systemd powers off on SIGRTMIN+4. */
const SIGRTMIN_PLUS_4 = 38;

export interface SandboxOptions {
  /** Boot on an existing scratch dir (a "reboot": same upper dir). The sandbox then owns it. */
  scratch?: string;
  /** Extra units to mask (on top of DEFAULT_MASKS). */
  mask?: string[];
  /** Extra units the boot target pulls in. */
  wants?: string[];
  /** Files placed in the upper dir before boot (paths inside the sandbox). */
  files?: Record<string, FileSpec>;
  /** Path inside of a tmpfs for tests' overlay upper dirs. Default /srv/subhosts. */
  dataDir?: string;
  /** Hostname inside. Default obt-sandbox. */
  hostname?: string;
  /** Deadline for SystemState running/degraded. Default 60 s. */
  bootTimeoutMs?: number;
}

export interface StopOptions {
  /** Leave the scratch tmpfs mounted (for reboot()). */
  keepScratch?: boolean;
  /** How long poweroff may take before everything is SIGKILLed. Default 20 s. */
  timeoutMs?: number;
}

export type ExecResult = RunResult;

export interface Sandbox {
  /** Host PID of the sandbox's systemd (PID 1 inside). */
  readonly pid: number;
  /** /proc/PID/root: host-side path of the sandbox's /. Mind absolute symlinks (see paths.ts). */
  readonly root: string;
  readonly scratch: string;
  readonly upper: string;
  readonly busAddress: string;
  readonly bus: MessageBus;
  readonly systemd: SystemdManager;
  /** Path inside of a tmpfs (overlay upper dirs cannot live on the overlay root). */
  readonly dataDir: string;
  /** Milliseconds from spawn to SystemState running/degraded. */
  readonly bootMs: number;
  /** running or degraded, as reached at boot. */
  readonly bootState: string;
  readonly stopped: boolean;

  writeFile(pathInside: string, content: string | Buffer, mode?: number): Promise<void>;
  readFile(pathInside: string): Promise<string>;
  run(argv: string[], opts?: RunOptions): Promise<ExecResult>;
  systemctl(...args: string[]): Promise<ExecResult>;
  journal(unit: string, lines?: number): Promise<string>;
  /** systemd's own console output (stage errors land here too). */
  consoleLog(): Promise<string>;
  /** What was written to /dev/kmsg inside (systemd, generators): the sandbox's kernel log. */
  kmsg(): Promise<string>;

  getManagerProperty(name: string): Promise<unknown>;
  startUnit(name: string, mode?: string): Promise<JobResult>;
  stopUnit(name: string, mode?: string): Promise<JobResult>;
  startTransientUnit(name: string, props: Array<[string, Variant]>, mode?: string): Promise<JobResult>;
  daemonReload(): Promise<void>;
  unitProperty(unit: string, iface: string, prop: string): Promise<unknown>;

  stop(opts?: StopOptions): Promise<void>;
  reboot(): Promise<Sandbox>;
}

const exists = (p: string): Promise<boolean> =>
  fs.access(p).then(
    () => true,
    () => false,
  );

/** Resolves true if `p` settles within `ms`, else false; leaves no timer behind. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    void p.finally(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Sandboxes of this process still alive: killed synchronously if the process exits. */
const live = new Set<SandboxImpl>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Best effort when a test run dies without stop(): kill, detach, clean.
  process.on('exit', () => {
    for (const sb of live) sb.emergencyCleanupSync();
  });
}

class SandboxImpl implements Sandbox {
  bus!: MessageBus;
  systemd!: SystemdManager;
  pid = 0;
  bootMs = 0;
  bootState = '';
  private stopping: Promise<void> | undefined;
  private keepScratchOnStop = false;

  constructor(
    readonly opts: SandboxOptions,
    readonly layout: ScratchLayout,
    readonly cgroup: SandboxCgroup,
    readonly dataDir: string,
    readonly child: StageProcess,
  ) {}

  get root(): string {
    return `/proc/${this.pid}/root`;
  }
  get scratch(): string {
    return this.layout.scratch;
  }
  get upper(): string {
    return this.layout.upper;
  }
  get busAddress(): string {
    return `unix:path=${this.root}/run/dbus/system_bus_socket`;
  }
  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /** Host path of `p` inside, with symlinks resolved inside the sandbox. */
  private async hostPath(p: string): Promise<{ host: string; inside: string }> {
    const inside = await resolveInside([this.root], normalizeInside(p));
    return { host: path.join(this.root, inside), inside };
  }

  async kmsg(): Promise<string> {
    return fs.readFile(path.join(this.scratch, 'kmsg'), 'utf8').catch(() => '');
  }

  async writeFile(pathInside: string, content: string | Buffer, mode?: number): Promise<void> {
    const { host, inside } = await this.hostPath(pathInside);
    await mkdirParentsInLayer([this.root], inside);
    await fs.writeFile(host, content);
    if (mode !== undefined) await fs.chmod(host, mode);
  }

  async readFile(pathInside: string): Promise<string> {
    return fs.readFile((await this.hostPath(pathInside)).host, 'utf8');
  }

  run(argv: string[], opts?: RunOptions): Promise<ExecResult> {
    if (this.stopped) return Promise.reject(new Error('sandbox is stopped'));
    return runInside(this.pid, this.cgroup.runs, argv, opts);
  }

  systemctl(...args: string[]): Promise<ExecResult> {
    return this.run(['systemctl', '--no-pager', ...args]);
  }

  async journal(unit: string, lines = 200): Promise<string> {
    const res = await this.run(['journalctl', '--no-pager', '-o', 'short-monotonic', '-n', String(lines), '-u', unit]);
    return res.stdout + res.stderr;
  }

  consoleLog(): Promise<string> {
    return fs.readFile(consoleLogPath(this.scratch), 'utf8').catch(() => '');
  }

  getManagerProperty(name: string): Promise<unknown> {
    return this.systemd.managerProperty(name);
  }
  startUnit(name: string, mode?: string): Promise<JobResult> {
    return this.systemd.unitJob('StartUnit', name, { mode });
  }
  stopUnit(name: string, mode?: string): Promise<JobResult> {
    return this.systemd.unitJob('StopUnit', name, { mode });
  }
  startTransientUnit(name: string, props: Array<[string, Variant]>, mode?: string): Promise<JobResult> {
    return this.systemd.startTransientUnit(name, props, mode);
  }
  daemonReload(): Promise<void> {
    return this.systemd.daemonReload();
  }
  unitProperty(unit: string, iface: string, prop: string): Promise<unknown> {
    return this.systemd.unitProperty(unit, iface, prop);
  }

  /** Boot steps after spawn; on failure the caller tears down. */
  async boot(started: number, timeoutMs: number): Promise<void> {
    const deadline = started + timeoutMs;
    const exited = (): boolean => this.child.exitCode !== null || this.child.signalCode !== null;
    const check = async (what: string): Promise<void> => {
      if (exited()) throw new Error(`sandbox exited while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`sandbox boot timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(20);
    };

    // The stage (PID 1 inside) is unshare's only child; its host PID stays the
    // same when it execs systemd.
    const unsharePid = this.child.pid!;
    for (;;) {
      const kids = await fs.readFile(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').catch(() => '');
      const first = kids.trim().split(/\s+/)[0];
      if (first) {
        this.pid = Number(first);
        break;
      }
      await check('the sandbox PID');
    }
    // unshare has made the namespaces (cgroup ns root = payload): get it out
    // of the namespace root.
    await moveToCgroup(this.cgroup.supervisor, unsharePid).catch(() => {});

    // comm becomes "systemd" only after the stage's exec, i.e. after
    // pivot_root: before that, /proc/PID/root is still the host's /.
    while ((await fs.readFile(`/proc/${this.pid}/comm`, 'utf8').catch(() => '')).trim() !== 'systemd') {
      await check('systemd to start');
    }
    const socket = `${this.root}/run/dbus/system_bus_socket`;
    while (!(await exists(socket))) await check('the system bus socket');

    this.bus = await connectBus(this.busAddress, Math.max(1000, deadline - Date.now()));
    this.systemd = await SystemdManager.create(this.bus);
    for (;;) {
      const state = String(await this.systemd.managerProperty('SystemState'));
      if (state === 'running' || state === 'degraded') {
        this.bootState = state;
        break;
      }
      if (state === 'maintenance' || state === 'stopping' || state === 'offline') {
        throw new Error(`sandbox SystemState is ${state}`);
      }
      await check(`SystemState running (now ${state})`);
    }
    this.bootMs = Date.now() - started;
  }

  stop(opts: StopOptions = {}): Promise<void> {
    if (!this.stopping) {
      this.keepScratchOnStop = opts.keepScratch ?? false;
      this.stopping = this.teardown(opts.timeoutMs ?? 20_000);
    }
    return this.stopping;
  }

  private async teardown(timeoutMs: number): Promise<void> {
    try {
      if (this.systemd) this.systemd.close();
      else this.bus?.disconnect();
    } catch {
      /* already gone */
    }
    const childDone = this.child.then(
      () => true,
      () => true,
    );
    const exited = (): boolean => this.child.exitCode !== null || this.child.signalCode !== null;
    // Graceful poweroff only makes sense once systemd runs: a signal without
    // a handler sent to a pid namespace's init is dropped by the kernel, so
    // the stage (sh) would ignore it, and so would systemd before it has set
    // up its handlers: resend until it goes.
    const isSystemd = async (): Promise<boolean> =>
      this.pid > 0 && (await fs.readFile(`/proc/${this.pid}/comm`, 'utf8').catch(() => '')).trim() === 'systemd';
    let clean = exited();
    if (!clean && (await isSystemd())) {
      const deadline = Date.now() + timeoutMs;
      while (!clean && Date.now() < deadline) {
        try {
          process.kill(this.pid, SIGRTMIN_PLUS_4); // poweroff
        } catch {
          /* already gone */
        }
        clean = await settlesWithin(childDone, Math.min(2000, deadline - Date.now()));
      }
    }
    // Not down in time, or not even systemd yet: SIGKILL the sandbox's PID 1;
    // the kernel then kills the whole pid namespace and unshare reaps it.
    // Not cgroup.kill first: it would also kill unshare, and PID 1 would
    // stay a zombie of the host's init (which may reap it late).
    if (!clean && this.pid > 0) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      clean = await settlesWithin(childDone, 10_000);
    }
    // Whatever is left (a run() leaf, or everything if the above failed).
    await killCgroup(this.cgroup.dir);
    await childDone;
    for (let i = 0; i < 100 && this.pid > 0 && (await exists(`/proc/${this.pid}`)); i++) await sleep(50);
    await removeCgroupTree(this.cgroup.dir);
    if (!this.keepScratchOnStop) await removeScratch(this.scratch);
    live.delete(this);
  }

  async reboot(): Promise<Sandbox> {
    await this.stop({ keepScratch: true });
    const { files: _files, ...rest } = this.opts;
    return bootSandbox({ ...rest, scratch: this.scratch });
  }

  /** Synchronous last resort from process.on('exit'): no graceful poweroff possible. */
  emergencyCleanupSync(): void {
    const ignore = (f: () => void): void => {
      try {
        f();
      } catch {
        /* best effort */
      }
    };
    // PID 1 first (the pid namespace dies with it and unshare reaps it), then
    // anything else in the cgroup.
    const pause = (ms: number): void => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    };
    if (this.pid > 0) {
      ignore(() => process.kill(this.pid, 'SIGKILL'));
      // Let unshare reap it (a zombie left to the host's init may linger).
      for (let i = 0; i < 40 && existsSync(`/proc/${this.pid}`); i++) pause(50);
    }
    ignore(() => writeFileSync(path.join(this.cgroup.dir, 'cgroup.kill'), '1'));
    ignore(() => execFileSync('umount', ['-l', this.scratch], { stdio: 'ignore' }));
    ignore(() => rmdirSync(this.scratch));
    // Cgroup dirs can only be removed once empty: give the kernel a moment.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      try {
        removeCgroupTreeSync(this.cgroup.dir);
        return;
      } catch {
        pause(50);
      }
    }
  }
}

/** Starts unshare + stage.sh; the returned subprocess is unshare (sh execs it). */
function spawnStage(layout: ScratchLayout, cgroup: SandboxCgroup, dataDir: string) {
  // "$0" is the payload cgroup.procs: the process that unshares the cgroup ns
  // must already be in the cgroup that becomes the namespace's root.
  return execa(
    'sh',
    [
      '-c',
      'echo $$ > "$0" && exec "$@"',
      path.join(cgroup.payload, 'cgroup.procs'),
      'unshare',
      '-fpmnuiC',
      '--propagation',
      'private',
      '--',
      'sh',
      STAGE,
      layout.scratch,
      dataDir,
      SANDBOX_TARGET,
      consoleLogPath(layout.scratch),
    ],
    {
      // Only sh and unshare themselves write here (errors before the stage
      // runs); the stage moves its and systemd's output to console.log.
      stdin: 'ignore',
      all: true,
      env: { PATH: BASE_ENV.PATH!, LANG: 'C.UTF-8' },
      extendEnv: false,
      reject: false,
      // Own process group: a Ctrl-C meant for the test runner must not hit
      // unshare before stop() can power off cleanly.
      detached: true,
      cleanup: false,
    },
  );
}
type StageProcess = ReturnType<typeof spawnStage>;

/** Boots a sandbox and waits for SystemState running or degraded. */
export async function bootSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const started = Date.now();
  const dataDir = normalizeInside(opts.dataDir ?? '/srv/subhosts');
  installExitHook();

  let layout: ScratchLayout;
  if (opts.scratch) {
    if (!(await isMountPoint(opts.scratch))) throw new Error(`scratch is not a mount point: ${opts.scratch}`);
    layout = layoutOf(opts.scratch);
    await prepareLayout(layout);
  } else {
    layout = await createScratch();
  }

  let cgroup: SandboxCgroup | undefined;
  let sb: SandboxImpl | undefined;
  try {
    await prepareImage(layout.upper, opts);
    cgroup = await createSandboxCgroup();

    const child = spawnStage(layout, cgroup, dataDir);
    sb = new SandboxImpl(opts, layout, cgroup, dataDir, child);
    live.add(sb);
    await sb.boot(started, opts.bootTimeoutMs ?? 60_000);
    return sb;
  } catch (err) {
    let log = sb ? await sb.consoleLog() : '';
    if (sb?.systemd) {
      // Booted far enough to ask systemd what it is waiting for.
      for (const args of [['list-jobs'], ['list-units', '--failed']]) {
        const res = await sb.run(['systemctl', '--no-pager', ...args], { timeoutMs: 5000 }).catch(() => undefined);
        if (res) log += `\n--- systemctl ${args.join(' ')} ---\n${res.stdout}${res.stderr}`;
      }
    }
    if (sb) {
      await sb.stop().catch(() => {});
      const res = await sb.child;
      if (res.all) log += `\n--- unshare ---\n${String(res.all)}`;
    } else {
      if (cgroup) await removeCgroupTree(cgroup.dir).catch(() => {});
      await removeScratch(layout.scratch).catch(() => {});
    }
    const tail = log.split('\n').slice(-60).join('\n');
    const e = new Error(`${(err as Error).message}${tail ? `\n--- sandbox console (tail) ---\n${tail}` : ''}`);
    (e as Error & { cause?: unknown }).cause = err;
    throw e;
  }
}
