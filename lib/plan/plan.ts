// What starting a subhost does, computed from its resolved config:
// the overlay mount, the default POSTMOUNT of 1.6 (a fresh /dev, devpts,
// sysfs, a /run tmpfs, /etc/adjtime), the SHARE binds and the reaper.
// Pure: the caller supplies the few facts about the host it needs.
import { readFileSync } from 'node:fs';
import type { SubhostConfig } from '../config/fields.js';
import { HOOKS } from '../config/variables.js';
import { libDir, UNDO_DIR } from '../paths.js';
import { writeFileAtomic } from '../atomic-write.js';
import { mkdirP, opsToArgv, type Op } from './ops.js';
import { initScript } from './init-script.js';

export interface HostFacts {
  /** gid of group tty on the host (1.6: chown root:tty). */
  ttyGid: number;
  /** The package's reaper binary. */
  reaper: string;
  /** The package's console and syslog relay (native/relay.c). */
  relay: string;
}

/**
 * What must hold at start time, checked again at every start because a
 * plan may be reused (directories can vanish, something can be mounted
 * on LIVE): same messages as the config checks.
 */
export function checkOps(c: SubhostConfig): Op[] {
  const dir = (key: string, path: string): Op => ['require-dir', path, `${c.CONFIG}: ${key}: ${path} is not a directory`];
  const ops: Op[] = [dir('BASE', c.BASE), dir('LIVE', c.LIVE), dir('UPPER', c.UPPER), dir('LOWER', c.LOWER)];
  if (c.UPPER !== c.LOWER) ops.push(dir('WORK', c.WORK));
  for (const s of c.SHARE) ops.push(['require-dir', s.host, `${c.CONFIG}:${s.line}: SHARE: host directory ${s.host} does not exist`]);
  // A tree used in place may be a mount point of its own (an image a
  // !command mounted): it is bound onto itself, hiding nothing.
  if (!inPlace(c))
    ops.push(['refuse-mountpoint', c.LIVE, `LIVE ${c.LIVE} already has a mount (mounted by hand, or in use by another subhost)`]);
  // The unit's fence (its drop-ins) must be the one the config asks for.
  ops.push(['check-containment', c.CONTAINMENT]);
  return ops;
}

/**
 * One owner per UPPER, WORK and LIVE (native/lock.c): each locked by what
 * it is, not by its path, before anything is written, and then no overlay
 * of another mount namespace (1.6, by hand) may use them either. LOWER is
 * only read, and shared (LOWER=/ for most).
 */
export function lockOps(c: SubhostConfig, foreign = true): Op[] {
  const ops: Op[] = [['lock', c.NAME, 'UPPER', c.UPPER]];
  if (c.UPPER !== c.LOWER) ops.push(['lock', c.NAME, 'WORK', c.WORK]);
  ops.push(['lock', c.NAME, 'LIVE', c.LIVE]);
  // Looked for before this start mounts anything (`foreign` false: later,
  // when the overlay this start made may be mounted already).
  if (foreign) ops.push(['refuse-foreign-mounts']);
  return ops;
}

/** LIVE = UPPER = LOWER: the tree is the subhost's root as it is. */
export function inPlace(c: SubhostConfig): boolean {
  return c.UPPER === c.LOWER && c.LIVE === c.UPPER;
}

/** 1.6's default PREMOUNT: give the subhost its own /etc/network/interfaces when it has none. */
export function interfacesFile(c: SubhostConfig): string {
  const lines = [`# Generated for ${c.NAME} subhost`, 'auto lo', 'iface lo inet loopback'];
  for (const cable of c.CABLES) {
    if (cable.kind === 'veth') lines.push('', `auto ${cable.peerIf}`, `iface ${cable.peerIf} inet manual`);
  }
  return `${lines.join('\n')}\n`;
}

/** The default PREMOUNT as an op (on UPPER, before the overlay; not when LIVE is UPPER is LOWER). */
export function premountOps(c: SubhostConfig): Op[] {
  if (inPlace(c)) return [];
  return [['write-if-missing', `${c.UPPER}/etc/network/interfaces`, '644', interfacesFile(c)]];
}

/**
 * CONTAINMENT=private-users: the subhost's user namespace and id range
 * (native/userns.c); from this op on, what the helper makes belongs to
 * root inside, so it comes after the steps that write UPPER itself and
 * first in every helper run that makes something under LIVE.
 */
export function privateUsersOps(c: SubhostConfig): Op[] {
  return c.CONTAINMENT === 'private-users' ? [['private-users', c.NAME]] : [];
}

/** The overlay (or bind) mount of LOWER+UPPER on LIVE, as 1.6's setup_overlay. */
export function overlayOps(c: SubhostConfig): Op[] {
  if (c.CONTAINMENT === 'private-users') {
    // The same mounts, of layers seen through the subhost's id map
    // (native/userns.c): on-disk owners stay what they are without one.
    if (c.UPPER !== c.LOWER) return [['overlay-idmapped', c.LOWER, c.UPPER, c.WORK, c.LIVE]];
    if (c.LIVE !== c.UPPER) return [['bind-idmapped', c.UPPER, c.LIVE, '-']];
    return [['bind-idmapped', c.LIVE, c.LIVE, 'rec']];
  }
  if (c.UPPER !== c.LOWER) {
    // Commas and colons would split overlayfs options; paths are escaped.
    const esc = (p: string) => p.replace(/([\\,:])/g, '\\$1');
    return [['mount', 'overlay', 'overlay', c.LIVE, '-', `lowerdir=${esc(c.LOWER)},upperdir=${esc(c.UPPER)},workdir=${esc(c.WORK)}`]];
  }
  if (c.LIVE !== c.UPPER) return [['mount', 'none', c.UPPER, c.LIVE, 'bind', '-']];
  // LIVE is UPPER is LOWER: the tree is used as it is, but pivot_root
  // needs a mount point: bound onto itself (as systemd-nspawn does for a
  // directory), with what is mounted below it.
  return [['mount', 'none', c.LIVE, c.LIVE, 'bind,rec', '-']];
}

/** 1.6's overlay-postmount, with the subhost's /proc mount point ensured. */
export function postmountOps(c: SubhostConfig, h: HostFacts): Op[] {
  const L = c.LIVE;
  const dev = `${L}/dev`;
  const tty = String(h.ttyGid);
  const ops: Op[] = [
    ['mkdir', dev, '755'],
    ['mount', 'tmpfs', 'dev', dev, 'nosuid', 'size=50M,mode=755'],
    ['mknod', `${dev}/null`, '666', 'c', '1', '3', '0', '0'],
    ['mknod', `${dev}/zero`, '666', 'c', '1', '5', '0', '0'],
    ['mknod', `${dev}/ptmx`, '666', 'c', '5', '2', '0', tty],
    ['mknod', `${dev}/tty`, '666', 'c', '5', '0', '0', tty],
    ['mknod', `${dev}/random`, '444', 'c', '1', '8', '0', '0'],
    ['mknod', `${dev}/urandom`, '444', 'c', '1', '9', '0', '0'],
    ['symlink', '/proc/self/fd', `${dev}/fd`],
    ['symlink', '/proc/self/fd/0', `${dev}/stdin`],
    ['symlink', '/proc/self/fd/1', `${dev}/stdout`],
    ['symlink', '/proc/self/fd/2', `${dev}/stderr`],
    ['symlink', '/proc/kcore', `${dev}/core`],
    ['mkdir', `${dev}/shm`, '1777'],
    ['chmod', `${dev}/shm`, '1777'],
    ['mkdir', `${dev}/pts`, '755'],
    // A new devpts instance: the subhost's ptys are its own.
    ['mount', 'devpts', 'devpts', `${dev}/pts`, 'nosuid,noexec', `newinstance,ptmxmode=0666,mode=620,gid=${tty}`],
    ['mkdir', `${L}/sys`, '555'],
    // Read-only: the subhost's own netns shows in /sys/class/net, but the
    // rest of sysfs is the host's and must not be written from inside.
    ['mount', 'sysfs', 'sysfs', `${L}/sys`, 'ro,nosuid,nodev,noexec', '-'],
    ['mkdir', `${L}/proc`, '555'],
  ];
  if (c.RAM_SIZE !== 'none') {
    ops.push(
      ['mkdir', `${L}/run`, '755'],
      ['mount', 'tmpfs', 'tmpfs', `${L}/run`, 'nosuid,nodev', `size=${c.RAM_SIZE},mode=755`],
      ['mkdir', `${L}/run/lock`, '1777'],
      ['chmod', `${L}/run/lock`, '1777'],
    );
  }
  ops.push(...journalOps(c));
  // The host's clock drift file: 1.6 shared it writable; contained, the
  // subhost may read it but not change the host's.
  ops.push([c.CONTAINMENT === 'none' ? 'bind-if-exists' : 'bind-ro-if-exists', '/etc/adjtime', `${L}/etc/adjtime`]);
  return ops;
}

/** journald's sockets on the host (systemd-journald.socket, systemd-journald-dev-log.socket). */
export const JOURNAL_DIR = '/run/systemd/journal';

/**
 * The subhost's syslog reaches the host's journald (JOURNAL=yes): journald
 * reads the sender's cgroup from its side, so each line lands on
 * subhost@NAME.service with the identifier the service gave (and the
 * unit's rate limit). As on the host, the socket is
 * /run/systemd/journal/dev-log and /dev/log a symlink to it: a syslog
 * daemon started inside (rsyslog's imuxsock) unlinks the symlink and
 * makes its own /dev/log, and the subhost's lines then go to it instead.
 * The native socket (journal fields of the sender's choosing, among them
 * OBJECT_SYSTEMD_UNIT=, which `journalctl -u OTHER` trusts from uid 0)
 * only where root inside is root on the host anyway (CONTAINMENT=none);
 * never the stdout socket. Without a /run tmpfs (RAM_SIZE=none) the socket
 * is bound on /dev/log itself, in the subhost's own /dev, not in UPPER.
 */
export function journalOps(c: SubhostConfig): Op[] {
  if (c.JOURNAL === 'no') return [];
  const L = c.LIVE;
  // Contained, the socket is the relay's (relayOps), made right before enter.
  const bind = (at: string): Op[] => (c.CONTAINMENT === 'none' ? [['bind-socket-ro', `${JOURNAL_DIR}/dev-log`, at]] : []);
  if (c.RAM_SIZE === 'none') return bind(`${L}/dev/log`);
  const ops: Op[] = [
    ...mkdirP(L, JOURNAL_DIR),
    ...bind(`${L}${JOURNAL_DIR}/dev-log`),
    ['symlink', `${JOURNAL_DIR}/dev-log`, `${L}/dev/log`],
  ];
  if (c.CONTAINMENT === 'none') ops.push(['bind-socket-ro', `${JOURNAL_DIR}/socket`, `${L}${JOURNAL_DIR}/socket`]);
  return ops;
}

/**
 * /dev/console and (contained) /dev/log, with the relay that carries them
 * to the host's journal (native/console.c, native/relay.c): the console
 * is a pty of the subhost's own devpts (never the host's console), its
 * output goes to the unit's journal; each syslog line reaches journald
 * as the unit's, at most at severity crit (journald
 * walls emerg lines to every host terminal). With CONTAINMENT=none the
 * host's socket is bound in as it is (journalOps): root inside is root
 * on the host anyway. The last op before enter, in the helper that runs
 * enter: the relay is told the PID of the subhost's PID 1 and ends with it.
 */
export function relayOps(c: SubhostConfig, h: HostFacts): Op[] {
  const L = c.LIVE;
  const devlog =
    c.JOURNAL === 'no' || c.CONTAINMENT === 'none' ? '-' : c.RAM_SIZE === 'none' ? `${L}/dev/log` : `${L}${JOURNAL_DIR}/dev-log`;
  return [['relay', h.relay, c.NAME, `${L}/dev/pts`, `${L}/dev/console`, devlog, `${JOURNAL_DIR}/dev-log`]];
}

/**
 * The package's reaper as /.reaper: installed when missing (as 1.6 did)
 * and, in any case, the current one bound over it read-only so that an
 * old 1.6 copy in UPPER never runs as PID 1.
 */
export function reaperOps(c: SubhostConfig, h: HostFacts): Op[] {
  if (c.REAPER !== '/.reaper') return [];
  return [
    ['install-if-missing', h.reaper, `${c.LIVE}/.reaper`, '755'],
    ['bind-file-ro', h.reaper, `${c.LIVE}/.reaper`],
  ];
}

/**
 * SHARE=hostdir[:subhostdir] bind mounts, created inside as needed (1.6:
 * mkdir -p). The host directory is followed without symlinks: one planted
 * in another subhost's UPPER cannot hand out the host's /etc.
 */
export function shareOps(c: SubhostConfig): Op[] {
  const ops: Op[] = [];
  for (const s of c.SHARE) {
    ops.push(...mkdirP(c.LIVE, s.inside));
    ops.push(['bind-nofollow', s.host, `${c.LIVE}${s.inside}`]);
  }
  return ops;
}

export function ttyGid(): number {
  const m = /^tty:[^:]*:(\d+):/m.exec(readFileSync('/etc/group', 'utf8'));
  return m ? Number(m[1]) : 5;
}

export function hostFacts(): HostFacts {
  return { ttyGid: ttyGid(), reaper: `${libDir()}/reaper`, relay: `${libDir()}/subhost-relay` };
}

/** Uses only the built-in hooks, so the whole start is one native plan. */
export function builtinHooks(c: SubhostConfig): boolean {
  return HOOKS.every((k) => 'builtin' in c[k]);
}

/** The helper's arguments for a config with the built-in hooks (pure but for the facts). */
/**
 * LIVE and UPPER hold what the subhost wrote: steps under them resolve
 * paths inside them (a symlink there cannot lead a host-side step out).
 */
export function guardOps(c: SubhostConfig, journal: string): Op[] {
  return [['guard', c.LIVE], ...(c.UPPER !== c.LIVE ? [['guard', c.UPPER] as Op] : []), ['undo-journal', journal, c.UPPER]];
}

/**
 * The undo journal of a start (native/journal.c). Not in the subhost
 * unit's RuntimeDirectory: systemd removes that when the unit stops, and
 * the journal is replayed after it, by the netns unit's stop, whose own
 * process (subhost-netns down) runs it: no second process per stop. A
 * start that was killed is undone too.
 */
export function undoJournal(name: string): string {
  return `${UNDO_DIR}/${name}`;
}

export function startPlan(c: SubhostConfig, facts: HostFacts, pidfile: string): string[] {
  const ops: Op[] = [
    ...checkOps(c),
    ...lockOps(c),
    ['link-up', 'lo'],
    ...guardOps(c, undoJournal(c.NAME)),
    ...premountOps(c),
    ...privateUsersOps(c),
    ...overlayOps(c),
    ...postmountOps(c, facts),
    ...shareOps(c),
    ...reaperOps(c, facts),
    ...relayOps(c, facts),
  ];
  return [...opsToArgv(ops), ...enterArgs(c, pidfile), initScript(c), `init-${c.NAME}`];
}

export function enterArgs(c: SubhostConfig, pidfile: string, defaultInit = true): string[] {
  // The hostname: the root's own /etc/hostname when it is not the host's
  // (read by subhost-enter at every start, inside LIVE), else NAME.
  const enter = ['enter', '--hostname', c.NAME, '--hostname-from-root', '--pidfile', pidfile];
  if (c.CONTAINMENT === 'contained') enter.push('--contain');
  if (c.CONTAINMENT === 'private-users') enter.push('--private-users');
  // Readiness comes from our reaper, or from the default init script
  // right before it execs a custom REAPER; a custom INIT with a custom
  // REAPER cannot report it.
  if (c.REAPER !== '/.reaper' && !defaultInit) enter.push('--no-wait');
  // The helper's own limit follows TIMEOUT_START (default 90 s, as the unit's).
  const t = readyTimeout(c.SYSTEMD?.TimeoutStartSec);
  if (t !== undefined) enter.push('--ready-timeout', String(t));
  return [...enter, c.LIVE, '--', '/bin/sh', '-c'];
}

/** Seconds of a TIMEOUT_START value (0: never), undefined when unset. */
export function readyTimeout(span: string | undefined): number | undefined {
  if (!span) return undefined;
  if (span === 'infinity') return 0;
  const m = /^([0-9]+)(ms|s|min|h)?$/.exec(span);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'min' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

/** A plan file's bytes: NUL-separated, argv[0] first, the check ops leading. */
export function planFileContent(sig: string[][], argv: string[]): string {
  const words = ['subhost-enter'];
  for (const op of sig) for (const w of op) words.push(w);
  for (const w of argv) words.push(w);
  return `${words.join('\0')}\0`;
}

/** Write a plan file atomically (root only: it holds the init script). */
export function writePlan(path: string, sig: string[][], argv: string[]): void {
  writeFileAtomic(path, planFileContent(sig, argv), { mode: 0o600, mkdirMode: 0o700 });
}
