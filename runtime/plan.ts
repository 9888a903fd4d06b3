// What starting a subhost does, computed from its resolved config:
// the overlay mount, the default POSTMOUNT of 1.6 (a fresh /dev, devpts,
// sysfs, a /run tmpfs, /etc/adjtime), the SHARE binds and the reaper.
// Pure: the caller supplies the few facts about the host it needs.
import type { SubhostConfig } from '../lib/config/fields.js';
import { mkdirP, type Op } from './ops.js';

export interface HostFacts {
  /** gid of group tty on the host (1.6: chown root:tty). */
  ttyGid: number;
  /** The package's reaper binary. */
  reaper: string;
  /** /etc/adjtime exists on the host. */
  adjtime: boolean;
  /** LIVE/etc/adjtime exists (bind target). */
  liveAdjtime: boolean;
}

/** The overlay (or bind) mount of LOWER+UPPER on LIVE, as 1.6's setup_overlay. */
export function overlayOps(c: SubhostConfig): Op[] {
  if (c.UPPER !== c.LOWER) {
    // Commas and colons would split overlayfs options; paths are escaped.
    const esc = (p: string) => p.replace(/([\\,:])/g, '\\$1');
    return [['mount', 'overlay', 'overlay', c.LIVE, '-', `lowerdir=${esc(c.LOWER)},upperdir=${esc(c.UPPER)},workdir=${esc(c.WORK)}`]];
  }
  if (c.LIVE !== c.UPPER) return [['mount', 'none', c.UPPER, c.LIVE, 'bind', '-']];
  return []; // LIVE is UPPER is LOWER: the tree is used as it is
}

/** 1.6's overlay-postmount, with the subhost's /proc mount point ensured. */
export function postmountOps(c: SubhostConfig, h: HostFacts): Op[] {
  const L = c.LIVE;
  const dev = `${L}/dev`;
  const tty = String(h.ttyGid);
  const ops: Op[] = [
    ['mkdir', dev, '755'],
    ['mount', 'tmpfs', 'dev', dev, 'nosuid', 'size=50M,mode=755'],
    ['mknod', `${dev}/console`, '622', 'c', '5', '1', '0', tty],
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
  if (h.adjtime && h.liveAdjtime) ops.push(['mount', 'none', '/etc/adjtime', `${L}/etc/adjtime`, 'bind', '-']);
  return ops;
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

/** SHARE=hostdir[:subhostdir] bind mounts, created inside as needed (1.6: mkdir -p). */
export function shareOps(c: SubhostConfig): Op[] {
  const ops: Op[] = [];
  for (const s of c.SHARE) {
    ops.push(...mkdirP(c.LIVE, s.inside));
    ops.push(['mount', 'none', s.host, `${c.LIVE}${s.inside}`, 'bind,rec', '-']);
  }
  return ops;
}
