// ExecStart of subhost@NAME.service when no valid plan exists yet (the
// unit runs `subhost-enter --plan ... --or` this): everything 1.6's
// overlay-boot did after `unshare -m`, computed here and performed by the
// native helper subhost-enter, in the unit's private mount namespace (the
// subhost-enter that exec'd this made it) and inside the subhost's netns.
//
// The plan is the helper's whole argument list: checks, PREMOUNT, the
// overlay, the default POSTMOUNT, SHARE binds, the reaper, and `enter`
// (new pid/mount/ipc/uts/time namespaces, pivot_root into LIVE, the init
// script, readiness). When the config runs no commands and uses the
// built-in hooks, the plan is kept in /run/overlay-boot/plans/NAME.start
// with the signatures of the files it came from, so the next start runs
// it natively without Node.js (and so does the generator's plan at boot).
//
// A failure anywhere leaves nothing: mounts live in this unit's mount
// namespace, which dies with our processes, and subhost-enter removes
// what it had made in UPPER.
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SubhostConfig } from '../lib/config/fields.js';
import { libDir } from '../lib/paths.js';
import { Failure } from '../lib/errors.js';
import { keepStartPlan, planSig } from '../lib/plan/keep.js';
import {
  checkOps,
  guardOps,
  overlayOps,
  privateUsersOps,
  postmountOps,
  relayOps,
  premountOps,
  reaperOps,
  shareOps,
  hostFacts,
  builtinHooks,
  startPlan,
  enterArgs,
  writePlan,
  inPlace,
  lockOps,
  undoJournal,
  type HostFacts,
} from '../lib/plan/plan.js';
import { opsToArgv, type Op } from '../lib/plan/ops.js';
import { initScript } from '../lib/plan/init-script.js';
import { absentBefore, undoCreated } from './undo.js';

async function runHook(c: SubhostConfig, argv: string[], extra: string[], defaults: string): Promise<string> {
  const r = await execa(argv[0]!, [...argv.slice(1), ...extra], {
    env: { CONFIG: c.CONFIG, ACTION: 'overlay-boot', OVERLAY_BOOT_DEFAULTS: defaults },
    cwd: c.BASE,
    stdin: 'ignore',
    stderr: 'inherit',
    reject: false,
  });
  if (r.exitCode !== 0) throw new Failure(`${argv.join(' ')} failed (exit status ${r.exitCode ?? r.signal})`);
  return r.stdout;
}

async function helper(argv: string[]): Promise<void> {
  // This process is the unit's main process (NotifyAccess=main): the
  // helper tells systemd of the start's progress on its behalf.
  const r = await execa(`${libDir()}/subhost-enter`, argv, {
    stdio: 'inherit',
    reject: false,
    env: { OVERLAY_BOOT_MAIN_PID: String(process.pid) },
  });
  if (r.exitCode !== 0) throw new Failure(`subhost-enter failed (exit status ${r.exitCode ?? r.signal})`);
}

/**
 * Start subhost c. `cacheable`: its config ran no commands, so the plan
 * stays valid until one of the files it came from changes.
 */
export async function start(c: SubhostConfig, pidfile: string, cacheable: boolean): Promise<void> {
  const facts = hostFacts();
  if (builtinHooks(c)) {
    const argv = cacheable
      ? keepStartPlan(c, planSig(c.NAME, c.CONFIG, process.env.OVERLAY_BOOT_CONF), facts, pidfile)!
      : startPlan(c, facts, pidfile);
    return helper(argv);
  }
  const absent = c.UPPER === c.LIVE ? [] : absentBefore(c);
  try {
    await startWithHooks(c, pidfile, facts);
  } catch (e) {
    undoCreated(absent);
    throw e;
  }
}

/**
 * The default hooks' steps for this start, for a custom hook that runs
 * the default (1.6's wrapper hooks): the programs overlay-premount,
 * overlay-postmount (runtime/overlay-*: subhost-enter --plan FILE) and
 * overlay-init (prints FILE) read them from $OVERLAY_BOOT_DEFAULTS.
 */
function writeDefaults(dir: string, c: SubhostConfig, facts: HostFacts, guard: Op[]): void {
  writePlan(`${dir}/premount`, [], opsToArgv([...guard, ...premountOps(c)]));
  writePlan(`${dir}/postmount`, [], opsToArgv([...guard, ...privateUsersOps(c), ...postmountOps(c, facts)]));
  writeFileSync(`${dir}/init`, initScript(c), { mode: 0o600 });
}

// Custom hooks run here, between the native steps they must follow. Every
// helper run notes what it makes in the same undo journal (the netns
// unit's stop replays it if the start does not succeed).
async function startWithHooks(c: SubhostConfig, pidfile: string, facts: HostFacts): Promise<void> {
  const { PREMOUNT: pre, POSTMOUNT: post, INIT: init } = c;
  const guard = guardOps(c, undoJournal(c.NAME));
  const defaults = `${dirname(pidfile)}/defaults`;
  writeDefaults(defaults, c, facts, guard);
  const first: Op[] = [...checkOps(c), ...lockOps(c), ['link-up', 'lo'], ...guard];
  if ('builtin' in pre) first.push(...premountOps(c));
  await helper(opsToArgv(first));
  if ('argv' in pre && !inPlace(c)) await runHook(c, pre.argv, [c.UPPER], defaults);
  let ops: Op[] = overlayOps(c);
  if ('argv' in post) {
    // A custom POSTMOUNT must see the mounted overlay: mount it first.
    if (ops.length) await helper(opsToArgv([...guard, ...privateUsersOps(c), ...ops]));
    await runHook(c, post.argv, [c.LIVE, c.UPPER], defaults);
    ops = [];
  } else {
    ops.push(...postmountOps(c, facts));
  }
  // The locks again, in the process that enters: held from here on by
  // systemd (a hook's run in between cannot hold them). Other mounts were
  // looked for by the first run, before this start mounted its overlay.
  ops.unshift(...lockOps(c, false), ...guard, ...privateUsersOps(c));
  ops.push(...shareOps(c), ...reaperOps(c, facts), ...relayOps(c, facts));
  const script = 'builtin' in init ? initScript(c) : await runHook(c, init.argv, [], defaults);
  await helper([...opsToArgv(ops), ...enterArgs(c, pidfile, 'builtin' in init), script, `init-${c.NAME}`]);
}
