// A start plan is computed from a config and the files that decided which
// config it is. It records their signatures; subhost-enter (C) and
// subhost-netns (C, common.c) recompute them (same format) and fall back to the
// Node.js runtime when anything changed: an edited config takes effect on
// the next start, with or without a daemon-reload.
import { lstatSync } from 'node:fs';
import { libDir } from '../paths.js';

/** dev:ino:size:mtime (lstat), as `stat -c %d:%i:%s:%.9Y` and native/common.c; "absent" when missing. */
export function statSig(path: string): string {
  try {
    const s = lstatSync(path, { bigint: true });
    const ns = s.mtimeNs;
    return `${s.dev}:${s.ino}:${s.size}:${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
}

/**
 * The check ops of the package's own executors: a plan kept across a
 * package upgrade is recomputed rather than read by a newer helper. The
 * generator takes them once per run for all its plans (the same two
 * files for every config).
 */
export function executorSigOps(): string[][] {
  return [`${libDir()}/subhost-enter`, `${libDir()}/subhost-netns`].map((f) => ['check-stat', f, statSig(f)]);
}

/**
 * The check ops a plan starts with: it holds while these hold. The
 * package's own executors are among the files (executorSigOps(), taken
 * now unless given).
 */
export function sigOps(conf: string, envConf: string | undefined, lookupFiles: string[], executors = executorSigOps()): string[][] {
  const ops = [
    ['check-env', 'OVERLAY_BOOT_CONF', envConf ?? '-'],
    ['check-stat', conf, statSig(conf)],
  ];
  for (const f of lookupFiles) ops.push(['check-stat', f, statSig(f)]);
  return [...ops, ...executors];
}
