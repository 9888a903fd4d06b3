// The netns plan of a subhost: what subhost-netns-up (sh) makes for
// subhost-netns@NAME.service, as tab-separated lines. Computed here from
// the config (pure), kept with the signatures of the files it came from
// when CABLES ran no command, so later starts need no Node.js.
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import type { Cable } from '../lib/config/cables.js';
import { libDir } from '../lib/paths.js';
import { RuntimeError } from './errors.js';

/** The action lines (no checks) for subhost NAME's netns and cables. */
export function netnsPlanLines(name: string, cables: Cable[]): string[] {
  const lines = [['netns', name]];
  for (const c of cables) {
    if (c.kind === 'veth') lines.push(['veth', c.hostIf, c.peerIf, c.mac ?? '-', c.bridge ?? '-']);
    else lines.push(['vlan', c.hostIf, c.parent, String(c.vlan), c.bridge ?? '-']);
  }
  return lines.map((l) => l.join('\t'));
}

export function netnsPlanContent(sig: string[][], lines: string[]): string {
  return [...sig.map((s) => s.join('\t')), ...lines].join('\n') + '\n';
}

export function writeNetnsPlan(path: string, sig: string[][], lines: string[]): void {
  mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, netnsPlanContent(sig, lines), { mode: 0o600 });
  renameSync(tmp, path);
}

/** Run a plan file with subhost-netns-up (no checks: it was just computed). */
export async function runNetnsPlan(name: string, stateFile: string, plan: string): Promise<void> {
  const { execa } = await import('execa'); // not needed by the generator, which shares this module
  const r = await execa(`${libDir()}/subhost-netns-up`, ['--run', name, stateFile, plan], { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) throw new RuntimeError(''); // subhost-netns-up said why
}
