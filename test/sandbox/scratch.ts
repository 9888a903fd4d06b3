// Scratch area of a sandbox on the host: a fresh tmpfs mounted on a mkdtemp
// dir (unpredictable name, nothing shared with other sandboxes or other
// engineers' runs), holding the overlay's upper/ and work/ dirs and the
// root/ mount point. A tmpfs because overlayfs wants an upper dir that is not
// itself on overlayfs and supports trusted.* xattrs, and because unmounting it
// frees everything the sandbox wrote in one step.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/** Prefix of scratch dir names; leftovers.ts looks for it in mountinfo. */
export const SCRATCH_PREFIX = 'obt-sandbox-';

export interface ScratchLayout {
  scratch: string;
  upper: string;
  work: string;
  root: string;
}

export function layoutOf(scratch: string): ScratchLayout {
  return {
    scratch,
    upper: path.join(scratch, 'upper'),
    work: path.join(scratch, 'work'),
    root: path.join(scratch, 'root'),
  };
}

/** Creates the dir, mounts a tmpfs on it and makes the layout. */
export async function createScratch(): Promise<ScratchLayout> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), SCRATCH_PREFIX));
  // overlay's mount options are comma/colon separated: refuse paths that
  // would be mis-parsed rather than escaping them.
  if (/[,:\s\\]/.test(dir)) {
    await fs.rmdir(dir);
    throw new Error(`scratch path unusable in overlay options: ${dir}`);
  }
  try {
    await execa('mount', ['-t', 'tmpfs', '-o', 'mode=0700', 'tmpfs', dir]);
  } catch (err) {
    await fs.rmdir(dir).catch(() => {});
    throw err;
  }
  const layout = layoutOf(dir);
  try {
    await prepareLayout(layout);
  } catch (err) {
    await removeScratch(dir);
    throw err;
  }
  return layout;
}

/** Makes sure an existing scratch (a "reboot") has the layout dirs. */
export async function prepareLayout(layout: ScratchLayout): Promise<void> {
  for (const dir of [layout.upper, layout.work, layout.root]) {
    await fs.mkdir(dir, { recursive: true });
  }
  // upper must be world-traversable like a normal /.
  await fs.chmod(layout.upper, 0o755);
}

export async function isMountPoint(dir: string): Promise<boolean> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => unescapeMountPath(line.split(' ')[4] ?? '') === dir);
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Unmounts the scratch tmpfs and removes the dir. The sandbox must be gone:
 * its mount namespace held its own copy of the tmpfs, not ours, so a plain
 * umount works even if it were not, but the memory is only freed once it is.
 */
export async function removeScratch(dir: string): Promise<void> {
  for (let attempt = 0; (await isMountPoint(dir)) && attempt < 20; attempt++) {
    const res = await execa('umount', [dir], { reject: false });
    if (res.exitCode !== 0) await sleep(100);
  }
  if (await isMountPoint(dir)) {
    // Last resort: detach it so nothing is left in the host's mount table.
    await execa('umount', ['-l', dir], { reject: false });
  }
  await fs.rmdir(dir).catch(() => {});
}

/** A fresh machine id (32 lowercase hex digits), as systemd-machine-id-setup makes. */
export function newMachineId(): string {
  const b = randomBytes(16);
  // Format as a v4 UUID without dashes, like sd_id128_randomize().
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b.toString('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
