// Load the config of subhost NAME for the runtime: find it, evaluate its
// `!cmd` values (only the keys asked for: the netns unit needs CABLES,
// not LOWER), and turn every problem into one journal line.
import { findConf } from '../lib/registry.js';
import { loadConfig, type Variable } from '../lib/config/load.js';
import { reportLines, type Problem } from '../lib/config/problem.js';
import type { SubhostConfig } from '../lib/config/fields.js';
import { Failure } from '../lib/errors.js';
import { evaluateCommand } from './evaluate.js';

export interface Loaded<T> {
  config: T;
  /** Keys whose value came from running a `!command`: a plan made from them cannot be reused. */
  commands: Variable[];
  /** Keys holding a `!command` left unrun (with `only`): the config is not static. */
  deferred: Variable[];
}

/**
 * The config of subhost NAME with every `!cmd` run; with `only`, just
 * those keys are evaluated and the result may be partial (the netns unit
 * needs CABLES and must not run LOWER's overlay-diskfile on the host).
 */
export async function loadSubhost(name: string): Promise<Loaded<SubhostConfig>>;
export async function loadSubhost(name: string, only: Variable[]): Promise<Loaded<Partial<SubhostConfig>>>;
export async function loadSubhost(name: string, only?: Variable[]): Promise<Loaded<Partial<SubhostConfig>>> {
  const found = findConf(name);
  if ('error' in found) throw new Failure(found.error);
  const r = await loadConfig(found.conf, {
    evaluate: async (cmd, ctx) => (only && !only.includes(ctx.key) && ctx.key !== 'BASE' ? undefined : evaluateCommand(cmd, ctx)),
    // With `only`, the rest is the subhost unit's to check and report.
    checkFs: !only,
  });
  const mine = (p: Problem) => !only || p.trust || !p.key || ['NAME', 'BASE', ...only].includes(p.key);
  const problems = r.problems.filter(mine);
  // A few lines at most into the journal (a file of garbage: a few, then a count).
  const lines = reportLines(r.file, problems, only ? [] : r.warnings);
  if (problems.length) throw new Failure(lines.join('\n'));
  for (const l of lines) process.stderr.write(`${l}\n`);
  const c = only ? r.partial : r.config!;
  if (c.NAME !== name) {
    throw new Failure(`${found.conf}: NAME is ${c.NAME}, but the unit is for ${name}`);
  }
  const commands = (Object.keys(r.resolved) as Variable[]).filter((k) => r.resolved[k]!.source.kind === 'command');
  return { config: c, commands, deferred: r.deferred };
}
