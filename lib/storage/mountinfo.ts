// /proc/self/mountinfo, read as data: which paths are mount points in the
// current mount namespace (the subhost unit's own, when overlay-diskfile
// runs from the runtime), and what is mounted there.
import { readFileSync } from 'node:fs';

export interface MountEntry {
  /** Mount point, unescaped. */
  point: string;
  /** Per-mount options (ro/rw, ...). */
  options: string[];
  fstype: string;
  source: string;
  /** Superblock options (for overlayfs: lowerdir=, upperdir=, ...), still escaped as the kernel writes them. */
  superOptions: string;
}

/** The kernel escapes space, tab, newline and backslash in mountinfo fields as \ooo. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    out.push({
      point: unescapeMountField(f[4]!),
      options: f[5]!.split(','),
      fstype: f[sep + 1]!,
      source: unescapeMountField(f[sep + 2]!),
      superOptions: f[sep + 3] ?? '',
    });
  }
  return out;
}

export function readMountinfo(file = '/proc/self/mountinfo'): MountEntry[] {
  return parseMountinfo(readFileSync(file, 'utf8'));
}

/** The topmost mount on `path` (the last one listed for it), if `path` is a mount point. */
export function mountAt(path: string, entries: MountEntry[] = readMountinfo()): MountEntry | undefined {
  const on = entries.filter((e) => e.point === path);
  return on[on.length - 1];
}
