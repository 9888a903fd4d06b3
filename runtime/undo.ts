// A failed start must leave UPPER as it found it. subhost-enter undoes
// what one run of it made; a start with custom hooks runs it several
// times with the hooks in between, so a failure in a later step must also
// undo what earlier (successful) runs made in UPPER: PREMOUNT's
// /etc/network/interfaces, `.reaper`, and mount points (/dev, /sys,
// /proc, /run, SHARE targets) that LOWER lacks. We note which of those
// exist before, and after a failure remove the ones this start created
// (directories only when empty).
import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import type { SubhostConfig } from '../lib/config/fields.js';

export function candidates(c: SubhostConfig): string[] {
  const rel = ['etc', 'etc/network', 'etc/network/interfaces', '.reaper', 'dev', 'sys', 'proc', 'run'];
  for (const s of c.SHARE) {
    const parts = s.inside.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) rel.push(parts.slice(0, i).join('/'));
  }
  return [...new Set(rel)].map((r) => `${c.UPPER}/${r}`);
}

const exists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** The candidates that do not exist yet. */
export function absentBefore(c: SubhostConfig): string[] {
  return candidates(c).filter((p) => !exists(p));
}

/** Remove what was absent before and exists now, deepest first. Returns what was removed. */
export function undoCreated(absent: string[]): string[] {
  const removed: string[] = [];
  for (const p of [...absent].sort((a, b) => b.length - a.length)) {
    try {
      if (lstatSync(p).isDirectory()) rmdirSync(p);
      else unlinkSync(p);
      removed.push(p);
    } catch {
      /* not created, or a directory something else now uses: keep it */
    }
  }
  return removed;
}
