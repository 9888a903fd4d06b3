// overlay-boot 1.6 subhosts still running when the package is installed
// over 1.6 (runtime/adopt16.ts adopts them into subhost@NAME.service).
//
// Found from kernel state, never by process names: 1.6 itself found its
// subhosts with `pgrep -f "overlay-boot.*/NAME.conf"` and `ps --ppid`,
// which matches any command line that happens to contain those words
// (1.6's own overlay-stop, an editor on the config) and misses a subhost
// whose stage script was renamed or re-executed. What a running 1.6
// subhost leaves in the kernel cannot be mistaken: the network namespace
// bound at /run/netns/NAME (`ip netns add NAME`), and in it one process
// that is PID 1 of a pid namespace of its own (`unshare -fp` ... `exec
// /.reaper`): the reaper. The namespace links in /proc/PID/ns are
// compared by inode, the identity the kernel gives a namespace. Its
// processes are those in its pid namespace or its mount namespace (the
// stage shell and `unshare`, which 1.6 ran in the subhost's mount
// namespace, outside its pid namespace).
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { parseConfText } from './config/parse.js';
import { confName, findConf } from './registry.js';

export const NETNS_DIR = '/run/netns';

/** Where the adoption of a 1.6 subhost is recorded while it runs under 1.6 (the units' drop-ins read it). */
export const ADOPTED_DIR = '/run/overlay-boot/adopted';
export const adoptedRecord = (name: string): string => `${ADOPTED_DIR}/${name}.json`;

export interface Legacy16 {
  /** The netns name: 1.6's NAME. */
  name: string;
  /** The subhost's PID 1 (1.6's RSPID), as the host sees it. */
  reaper: number;
  /** Every process of the subhost, the reaper and 1.6's stage shell and unshare included. */
  pids: number[];
  /** Its config: the stage shell's argument (1.6 ran `overlay-boot CONF`), else the one overlay-boot 2 finds for NAME. */
  conf?: string;
}

interface Proc {
  pid: number;
  ppid: number;
  /** NSpid: the pid in each nested pid namespace, outermost first. */
  nspid: number[];
  net?: string;
  mnt?: string;
  pidns?: string;
}

const nsOf = (pid: number, ns: string): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`); // "net:[4026532281]"
  } catch {
    return undefined; // gone, or a kernel thread
  }
};

/** The processes now, with their namespaces (those that end meanwhile are left out). */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue;
    const pid = Number(e);
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'latin1');
    } catch {
      continue;
    }
    const ppid = Number(/^PPid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
    const nspid = (/^NSpid:\s*(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    out.push({ pid, ppid, nspid, net: nsOf(pid, 'net'), mnt: nsOf(pid, 'mnt'), pidns: nsOf(pid, 'pid') });
  }
  return out;
}

/** The inode of the namespace bound at PATH, as /proc/PID/ns links show it ("net:[INO]"). */
function boundNetns(path: string): string | undefined {
  try {
    return `net:[${statSync(path).ino}]`;
  } catch {
    return undefined;
  }
}

/** 1.6's stage shell ran `overlay-boot CONF` (`sh /usr/sbin/overlay-boot CONF`): its last argument, when it names a config of NAME. */
function confFromCmdline(pids: number[], name: string): string | undefined {
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const last = argv[argv.length - 1];
    if (!last?.startsWith('/') || !last.endsWith('.conf')) continue;
    try {
      if (confName(last) === name) return last;
    } catch {
      /* not readable: not it */
    }
  }
  return undefined;
}

/**
 * The 1.6 subhosts running now: one per netns in /run/netns that holds a
 * reaper, except those SKIP says are overlay-boot 2's own (their
 * subhost-netns@ unit made the netns).
 */
export function findLegacy16(skip: (name: string) => boolean = () => false): Legacy16[] {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR).filter((n) => !skip(n));
  } catch {
    return [];
  }
  if (!names.length) return [];
  const procs = processes();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const out: Legacy16[] = [];
  for (const name of names) {
    const net = boundNetns(`${NETNS_DIR}/${name}`);
    if (!net) continue;
    // PID 1 of a nested pid namespace, in this netns: the reaper (the
    // outermost one: a container inside the subhost has its own PID 1).
    const reaper = procs
      .filter((p) => p.net === net && p.nspid.length >= 2 && p.nspid[p.nspid.length - 1] === 1)
      .sort((a, b) => a.nspid.length - b.nspid.length || a.pid - b.pid)[0];
    if (!reaper) continue;
    const members = new Set(procs.filter((p) => p.pidns === reaper.pidns || p.mnt === reaper.mnt).map((p) => p.pid));
    // Its parents up to the stage shell (unshare, the shell: same mount namespace).
    for (let p = byPid.get(reaper.ppid); p && p.mnt === reaper.mnt; p = byPid.get(p.ppid)) members.add(p.pid);
    const pids = [...members].sort((a, b) => a - b);
    let conf = confFromCmdline(pids, name);
    if (!conf) {
      const found = findConf(name, '');
      if (!('error' in found)) conf = found.conf;
    }
    out.push({ name, reaper: reaper.pid, pids, conf });
  }
  return out;
}

/** START of a 1.6 config as 1.6 read it (`config START "networking ssh"`); a !command is not run: none. */
export function start16(confText: string): string[] {
  // `grep "^START=" | read V`: the first line that starts so.
  const first = parseConfText(confText).assignments.find((a) => a.key === 'START' && a.text.startsWith('START='));
  if (!first) return ['networking', 'ssh'];
  if (first.command) return [];
  const words = first.value.split(/\s+/).filter(Boolean);
  return words.length ? words : ['networking', 'ssh'];
}
