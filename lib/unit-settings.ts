// The systemd side of a subhost config (AFTER, REQUIRES, the resource
// and timeout keys, CONTAINMENT's fence) as unit-file lines. Pure. The
// same lines reach subhost@NAME.service on every start path: through the
// generator's drop-in for a config listed in /etc/subhosts.conf, through
// the runtime drop-in that `overlay-boot start` writes for one it
// registers for this boot (cli/support/fence.ts).
import type { LoadResult } from './config/load.js';
import { fenceLines } from './containment.js';

export interface SettingLines {
  /** For the [Unit] section: ordering and dependencies on other subhosts. */
  unit: string[];
  /** For the [Service] section: resource limits, timeouts, the fence. */
  service: string[];
}

export function settingLines(r: Pick<LoadResult, 'partial' | 'resolved'>): SettingLines {
  const c = r.partial;
  const unit: string[] = [];
  for (const a of c.AFTER ?? []) unit.push(`After=subhost@${a}.service`);
  for (const q of c.REQUIRES ?? []) unit.push(`Requires=subhost@${q}.service`, `After=subhost@${q}.service`);
  const service = Object.entries(c.SYSTEMD ?? {}).map(([directive, value]) => `${directive}=${value}`);
  service.push(...fenceLines(r));
  return { unit, service };
}
