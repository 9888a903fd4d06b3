// Shared e2e helpers: install the build tree's units into a sandbox
// systemd, make subhost directories and configs inside it, look inside a
// running subhost, and count what a subhost could leave behind.
import { execa } from 'execa';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import type { Sandbox, SandboxOptions } from '../sandbox/sandbox.js';
import { useSandbox, type SandboxHandle } from '../sandbox/vitest.js';

// The source tree (OVERLAY_BOOT_SRC when this file is bundled elsewhere, as by scripts/demo.sh).
export const ROOT = process.env.OVERLAY_BOOT_SRC ?? new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
export const DIST = join(ROOT, 'dist');
const UNIT = 'org.freedesktop.systemd1.Unit';
const SERVICE = 'org.freedesktop.systemd1.Service';

/** Where installUnits() puts the package inside a sandbox: where the .deb does. */
export const LIBDIR = '/usr/lib/overlay-boot';

/**
 * Install the build tree into a sandbox the way the package does
 * (scripts/install.sh with DESTDIR at the sandbox's root): bundles and
 * helpers in /usr/lib/overlay-boot, units, the generator, /usr/sbin links.
 * Copying (rather than pointing units at this tree) works wherever the
 * tree is, even under /tmp, which the sandbox mounts over.
 */
export async function installUnits(sb: Sandbox): Promise<void> {
  const r = await execa(join(ROOT, 'scripts/install.sh'), [], { env: { DESTDIR: sb.root }, reject: false });
  if (r.exitCode !== 0) throw new Error(`install.sh: ${r.stderr}`);
  await sb.daemonReload();
}

export interface SubhostDir {
  name: string;
  base: string;
  conf: string;
}

/** A subhost dir under the sandbox's tmpfs with root/work/live and NAME.conf. */
export async function makeSubhost(
  sb: Sandbox,
  name: string,
  conf: string,
  opts: { dirs?: string[]; confName?: string } = {},
): Promise<SubhostDir> {
  const base = `${sb.dataDir}/${name}`;
  const dirs = opts.dirs ?? ['root', 'work', 'live'];
  const r = await sb.run(['mkdir', '-p', base, ...dirs.map((d) => `${base}/${d}`)]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  const confPath = `${base}/${opts.confName ?? `${name}.conf`}`;
  await sb.writeFile(confPath, conf, 0o644);
  return { name, base, conf: confPath };
}

/** Register configs in the sandbox's /etc/subhosts.conf (as 1.6 did). */
export async function register(sb: Sandbox, ...confs: string[]): Promise<void> {
  await sb.writeFile('/etc/subhosts.conf', `# test\n${confs.join('\n')}\n`);
}

export async function prop(sb: Sandbox, unit: string, name: string, iface = UNIT): Promise<unknown> {
  return sb.unitProperty(unit, iface, name);
}

export async function mainPid(sb: Sandbox, name: string): Promise<number> {
  return Number(await sb.unitProperty(`subhost@${name}.service`, SERVICE, 'MainPID'));
}

export async function state(sb: Sandbox, unit: string): Promise<string> {
  return String(await sb.unitProperty(unit, UNIT, 'ActiveState'));
}

/** Run a command inside running subhost NAME (all its namespaces, its root). */
export async function inside(sb: Sandbox, name: string, argv: string[]) {
  const pid = await mainPid(sb, name);
  if (!pid) throw new Error(`subhost ${name} has no MainPID`);
  return sb.run(['nsenter', '-t', String(pid), '-a', ...argv]);
}

export interface Counts {
  mounts: number;
  netns: string;
  links: string;
  subhostProcs: number;
}

/** What a subhost could leave behind, as seen in the sandbox's own namespaces. */
export async function counts(sb: Sandbox): Promise<Counts> {
  // ip(8) makes /run/netns a mount point of its own the first time (once
  // per boot, not per subhost): not counted. Each netns is a mount there.
  const mounts = (await sb.run(['cat', '/proc/1/mountinfo'])).stdout
    .split('\n')
    .filter((l) => l && l.split(' ')[4] !== '/run/netns').length;
  const netns = (await sb.run(['ip', 'netns', 'list'])).stdout.trim();
  const links = (await sb.run(['ip', '-o', 'link', 'show'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0])
    .sort()
    .join(' ');
  const procs = (await sb.run(['sh', '-c', 'cat /sys/fs/cgroup/subhost.slice/*/cgroup.procs 2>/dev/null | wc -l'])).stdout.trim();
  return { mounts, netns, links, subhostProcs: Number(procs) };
}

export async function journalOf(sb: Sandbox, unit: string): Promise<string> {
  return sb.journal(unit, 200);
}

/** Stop subhost NAME and wait until its netns unit is gone too (it stops right after). */
export async function stopSubhost(sb: Sandbox, name: string): Promise<string> {
  const r = await sb.stopUnit(`subhost@${name}.service`);
  await waitGone(sb, name);
  return r;
}

/** Wait until subhost NAME and its netns unit are inactive or failed. */
export async function waitGone(sb: Sandbox, name: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const a = await state(sb, `subhost@${name}.service`);
    const b = await state(sb, `subhost-netns@${name}.service`);
    if (['inactive', 'failed'].includes(a) && ['inactive', 'failed'].includes(b)) return;
    if (Date.now() > end) throw new Error(`subhost ${name} did not stop: ${a}, netns ${b}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One sandbox for the test file with the package installed, and the
 * counts a test must leave as it found them (taken after one netns was
 * made and removed, so that ip(8)'s one-time /run/netns mount exists).
 */
export function useInstalledSandbox(opts?: SandboxOptions): { sandbox: SandboxHandle; clean: () => Counts } {
  const sandbox = useSandbox(opts);
  let clean: Counts | undefined;
  beforeAll(async () => {
    await installUnits(sandbox());
    await sandbox().run(['sh', '-c', 'ip netns add warmup && ip netns delete warmup']);
    clean = await counts(sandbox());
  });
  return {
    sandbox,
    clean: () => {
      if (!clean) throw new Error('sandbox not set up yet');
      return clean;
    },
  };
}

/** A command's stdout, or an error with its exit status and output. */
export async function ok(p: Promise<{ exitCode?: number; stdout: string; stderr: string }>, what = 'command'): Promise<string> {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Wait (not a timed assertion: only a deadline against hanging) until `probe` holds. */
export async function until(what: string, probe: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A process's capability bounding set and seccomp mode, from its /proc status. */
export function containmentOf(status: string): { sysAdmin: boolean; seccomp: number } {
  const capBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  const seccomp = /^Seccomp:\s*(\d)$/m.exec(status);
  if (!capBnd || !seccomp) throw new Error(`no CapBnd/Seccomp in:\n${status}`);
  const CAP_SYS_ADMIN = 21n;
  return { sysAdmin: ((BigInt(`0x${capBnd[1]}`) >> CAP_SYS_ADMIN) & 1n) === 1n, seccomp: Number(seccomp[1]) };
}

/** ssh as root to ADDR with KEY, non-interactive, trusting the fresh host key: one remote command line. */
export function sshArgv(key: string, addr: string, command: string): string[] {
  const opts = ['BatchMode=yes', 'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR', 'ConnectTimeout=20'];
  return ['ssh', '-i', key, ...opts.flatMap((o) => ['-o', o]), `root@${addr}`, command];
}

/** Start subhost NAME; on failure, an error carrying both units' journal lines. */
export async function startOk(sb: Sandbox, name: string): Promise<void> {
  const r = await sb.startUnit(`subhost@${name}.service`);
  if (r !== 'done') {
    throw new Error(
      `start ${name}: ${r}\n${await journalOf(sb, `subhost@${name}.service`)}\n${await journalOf(sb, `subhost-netns@${name}.service`)}`,
    );
  }
}

/** A shell script run in the sandbox (sh -e); its stdout, or an error with its stderr. */
export async function sh(sb: Sandbox, script: string): Promise<string> {
  const r = await sb.run(['sh', '-ec', script]);
  if (r.exitCode !== 0) throw new Error(`${script}\n-> exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}
