// Whether a user other than root can reach a subhost's UPPER: what the
// subhost writes lands there with the owners and modes it chose (a
// setuid-root file, a file capability, a 0666 device node), so a host
// user who can get to it can run or open it. `overlay-boot create` makes
// BASE root's alone (0700); older directories are only warned about by
// `overlay-boot check`, never changed behind the admin's back.
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Search permission on DIR for some user other than root (owner, group or others; ACLs are not read). */
function searchableByOthers(st: { uid: number; gid: number; mode: number }): boolean {
  return st.uid !== 0 || (st.gid !== 0 && (st.mode & 0o010) !== 0) || (st.mode & 0o001) !== 0;
}

const modeText = (m: number) => `0${(m & 0o7777).toString(8)}`;

/**
 * A warning when every directory from / down to UPPER lets a user other
 * than root search it, naming UPPER and the last directory above it (the
 * one to close: chmod 700 it); undefined when some directory stops them,
 * or UPPER cannot be looked at (check reports a missing UPPER itself).
 */
export function upperReachableWarning(upper: string): string | undefined {
  let dir: string;
  try {
    dir = realpathSync(upper);
  } catch {
    return undefined;
  }
  if (dir === '/') return undefined;
  const chain: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    chain.push(d);
    if (d === '/') break;
  }
  for (const d of chain) {
    try {
      if (!searchableByOthers(statSync(d))) return undefined;
    } catch {
      return undefined;
    }
  }
  const parent = chain[1]!;
  const st = statSync(parent);
  return (
    `UPPER ${upper} is reachable by users other than root (every directory down to it lets them search it; ` +
    `the last, ${parent}, is mode ${modeText(st.mode)} owner ${st.uid}): what the subhost writes there ` +
    `(setuid files, device nodes) is theirs to run or open; chmod 700 ${parent} closes it`
  );
}
