// The netns plan of a subhost: what subhost-netns (C) makes for
// subhost-netns@NAME.service, as tab-separated lines. Computed here from
// the config (pure), kept with the signatures of the files it came from
// when CABLES ran no command, so later starts need no Node.js. Running it
// is the runtime's (runtime/netns-up.ts).
import type { Cable } from '../config/cables.js';
import type { Containment } from '../config/fields.js';
import { writeFileAtomic } from '../atomic-write.js';

/**
 * The action lines (no checks) for subhost NAME's netns and cables. At
 * CONTAINMENT=private-users the netns is made inside the subhost's own
 * user namespace (its id range allocated at the first start).
 */
export function netnsPlanLines(name: string, cables: Cable[], level: Containment = 'contained'): string[] {
  const lines = [level === 'private-users' ? ['netns', name, 'private-users'] : ['netns', name]];
  for (const c of cables) {
    if (c.kind === 'veth') lines.push(['veth', c.hostIf, c.peerIf, c.mac ?? '-', c.bridge ?? '-']);
    else lines.push(['vlan', c.hostIf, c.parent, String(c.vlan), c.bridge ?? '-']);
  }
  return lines.map((l) => l.join('\t'));
}

export function netnsPlanContent(sig: string[][], lines: string[]): string {
  return `${[...sig.map((s) => s.join('\t')), ...lines].join('\n')}\n`;
}

export function writeNetnsPlan(path: string, sig: string[][], lines: string[]): void {
  writeFileAtomic(path, netnsPlanContent(sig, lines), { mode: 0o600, mkdirMode: 0o700 });
}
