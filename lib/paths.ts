// Where the package's own files live. Installed: /usr/lib/overlay-boot,
// holding the bundled entry points and the native helpers side by side.
// A bundle run from a build tree (dist/) finds its helpers beside itself,
// so tests and the demo need no install; OVERLAY_BOOT_LIBDIR overrides.
import { dirname } from 'node:path';
import { existsSync, realpathSync } from 'node:fs';

let cached: string | undefined;
export function libDir(): string {
  if (process.env.OVERLAY_BOOT_LIBDIR) return process.env.OVERLAY_BOOT_LIBDIR;
  if (cached === undefined) {
    let self = process.argv[1] ?? '';
    try {
      self = realpathSync(self); // /usr/sbin/overlay-boot -> /usr/lib/overlay-boot/overlay-boot.cjs
    } catch {
      /* not a file: keep as is */
    }
    const here = dirname(self);
    cached = self.endsWith('.cjs') && existsSync(`${here}/subhost-enter`) ? here : '/usr/lib/overlay-boot';
  }
  return cached;
}

/** The 1.6 registry of subhosts started at boot. */
export const SUBHOSTS_CONF = process.env.OVERLAY_BOOT_SUBHOSTS_CONF || '/etc/subhosts.conf';

/** Configs registered for this boot only (`overlay-boot start CONF`). */
export const RUNTIME_REGISTRY = '/run/overlay-boot/registry';

/** Start plans kept by the runtime between starts (see lib/plan/plan.ts). */
export const PLAN_DIR = '/run/overlay-boot/plans';
/** Undo journals of starts (lib/plan/plan.ts undoJournal). */
export const UNDO_DIR = '/run/overlay-boot/undo';
/** One lock file per UPPER, WORK and LIVE in use (native/lock.c, lib/storage/owner.ts). */
export const LOCK_DIR = '/run/overlay-boot/locks';
/** The file systems to be mounted (the generator: may a config be there once they are?). */
export const fstabPath = (): string => process.env.OVERLAY_BOOT_FSTAB || '/etc/fstab';
