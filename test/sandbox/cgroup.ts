// Each sandbox gets its own subtree of the host's cgroup2 hierarchy:
//
//   <cgroup2 mount>/obt-sandbox-XXXX/          (kill switch: cgroup.kill)
//   <cgroup2 mount>/obt-sandbox-XXXX/payload/  root of the sandbox's cgroup ns:
//                                              its systemd and all it starts
//   <cgroup2 mount>/obt-sandbox-XXXX/supervisor/  unshare (outside the namespace)
//   <cgroup2 mount>/obt-sandbox-XXXX/runs/run-N/   one leaf per nsenter'd command
//
// Why: there is only one cgroup2 hierarchy per kernel. Without a cgroup
// namespace the sandbox's systemd would see the hierarchy's root and create
// /init.scope and /system.slice there, next to (and fighting with) those of any
// other sandbox running at the same time, e.g. another engineer's test run.
// supervisor/ and runs/ keep processes that are not the sandbox's own out of
// the namespace root (cgroup2 forbids processes in inner nodes once controllers
// are enabled below them), while one write to the top cgroup.kill still ends
// everything.
import { promises as fs, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { unescapeMountPath, sleep } from './scratch.js';

export const CGROUP_PREFIX = 'obt-sandbox-';

export interface SandboxCgroup {
  /** Host path of the sandbox's subtree. */
  dir: string;
  /** Namespace root, for the process that runs unshare -C. */
  payload: string;
  /** For unshare itself once it has made the namespaces. */
  supervisor: string;
  /** Parent of the per-command leaves of run(). */
  runs: string;
}

/** Where the host mounts its cgroup2 hierarchy (/sys/fs/cgroup or .../unified). */
export async function hostCgroup2Mount(): Promise<string> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'cgroup2' && pre) {
      return unescapeMountPath(pre.split(' ')[4]!);
    }
  }
  throw new Error('no cgroup2 hierarchy mounted on the host');
}

export async function createSandboxCgroup(): Promise<SandboxCgroup> {
  const base = await hostCgroup2Mount();
  const dir = path.join(base, CGROUP_PREFIX + randomBytes(6).toString('hex'));
  await fs.mkdir(dir);
  const cg = {
    dir,
    payload: path.join(dir, 'payload'),
    supervisor: path.join(dir, 'supervisor'),
    runs: path.join(dir, 'runs'),
  };
  await fs.mkdir(cg.payload);
  await fs.mkdir(cg.supervisor);
  await fs.mkdir(cg.runs);
  return cg;
}

export async function moveToCgroup(cgroupDir: string, pid: number): Promise<void> {
  await fs.writeFile(path.join(cgroupDir, 'cgroup.procs'), String(pid));
}

async function populated(dir: string): Promise<boolean> {
  try {
    const events = await fs.readFile(path.join(dir, 'cgroup.events'), 'utf8');
    return /^populated 1$/m.test(events);
  } catch {
    return false;
  }
}

/** SIGKILLs every process in the subtree (kernel >= 5.14) and waits until it is empty. */
export async function killCgroup(dir: string, timeoutMs = 10_000): Promise<boolean> {
  await fs.writeFile(path.join(dir, 'cgroup.kill'), '1').catch(() => {});
  const deadline = Date.now() + timeoutMs;
  while (await populated(dir)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Removes the subtree, children first (cgroupfs rmdir is not recursive). */
export async function removeCgroupTree(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (e.isDirectory()) await removeCgroupTree(path.join(dir, e.name));
  }
  // A cgroup whose last process just died can stay busy for a moment.
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw err;
      await sleep(50);
    }
  }
}

/** Synchronous variant for process.on('exit'); throws if something is still busy. */
export function removeCgroupTreeSync(dir: string): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (e.isDirectory()) removeCgroupTreeSync(path.join(dir, e.name));
  }
  rmdirSync(dir);
}
