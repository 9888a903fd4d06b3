// A config started by its path (`overlay-boot start CONF`) has no
// generator drop-in, so the unit would run with the template's fence
// (CONTAINMENT=contained, no extra devices). When the config asks for
// something else, the same lines the generator would write go into a
// drop-in in /run (this boot only) and systemd reloads once; when they
// are already there, nothing is done.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LoadResult } from '../../lib/config/load.js';
import { fenceLines } from '../../lib/containment.js';
import type { SystemdManager } from '../../lib/systemd.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { readTextOrEmpty } from './conf.js';

export const fenceDropin = (name: string): string => `/run/systemd/system/subhost@${name}.service.d/50-overlay-boot-fence.conf`;

/** The drop-in's text, or '' when the template's fence is what the config asks for. */
export function fenceDropinText(r: Pick<LoadResult, 'partial' | 'resolved' | 'file'>): string {
  const lines = fenceLines(r);
  if (!lines.length) return '';
  return `${[`# Written by overlay-boot start for ${r.file} (this boot only).`, '[Service]', ...lines].join('\n')}\n`;
}

/** Makes the unit's fence match the config; `generated`: the generator's drop-in has it already. */
export async function ensureFence(sm: SystemdManager, name: string, r: LoadResult, generated: boolean): Promise<void> {
  const path = fenceDropin(name);
  const want = generated ? '' : fenceDropinText(r);
  if (readTextOrEmpty(path) === want) return;
  if (want) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileAtomic(path, want);
  } else {
    rmSync(path, { force: true });
  }
  await sm.daemonReload();
}
