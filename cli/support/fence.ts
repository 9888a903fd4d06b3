// A config started by its path (`overlay-boot start CONF`) has no
// generator drop-in, so the unit would run with the template's settings
// alone: no AFTER/REQUIRES, no MEMORY_MAX, TASKS_MAX, TIMEOUT_START...,
// the template's fence. The same lines the generator would write
// (lib/unit-settings.ts) go into a drop-in in /run (this boot only) and
// systemd reloads once; when they are already there, nothing is done.
// One drop-in rather than SetUnitProperties(runtime): TimeoutStartSec=,
// TimeoutStopSec=, After= and Requires= cannot be set on a unit at run
// time, and a drop-in also holds for a later `systemctl start
// subhost@NAME` of the registered config during this boot.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LoadResult } from '../../lib/config/load.js';
import { addSettings } from '../../lib/unit-settings.js';
import { UnitFile } from '../../lib/unit-file.js';
import type { SystemdManager } from '../../lib/systemd.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { readTextOrEmpty } from './conf.js';

export const runtimeDropin = (name: string): string => `/run/systemd/system/subhost@${name}.service.d/50-overlay-boot-start.conf`;

/** The drop-in's text, or '' when the template alone is what the config asks for. */
export function runtimeDropinText(r: Pick<LoadResult, 'partial' | 'resolved' | 'file'>): string {
  const u = addSettings(new UnitFile([`Written by overlay-boot start for ${r.file} (this boot only).`]), r);
  return u.empty() ? '' : u.text();
}

/** Makes the unit's settings match the config; `generated`: the generator's drop-in has them already. */
export async function ensureSettings(sm: SystemdManager, name: string, r: LoadResult, generated: boolean): Promise<void> {
  const path = runtimeDropin(name);
  const want = generated ? '' : runtimeDropinText(r);
  if (readTextOrEmpty(path) === want) return;
  if (want) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileAtomic(path, want);
  } else {
    rmSync(path, { force: true });
  }
  await sm.daemonReload();
}
