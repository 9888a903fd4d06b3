// Run a `VAR=!command` value as 1.6 did (`V="$($W)"`: the words of the
// value, no shell), with CONFIG and ACTION in its environment and the
// package's helpers (overlay-diskfile) on PATH. Commands run in the unit's
// private mount namespace: what they mount is the subhost's alone.
import { execa } from 'execa';
import { commandPath } from '../lib/config/program.js';
import type { Evaluator } from '../lib/config/load.js';

export const evaluateCommand: Evaluator = async (command, ctx) => {
  const [file, ...args] = command.split(/\s+/).filter(Boolean);
  if (!file) throw new Error('empty command');
  // Only a program the loader found and checked to be root's alone
  // (lib/config/trust.ts), by the path it checked.
  if (!ctx.program) throw new Error(`no program ${file}${file.includes('/') ? '' : ` in ${commandPath()}`}`);
  const r = await execa(ctx.program, args, {
    cwd: ctx.cwd,
    env: {
      CONFIG: ctx.config,
      ACTION: 'overlay-boot',
      // Which variable is being computed (overlay-diskfile mounts an image
      // read-only for LOWER, read-write for UPPER).
      OVERLAY_BOOT_KEY: ctx.key,
      PATH: commandPath(),
    },
    stdin: 'ignore',
    stderr: 'inherit',
    reject: false,
    timeout: 60_000,
  });
  if (r.exitCode !== 0 || r.failed) {
    throw new Error(r.exitCode !== undefined ? `exit status ${r.exitCode}` : r.shortMessage);
  }
  return r.stdout;
};
