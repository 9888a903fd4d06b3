// Resolving a path as the sandbox would see it, from the host.
//
// Why not just join(root, p)? Two traps:
//  - Reaching the sandbox through /proc/PID/root, the kernel resolves an
//    absolute symlink met on the way against the *caller's* root, i.e. the
//    host: writing /proc/PID/root/etc/x where x -> /run/y would write the
//    host's /run/y.
//  - Before boot we write straight into the overlay's upper dir. If a path
//    component is a symlink in the lower layer (Debian 12 is merged-/usr:
//    /lib -> usr/lib), mkdir -p in the upper would create a real /lib there,
//    which hides the lower symlink and breaks the whole sandbox.
// So every component is looked up in the layers (upper first, then lower, like
// overlayfs does) and symlinks are followed inside the sandbox's namespace.
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';

const MAX_SYMLINK_HOPS = 40;

/** Absolute, normalized path inside the sandbox; refuses relative paths. */
export function normalizeInside(p: string): string {
  if (!p.startsWith('/')) throw new Error(`path inside the sandbox must be absolute: ${p}`);
  return path.posix.normalize(p).replace(/\/+$/, '') || '/';
}

interface Found {
  layer: string;
  st: Stats;
}

/** overlayfs whiteout: a 0/0 character device in the upper dir hides the lower entry. */
function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

async function lstatLayered(layers: string[], inside: string): Promise<Found | null> {
  for (const layer of layers) {
    try {
      const st = await fs.lstat(path.join(layer, inside));
      if (isWhiteout(st)) return null;
      return { layer, st };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return null;
}

/**
 * Resolves every symlink of `p` (the last component too) within the sandbox
 * whose file system is the union of `layers` (first wins). Components that do
 * not exist are kept as they are. Returns the resolved path inside.
 */
export async function resolveInside(layers: string[], p: string): Promise<string> {
  const resolved: string[] = [];
  let queue = normalizeInside(p).split('/').filter(Boolean);
  let hops = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, c].join('/')}`;
    const found = await lstatLayered(layers, candidate);
    if (found?.st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw new Error(`too many symlinks resolving ${p}`);
      const target = await fs.readlink(path.join(found.layer, candidate));
      if (target.startsWith('/')) resolved.length = 0;
      queue = [...target.split('/').filter(Boolean), ...queue];
    } else {
      resolved.push(c);
    }
  }
  return `/${resolved.join('/')}`;
}

/**
 * Creates the missing parent dirs of resolved path `inside` in layers[0].
 * A dir that exists in a lower layer is recreated with the lower's mode and
 * owner, so the overlay does not change permissions of e.g. /root.
 */
export async function mkdirParentsInLayer(layers: string[], inside: string): Promise<void> {
  const parts = inside.split('/').filter(Boolean);
  parts.pop();
  let cur = '';
  for (const c of parts) {
    cur += `/${c}`;
    const top = path.join(layers[0]!, cur);
    try {
      await fs.lstat(top);
      continue;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const lower = await lstatLayered(layers.slice(1), cur);
    await fs.mkdir(top);
    if (lower?.st.isDirectory()) {
      await fs.chmod(top, lower.st.mode & 0o7777);
      await fs.chown(top, lower.st.uid, lower.st.gid);
    } else {
      await fs.chmod(top, 0o755);
    }
  }
}

/** Writes a file at `p` (inside) into layers[0], resolving symlinks through all layers. */
export async function writeInLayers(layers: string[], p: string, content: string | Buffer, mode?: number): Promise<string> {
  const inside = await resolveInside(layers, p);
  await mkdirParentsInLayer(layers, inside);
  const host = path.join(layers[0]!, inside);
  await fs.writeFile(host, content);
  if (mode !== undefined) await fs.chmod(host, mode);
  return host;
}
