// The host id range of a subhost at CONTAINMENT=private-users: allocated
// and recorded at its first start by subhost-netns (native/idrange.c, the
// one writer), read here for check and status, freed only by an explicit
// purge. The record: IDS_DIR/by-name/NAME -> "BASE" and
// IDS_DIR/by-base/BASE -> "NAME" (symlinks; see overlay-boot.conf(5)).
import { readlinkSync, unlinkSync } from 'node:fs';

export const IDS_DIR = '/var/lib/overlay-boot/ids';
/** Ids per subhost: 0-65535 inside. */
export const IDRANGE_SIZE = 0x10000;

export interface IdRange {
  /** Host uid and gid of root inside. */
  base: number;
  /** The last host id of the range. */
  last: number;
}

/** NAME's recorded range, or undefined (none yet: it is allocated at the first start). */
export function recordedRange(name: string, dir = IDS_DIR): IdRange | undefined {
  try {
    const text = readlinkSync(`${dir}/by-name/${name}`);
    if (!/^[0-9]+$/.test(text)) return undefined;
    const base = Number(text);
    return { base, last: base + IDRANGE_SIZE - 1 };
  } catch {
    return undefined;
  }
}

/** "BASE-LAST" as check and status print it. */
export function rangeText(r: IdRange): string {
  return `${r.base}-${r.last}`;
}

/**
 * Frees NAME's range (the purge of a subhost whose files are gone: a
 * range still used on disk by its UPPER must not go to another subhost).
 * The claim goes last: until then no other subhost can take the range.
 */
export function freeRange(name: string, dir = IDS_DIR): IdRange | undefined {
  const r = recordedRange(name, dir);
  if (!r) return undefined;
  unlinkSync(`${dir}/by-name/${name}`);
  try {
    if (readlinkSync(`${dir}/by-base/${r.base}`) === name) unlinkSync(`${dir}/by-base/${r.base}`);
  } catch {
    /* no claim: nothing more to free */
  }
  return r;
}
