// Where the package's own files live. Installed: /usr/lib/overlay-boot.
// Tests and the README's demo run from a build tree and say so with
// OVERLAY_BOOT_LIBDIR (set in the units they install).
export function libDir(): string {
  return process.env.OVERLAY_BOOT_LIBDIR || '/usr/lib/overlay-boot';
}

/** The 1.6 registry of subhosts started at boot. */
export const SUBHOSTS_CONF = process.env.OVERLAY_BOOT_SUBHOSTS_CONF || '/etc/subhosts.conf';

/** Configs registered for this boot only (`overlay-boot start CONF`). */
export const RUNTIME_REGISTRY = '/run/overlay-boot/registry';
