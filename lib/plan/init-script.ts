// The default INIT: the shell script that runs as the subhost's first
// process (PID 1, already inside LIVE with /proc mounted), as 1.6's
// overlay-init printed it. It starts the START entries in order, parks a
// dummy service when there are none, and becomes the reaper, telling it
// which services to stop (in reverse order) when systemd stops the unit.
import type { SubhostConfig } from '../config/fields.js';

// START entries are validated to hold no shell syntax; quote anyway.
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function initScript(c: SubhostConfig): string {
  const services = c.START.filter((s) => !s.startsWith('/'));
  const stop = [...services].reverse().join(' ');
  const lines = [
    '#!/bin/sh',
    `# overlay-boot init for subhost ${c.NAME}`,
    // The readiness pipe is for the reaper only: services must not inherit it.
    'close_ready() { [ -n "$OVERLAY_BOOT_READY_FD" ] && eval "exec $OVERLAY_BOOT_READY_FD>&-"; }',
    'start_service() {',
    '    case "$1" in',
    '    /*) echo "overlay-boot: running $1" >&2; ( close_ready; "$1" ) ;;',
    '    *)  if ! command -v service >/dev/null; then',
    '            echo "overlay-boot: cannot start $1: no service command" >&2',
    '        elif command -v setsid >/dev/null; then',
    '            echo "overlay-boot: starting $1" >&2; ( close_ready; exec setsid -w service "$1" start )',
    '        else',
    '            echo "overlay-boot: starting $1 (in session 0)" >&2; ( close_ready; exec service "$1" start )',
    '        fi ;;',
    '    esac',
    '}',
  ];
  for (const s of c.START) lines.push(`start_service ${q(s)}`);
  // 1.6's dummy_service, started whatever START holds (as 1.6 did): the
  // subhost stays up for overlay-go even when no service runs (START=none,
  // or services that failed); writing to /run/dummy_service ends it.
  lines.push(
    '[ -p /run/dummy_service ] || mkfifo /run/dummy_service',
    // Its own small sh, so that ps shows a dummy_service, not this script.
    `( close_ready; exec /bin/sh -c 'printf dummy_service > /proc/self/comm; read X < /run/dummy_service' dummy_service ) &`,
  );
  lines.push(`export OVERLAY_BOOT_STOP=${q(stop)}`, `exec ${c.REAPER} ${q(c.NAME)}`);
  return `${lines.join('\n')}\n`;
}
