// ExecStart of subhost-netns@NAME.service when no valid netns plan exists:
// the plan just computed (lib/plan/netns.ts) is run by subhost-netns (C).
import { execa } from 'execa';
import { libDir } from '../lib/paths.js';
import { Failure } from '../lib/errors.js';

/** Run a plan file with `subhost-netns up --run` (no checks: it was just computed). */
export async function runNetnsPlan(name: string, stateFile: string, plan: string): Promise<void> {
  const r = await execa(`${libDir()}/subhost-netns`, ['up', '--run', name, stateFile, plan], { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) throw new Failure(''); // subhost-netns said why
}
