// What the sandbox's / gets on top of the host's root before systemd starts:
// its own boot target, masks, a machine id, and the caller's files. All of it
// is written into the overlay's upper dir (see paths.ts for why through
// writeInLayers and not a plain join).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveInside, mkdirParentsInLayer, writeInLayers } from './paths.js';
import { newMachineId } from './scratch.js';

/** The unit the sandbox's systemd boots (--unit=). */
export const SANDBOX_TARGET = 'overlay-boot-test.target';

/**
 * Units masked in every sandbox, and why. Masking (a link to /dev/null in
 * /etc/systemd/system) also covers units pulled in by the host's own
 * configuration (e.g. /etc/systemd/system/sysinit.target.wants).
 */
export const DEFAULT_MASKS: readonly string[] = [
  // Would act on the host: the sandbox shares the kernel, /dev and the clock.
  'systemd-udevd.service', // /sys is writable; udev would (re)configure host devices
  'systemd-udevd-control.socket',
  'systemd-udevd-kernel.socket',
  'systemd-udev-trigger.service', // writes "add" into every /sys/.../uevent
  'systemd-udev-settle.service',
  'systemd-sysctl.service', // most sysctls are not namespaced
  'systemd-modules-load.service',
  'kmod-static-nodes.service',
  'systemd-tmpfiles-setup-dev.service', // creates nodes in the host's /dev (rbind)
  'systemd-binfmt.service',
  'proc-sys-fs-binfmt_misc.automount',
  'proc-sys-fs-binfmt_misc.mount',
  'systemd-timesyncd.service', // would set the host clock
  'systemd-pstore.service', // moves (deletes) the host's pstore records
  'systemd-random-seed.service',
  'systemd-journald-audit.socket', // audit is per host, not per net ns
  'sys-kernel-config.mount',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-fs-fuse-connections.mount',
  'dev-hugepages.mount',
  'fstrim.service',
  'fstrim.timer',
  'e2scrub_all.service',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  // Slow the boot for nothing: ConditionNeedsUpdate=/etc is true as soon as we
  // write /etc/machine-id into the upper dir, and hwdb/ldconfig take seconds.
  'ldconfig.service',
  'systemd-hwdb-update.service',
  'systemd-journal-catalog-update.service',
  'systemd-update-done.service',
  'systemd-firstboot.service',
  'systemd-machine-id-commit.service',
  'systemd-repart.service',
  'systemd-pcrphase.service',
  'systemd-pcrphase-sysinit.service',
  'systemd-ask-password-console.path',
  'systemd-ask-password-wall.path',
  // Do not belong in a test sandbox (the image ships PostgreSQL).
  'postgresql.service',
  'postgresql@.service',
  'getty@.service',
  'serial-getty@.service',
  'console-getty.service',
  'container-getty@.service',
  'getty-static.service',
  'ssh.service',
  'sshd.service',
  'ssh.socket',
  'ssh@.service',
  'rescue-ssh.target',
  // Installed by scripts/setup.sh for test/e2e/services.test.ts, which
  // starts them inside a subhost only, never in the sandbox itself.
  'postfix.service',
  'postfix@.service',
  'postfix-resolvconf.path',
  'postfix-resolvconf.service',
  'rsyslog.service',
  'syslog.socket',
  'cron.service',
  'anacron.service',
  'anacron.timer',
  'networking.service',
  'ifup@.service',
  'systemd-networkd.service',
  'systemd-networkd.socket',
  'systemd-networkd-wait-online.service',
  'systemd-network-generator.service',
  'systemd-resolved.service',
  'apt-daily.service',
  'apt-daily.timer',
  'apt-daily-upgrade.service',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.service',
  'dpkg-db-backup.timer',
  'man-db.service',
  'man-db.timer',
  'logrotate.service',
  'logrotate.timer',
];

export type FileSpec = string | Buffer | { content: string | Buffer; mode?: number };

export interface ImageOptions {
  /** Extra units to mask. */
  mask?: string[];
  /** Extra units the boot target pulls in (Wants= and After=). */
  wants?: string[];
  /** Files to place before boot (paths inside the sandbox). */
  files?: Record<string, FileSpec>;
  /** Hostname inside. */
  hostname?: string;
}

function targetUnit(wants: string[]): string {
  const extra = wants.length > 0 ? wants.join(' ') : '';
  // Only what a test needs: sysinit basics, journald and the system bus.
  // Not basic.target: it pulls timers/paths/sockets the sandbox does not use.
  return [
    '# Written by test/sandbox/image.ts: the boot target of the test sandbox.',
    '[Unit]',
    'Description=overlay-boot test sandbox',
    'Requires=sysinit.target systemd-journald.socket dbus.socket',
    `Wants=systemd-journald.service systemd-journald-dev-log.socket dbus.service ${extra}`.trimEnd(),
    `After=sysinit.target systemd-journald.socket dbus.socket dbus.service ${extra}`.trimEnd(),
    'AllowIsolate=yes',
    '',
  ].join('\n');
}

function assertUnitName(name: string): void {
  if (!/^[A-Za-z0-9:_.\\@-]+$/.test(name) || name.includes('/')) {
    throw new Error(`not a unit name: ${name}`);
  }
}

async function replaceSymlink(host: string, target: string): Promise<void> {
  await fs.rm(host, { force: true });
  await fs.symlink(target, host);
}

/**
 * Writes the sandbox's configuration into `upper` (lower layer: the host's /).
 * Idempotent, so a reboot on the same upper dir can call it again; the
 * machine id is only created once (a reboot keeps the machine's identity).
 */
export async function prepareImage(upper: string, opts: ImageOptions): Promise<void> {
  const layers = [upper, '/'];
  const unitDir = await resolveInside(layers, '/etc/systemd/system');

  await writeInLayers(layers, `${unitDir}/${SANDBOX_TARGET}`, targetUnit(opts.wants ?? []), 0o644);
  for (const name of [...DEFAULT_MASKS, ...(opts.mask ?? [])]) {
    assertUnitName(name);
    const inside = `${unitDir}/${name}`;
    await mkdirParentsInLayer(layers, inside);
    await replaceSymlink(path.join(upper, inside), '/dev/null');
  }

  // journald and D-Bus need a valid id; the host's must not be shared (two
  // sandboxes would write into the same journal dir name).
  const machineId = path.join(upper, await resolveInside(layers, '/etc/machine-id'));
  const existing = await fs.readFile(machineId, 'utf8').catch(() => '');
  if (!/^[0-9a-f]{32}\n?$/.test(existing)) {
    await writeInLayers(layers, '/etc/machine-id', `${newMachineId()}\n`, 0o444);
  }
  await writeInLayers(layers, '/etc/hostname', `${opts.hostname ?? 'obt-sandbox'}\n`, 0o644);
  // /dev/kmsg inside is /dev/null (stage.sh): do not poll it; keep the journal in /run.
  await writeInLayers(
    layers,
    '/etc/systemd/journald.conf.d/obt-sandbox.conf',
    '# Written by test/sandbox/image.ts\n[Journal]\nReadKMsg=no\nStorage=volatile\n',
    0o644,
  );
  // The host's fstab could name host disks; the sandbox mounts nothing from it.
  await writeInLayers(layers, '/etc/fstab', '# test sandbox: nothing to mount\n', 0o644);

  for (const [p, spec] of Object.entries(opts.files ?? {})) {
    if (typeof spec === 'string' || Buffer.isBuffer(spec)) {
      await writeInLayers(layers, p, spec);
    } else {
      await writeInLayers(layers, p, spec.content, spec.mode);
    }
  }
}
