// The systemd side of a subhost config (AFTER, REQUIRES, the resource
// and timeout keys, CONTAINMENT's fence) as unit-file directives, added
// to the one unit-file model (lib/unit-file.ts). Pure. The same
// directives reach subhost@NAME.service on every start path: through the
// generator's drop-in for a config listed in /etc/subhosts.conf, through
// the runtime drop-in that `overlay-boot start` writes for one it
// registers for this boot (cli/support/fence.ts).
import type { LoadResult } from './config/load.js';
import { fenceLines } from './containment.js';
import type { UnitFile } from './unit-file.js';

/** [Unit]: ordering and dependencies on other subhosts; [Service]: resource limits, timeouts, the fence. */
export function addSettings(u: UnitFile, r: Pick<LoadResult, 'partial' | 'resolved'>): UnitFile {
  const c = r.partial;
  for (const a of c.AFTER ?? []) u.add('Unit', 'After', `subhost@${a}.service`);
  for (const q of c.REQUIRES ?? []) u.add('Unit', 'Requires', `subhost@${q}.service`).add('Unit', 'After', `subhost@${q}.service`);
  // Values systemd parses itself (sizes, percentages, time spans): no specifiers.
  for (const [directive, value] of Object.entries(c.SYSTEMD ?? {})) u.add('Service', directive, value, 'verbatim');
  return u.addLines('Service', fenceLines(r));
}
