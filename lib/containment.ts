// What a subhost's unit needs beyond subhost@.service's own fence, as
// drop-in lines: the template is CONTAINMENT=contained, so only the
// opt-out and the devices a start step needs appear here. Pure; used by
// the generator (registered configs) and by `overlay-boot start CONF`
// (configs it registers for this boot).
import type { LoadResult } from './config/load.js';

/** The drop-in lines for a loaded config; none for a plain contained subhost. */
export function fenceLines(r: Pick<LoadResult, 'partial' | 'resolved'>): string[] {
  if (r.partial.CONTAINMENT === 'none') {
    return [
      '# CONTAINMENT=none: root inside is root on the host (1.6). Resets the',
      "# template's fence: every capability, no system call filter, any device.",
      'CapabilityBoundingSet=~',
      'SystemCallFilter=',
      'SystemCallErrorNumber=',
      'DevicePolicy=auto',
      'DeviceAllow=',
      '# And the least-privilege settings that reach inside (subhost@.service).',
      'ProtectClock=no',
      'RestrictRealtime=no',
      'RestrictAddressFamilies=',
    ];
  }
  if (usesDiskfile(r)) {
    return [
      '# overlay-diskfile attaches a loop device during the start; the',
      '# device policy applies to the subhost too (it may open loop devices).',
      'DeviceAllow=/dev/loop-control rw',
      'DeviceAllow=block-loop rw',
    ];
  }
  return [];
}

/** Some value is `!overlay-diskfile ...` (the command run at start). */
function usesDiskfile(r: Pick<LoadResult, 'resolved'>): boolean {
  return Object.values(r.resolved).some(
    (v) => v?.source.kind === 'command' && /^!?\s*(\S*\/)?overlay-diskfile(\s|$)/.test(v.source.text.replace(/^[A-Z_]+\s*=\s*/, '')),
  );
}
