// What `overlay-boot create` gives a new subhost so that it is a machine of
// its own, not the host's twin (issue 22): its own /etc/hostname (the
// hostname rule: the root's own name when it is not the host's; see
// native/identity.c), a fresh /etc/machine-id (journald, machined and
// DHCP client ids use it) and, when its LOWER has an ssh server, fresh ssh
// host keys (ssh clients would otherwise see the host's one key on many
// addresses). All of it in UPPER: LOWER (the host's root by default) is
// never written.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** UPPER/DIR made with the mode and owner of LOWER/DIR (else root's, 0755), so the merged view keeps them. */
function upperDir(upper: string, lower: string, dir: string): string {
  const path = join(upper, dir);
  if (existsSync(path)) return path;
  let mode = 0o755;
  let uid = 0;
  let gid = 0;
  try {
    const st = statSync(join(lower, dir));
    if (st.isDirectory()) [mode, uid, gid] = [st.mode & 0o7777, st.uid, st.gid];
  } catch {
    /* not in LOWER */
  }
  mkdirSync(path, { mode: 0o700 });
  chownSync(path, uid, gid);
  chmodSync(path, mode); // after chown, which clears set-id bits; not the umask's
  return path;
}

/** Does LOWER have an ssh server (Debian's openssh-server)? */
export const hasSshServer = (lower: string): boolean => existsSync(join(lower, 'usr/sbin/sshd'));

/** Gives the subhost of UPPER (over LOWER) its identity; returns what it made, for create's message. */
export async function giveIdentity(upper: string, lower: string, name: string): Promise<string[]> {
  const etc = upperDir(upper, lower, 'etc');
  const made: string[] = [];
  writeFileSync(join(etc, 'hostname'), `${name}\n`, { mode: 0o644, flag: 'wx' });
  made.push(`hostname ${name}`);
  // machine-id(5): 32 lower-case hex digits and a newline, mode 0444.
  const id = randomBytes(16).toString('hex');
  writeFileSync(join(etc, 'machine-id'), `${id}\n`, { mode: 0o444, flag: 'wx' });
  made.push(`machine-id ${id}`);
  if (hasSshServer(lower)) {
    upperDir(upper, lower, 'etc/ssh');
    // ssh-keygen -A with a prefix: every default key type, in PREFIX/etc/ssh.
    const { execa } = await import('execa'); // only here: check loads this module too
    const r = await execa('ssh-keygen', ['-A', '-f', upper], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new Error(`ssh-keygen -A -f ${upper} failed: ${(r.stderr || r.stdout || String(r.exitCode)).trim()}`);
    made.push('ssh host keys');
  }
  return made;
}

/** FILE's bytes, or undefined when it cannot be read. */
function read(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The file a subhost sees at PATH: UPPER's when there is one, else LOWER's (whiteouts and opaque dirs aside). */
function seen(upper: string, lower: string, path: string): Buffer | undefined {
  return existsSync(join(upper, path)) ? read(join(upper, path)) : read(join(lower, path));
}

/**
 * `check`'s warnings for a subhost whose START runs ssh: it would answer
 * with the host's ssh host keys (compared by their public halves, which
 * anyone may read), or have the host's machine-id. Each names what to do.
 */
export function twinWarnings(c: { START: string[]; UPPER: string; LOWER: string }, host = '/'): string[] {
  if (!c.START.some((s) => s === 'ssh' || s === 'sshd') || !hasSshServer(c.LOWER)) return [];
  const out: string[] = [];
  let pubs: string[] = [];
  try {
    pubs = readdirSync(join(host, 'etc/ssh')).filter((f) => /^ssh_host_.*_key\.pub$/.test(f));
  } catch {
    /* the host has no ssh keys: none to share */
  }
  const shared = pubs.filter((f) => {
    const mine = read(join(host, 'etc/ssh', f));
    const theirs = seen(c.UPPER, c.LOWER, `etc/ssh/${f}`);
    return mine !== undefined && theirs !== undefined && mine.equals(theirs);
  });
  if (shared.length) {
    out.push(
      `START runs ssh with the host's ssh host keys (${shared.join(', ')} seen through LOWER): ssh clients would see one key on many addresses; ` +
        `give it its own: rm -f ${c.UPPER}/etc/ssh/ssh_host_*; mkdir -p ${c.UPPER}/etc/ssh; ssh-keygen -A -f ${c.UPPER}`,
    );
  }
  const id = read(join(host, 'etc/machine-id'));
  const theirs = seen(c.UPPER, c.LOWER, 'etc/machine-id');
  if (id?.length && theirs?.equals(id)) {
    out.push(
      `the subhost would have the host's /etc/machine-id (seen through LOWER): give it its own: systemd-id128 new > ${c.UPPER}/etc/machine-id`,
    );
  }
  return out;
}
