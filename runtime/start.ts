// ExecStart of subhost@NAME.service: everything 1.6's overlay-boot did
// after `unshare -m`, in the private mount namespace systemd made for us
// (PrivateMounts=yes) and inside the subhost's netns
// (NetworkNamespacePath=). Node.js decides; the native helper
// subhost-enter performs the mounts, makes the pid/ipc/uts/time/mount
// namespaces, pivots into LIVE and execs the init, then exits once the
// reaper reports ready. Nothing of Node stays behind.
//
// A failure anywhere leaves nothing: every mount lives in this unit's
// mount namespace, which dies with our processes; UPPER is only written
// by PREMOUNT (a missing /etc/network/interfaces) and `.reaper`.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { SubhostConfig } from '../lib/config/fields.js';
import { defaultHooks } from '../lib/config/load.js';
import { libDir } from '../lib/paths.js';
import { RuntimeError } from './load.js';
import { overlayOps, postmountOps, reaperOps, shareOps, type HostFacts } from './plan.js';
import { opsToArgv, type Op } from './ops.js';
import { initScript } from './init-script.js';
import { absentBefore, undoCreated } from './undo.js';

const hookEnv = (c: SubhostConfig) => ({ CONFIG: c.CONFIG, ACTION: 'overlay-boot' });

function ttyGid(): number {
  const m = /^tty:[^:]*:(\d+):/m.exec(readFileSync('/etc/group', 'utf8'));
  return m ? Number(m[1]) : 5;
}

/** Mount points of this (the unit's) mount namespace. */
function mountPoints(): Set<string> {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return new Set(
    readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => unescape(l.split(' ')[4]!)),
  );
}

/** 1.6's default PREMOUNT: give the subhost its own /etc/network/interfaces when it has none. */
export function interfacesFile(c: SubhostConfig): string {
  const lines = [`# Generated for ${c.NAME} subhost`, 'auto lo', 'iface lo inet loopback'];
  for (const cable of c.CABLES) {
    if (cable.kind === 'veth') lines.push('', `auto ${cable.peerIf}`, `iface ${cable.peerIf} inet manual`);
  }
  return lines.join('\n') + '\n';
}

function defaultPremount(c: SubhostConfig): void {
  const f = `${c.UPPER}/etc/network/interfaces`;
  if (existsSync(f)) return;
  mkdirSync(`${c.UPPER}/etc/network`, { recursive: true });
  writeFileSync(f, interfacesFile(c), { flag: 'wx', mode: 0o644 });
}

async function runHook(c: SubhostConfig, argv: string[], extra: string[]): Promise<string> {
  const r = await execa(argv[0]!, [...argv.slice(1), ...extra], {
    env: hookEnv(c), cwd: c.BASE, stdin: 'ignore', stderr: 'inherit', reject: false,
  });
  if (r.exitCode !== 0) throw new RuntimeError(`${argv.join(' ')} failed (exit status ${r.exitCode ?? r.signal})`);
  return r.stdout;
}

async function helper(argv: string[]): Promise<void> {
  const r = await execa(`${libDir()}/subhost-enter`, argv, { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) throw new RuntimeError(`subhost-enter failed (exit status ${r.exitCode ?? r.signal})`);
}

export async function start(c: SubhostConfig, pidfile: string): Promise<void> {
  // UPPER === LOWER === LIVE: the tree is used in place; nothing to undo.
  const absent = c.UPPER === c.LIVE ? [] : absentBefore(c);
  try {
    await setUp(c, pidfile);
  } catch (e) {
    const removed = undoCreated(absent);
    if (removed.length) process.stderr.write(`start failed: removed what it had added to UPPER: ${removed.join(' ')}\n`);
    throw e;
  }
}

async function setUp(c: SubhostConfig, pidfile: string): Promise<void> {
  const hooks = defaultHooks();
  const isDefault = (k: 'PREMOUNT' | 'POSTMOUNT' | 'INIT') => c[k].length === 1 && c[k][0] === hooks[k];

  if (mountPoints().has(c.LIVE)) throw new RuntimeError(`LIVE ${c.LIVE} already has a mount (mounted by hand, or in use by another subhost)`);

  // PREMOUNT runs before the overlay, on UPPER (not when LIVE is UPPER).
  if (!(c.UPPER === c.LOWER && c.LIVE === c.UPPER)) {
    if (isDefault('PREMOUNT')) defaultPremount(c);
    else await runHook(c, c.PREMOUNT, [c.UPPER]);
  }

  const facts: HostFacts = {
    ttyGid: ttyGid(),
    reaper: `${libDir()}/reaper`,
    adjtime: existsSync('/etc/adjtime'),
    liveAdjtime: false, // decided after the overlay is mounted, see below
  };
  let ops: Op[] = overlayOps(c);
  if (!isDefault('POSTMOUNT')) {
    // A custom POSTMOUNT must see the mounted overlay: mount it first.
    if (ops.length) await helper(opsToArgv(ops));
    await runHook(c, c.POSTMOUNT, [c.LIVE, c.UPPER]);
    ops = [];
  } else {
    // /etc/adjtime inside is only known once LIVE shows LOWER+UPPER.
    facts.liveAdjtime = existsSync(`${c.UPPER}/etc/adjtime`) || existsSync(`${c.LOWER}/etc/adjtime`);
    ops.push(...postmountOps(c, facts));
  }
  ops.push(...shareOps(c), ...reaperOps(c, facts));

  const script = isDefault('INIT') ? initScript(c) : await runHook(c, c.INIT, []);
  const enter = ['enter', '--hostname', c.NAME, '--pidfile', pidfile];
  // Readiness comes from our reaper; a custom REAPER cannot report it.
  if (c.REAPER !== '/.reaper') enter.push('--no-wait');
  await helper([...opsToArgv(ops), ...enter, c.LIVE, '--', '/bin/sh', '-c', script, `init-${c.NAME}`]);
}
