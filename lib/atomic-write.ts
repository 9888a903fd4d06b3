// The one way the package replaces a file: readers (systemd, subhost-enter,
// subhost-netns, the generator) see the old file or the new one, never
// a part. A temporary file in the same directory is written, given its
// mode (and the old file's owner), fsynced and renamed over the file; then
// the directory is fsynced. A symlinked file is replaced where it points
// (/etc/subhosts.conf may be a link into a managed tree).
import {
  realpathSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  openSync,
  writeSync,
  fsyncSync,
  closeSync,
  chownSync,
  fchmodSync,
} from 'node:fs';
import { dirname, basename } from 'node:path';

export interface AtomicWriteOptions {
  /** The file's mode. Default: the replaced file's, else 0o644. */
  mode?: number;
  /** Make missing parent directories, with this mode. */
  mkdirMode?: number;
}

export function writeFileAtomic(file: string, text: string, opts: AtomicWriteOptions = {}): void {
  if (opts.mkdirMode !== undefined) mkdirSync(dirname(file), { recursive: true, mode: opts.mkdirMode });
  let target = file;
  try {
    target = realpathSync(file);
  } catch {
    /* new file */
  }
  let mode = opts.mode ?? 0o644;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const st = statSync(target);
    if (opts.mode === undefined) mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
  } catch {
    /* new file */
  }
  const dir = dirname(target);
  const tmp = `${dir}/.${basename(target)}.tmp-${process.pid}-${Date.now()}`;
  // Exclusive, and readable by nobody else until its mode is set: a plan holds the init script.
  const fd = openSync(tmp, 'wx', mode & 0o700);
  try {
    writeSync(fd, text);
    fchmodSync(fd, mode); // open() applied the umask
    if (owner && process.getuid?.() === 0) chownSync(tmp, owner.uid, owner.gid);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* closed */
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const d = openSync(dir, 'r');
    fsyncSync(d);
    closeSync(d);
  } catch {
    /* best effort */
  }
}
