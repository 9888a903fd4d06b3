// What the page changes goes through the commands, so it does exactly what
// `overlay-boot start|stop|enable|disable|create|remove` do from a shell,
// with their messages: as root through Cockpit's administrative access
// (the privileged bridge), or else as the user, where the commands' own
// pkexec re-run and systemd ask polkit (superuser: "try" is both). Restart
// is systemd's own.
import { OVERLAY_BOOT, type Subhost } from './model.js';

/** The one-line-or-more message of a failed command (its stderr), or of cockpit's failure. */
export function messageOf(e: unknown): string {
  const m = (e as { message?: string }).message ?? String(e);
  return m.trim() || 'failed';
}

/** Run a command as root with administrative access, else as the user; rejects with its stderr. */
export async function asAdmin(argv: string[]): Promise<string> {
  try {
    return await cockpit.spawn(argv, { superuser: 'try', err: 'message' });
  } catch (e) {
    throw new Error(messageOf(e));
  }
}

/** NAME, or the config when there is one (`start CONF` registers a config that is not listed). */
const target = (s: Subhost): string => s.config ?? s.name;

export const start = (s: Subhost) => asAdmin([OVERLAY_BOOT, 'start', target(s)]);
export const stop = (s: Subhost) => asAdmin([OVERLAY_BOOT, 'stop', s.name]);
export const enable = (s: Subhost) => asAdmin([OVERLAY_BOOT, 'enable', target(s)]);
export const disable = (s: Subhost) => asAdmin([OVERLAY_BOOT, 'disable', s.name]);
export const remove = (s: Subhost, purge: boolean) => asAdmin([OVERLAY_BOOT, 'remove', ...(purge ? ['--purge'] : []), target(s)]);

/** systemctl restart, over D-Bus (as root, or as the user through polkit): the unit is loaded, its config known to it. */
export async function restart(s: Subhost): Promise<void> {
  const client = cockpit.dbus('org.freedesktop.systemd1', { superuser: 'try' });
  try {
    await client.call('/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'RestartUnit', [s.unit, 'replace']);
  } catch (e) {
    throw new Error(messageOf(e));
  } finally {
    client.close();
  }
}

/** `overlay-boot check CONF` as its text (the config as it resolves, or its problems). */
export async function checkText(conf: string): Promise<string> {
  return new Promise((resolve) => {
    cockpit
      .spawn([OVERLAY_BOOT, 'check', conf], { superuser: 'try', err: 'out' })
      .then(resolve, ((_e: unknown, data: string | undefined) => resolve(data ?? '')) as (e: unknown) => void);
  });
}
