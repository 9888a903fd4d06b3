// The default INIT: the shell script that runs as the subhost's first
// process (PID 1, already inside LIVE with /proc mounted), as 1.6's
// overlay-init printed it. It starts the START entries in order and
// becomes the reaper, telling it which services to stop (in reverse
// order) when systemd stops the unit and to hold 1.6's dummy service.
//
// Each entry's name and exit status go to the journal in fixed lines
// (START_LINE below; `overlay-boot start` reads them back to warn about
// failed entries); an entry that runs longer than START_TIMEOUT is
// stopped and the start carries on, as 1.6 carried on past a failed
// entry. The limit is kept with the subhost's own sh and sleep: nothing
// else is known to exist in a custom LOWER.
import type { SubhostConfig } from '../config/fields.js';

// START entries are validated to hold no shell syntax; quote anyway.
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** 1.6's dummy service's FIFO: anything written to it ends that service. */
export const DUMMY_FIFO = '/run/dummy_service';

/**
 * The lines the script writes for each entry and at the end, as parsed by
 * the command (cli/support/start-report.ts). Entries hold no blanks (StartSchema).
 */
export const START_LINE = {
  started: (e: string) => `overlay-boot: ${e} started`,
  failed: (e: string, status: number | string) => `overlay-boot: ${e} failed (exit status ${status})`,
  timedOut: (e: string, secs: number | string) =>
    `overlay-boot: ${e} did not finish within ${secs}s (START_TIMEOUT): stopped it, carrying on`,
  done: (failed: number | string) => `overlay-boot: START done, ${failed} failed`,
};

export function initScript(c: SubhostConfig): string {
  const services = c.START.filter((s) => !s.startsWith('/'));
  const stop = [...services].reverse().join(' ');
  const limit = c.START_TIMEOUT ?? 30;
  const lines = [
    '#!/bin/sh',
    `# overlay-boot init for subhost ${c.NAME}`,
    // The readiness pipe is for the reaper only: services must not inherit it.
    'close_ready() { [ -n "$OVERLAY_BOOT_READY_FD" ] && eval "exec $OVERLAY_BOOT_READY_FD>&-"; }',
    // Progress for subhost-enter's STATUS= lines, on the same pipe: an item
    // per line ("S" ENTRY: starting it, "D" STARTED FAILED: all done; see
    // native/enter.c). $1 is expanded by eval inside quotes: never code.
    'tell() { [ -z "$OVERLAY_BOOT_READY_FD" ] || eval \'printf "%s\\n" "$1" >&\'"$OVERLAY_BOOT_READY_FD"; }',
    `limit=${limit}`,
    'failed=0',
    'if [ "$limit" -gt 0 ] && ! command -v sleep >/dev/null; then',
    '    echo "overlay-boot: no sleep command: START entries run without a time limit" >&2; limit=0',
    'fi',
    // The entry runs in a session of its own when setsid exists, so that a
    // hanging one is stopped with whatever it started in its group (a
    // daemon that detached properly has left the group and stays). The
    // watcher exits 7 when it had to stop the entry, 0 when told to go.
    'run_entry() {',
    '    entry=$1; shift',
    '    if command -v setsid >/dev/null; then',
    '        ( close_ready; exec setsid -w "$@" ) &',
    '    else',
    '        ( close_ready; exec "$@" ) &',
    '    fi',
    '    pid=$!; watch=',
    '    if [ "$limit" -gt 0 ]; then',
    // A TERM (the entry ended first) may come before the sleep's PID is
    // known: until then it only marks the watcher, which then ends it.
    '        ( close_ready; rc=0; term=',
    "          trap 'term=1' TERM",
    '          sleep "$limit" & s=$!',
    "          trap 'kill $s 2>/dev/null; exit $rc' TERM",
    '          [ -z "$term" ] || { kill $s 2>/dev/null; exit $rc; }',
    '          wait $s',
    '          rc=7',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${limit}, followed by "s"
    `          echo "${START_LINE.timedOut('$entry', '${limit}')}" >&2`,
    '          kill -TERM -$pid 2>/dev/null || kill -TERM $pid 2>/dev/null',
    '          sleep 5 & s=$!; wait $s',
    '          kill -KILL -$pid 2>/dev/null || kill -KILL $pid 2>/dev/null',
    '          exit 7 ) &',
    '        watch=$!',
    '    fi',
    '    wait $pid; st=$?; fired=0',
    '    if [ -n "$watch" ]; then',
    '        kill -TERM $watch 2>/dev/null; wait $watch; [ $? = 7 ] && fired=1',
    '    fi',
    '    if [ $fired = 1 ]; then',
    '        failed=$((failed + 1))',
    '    elif [ $st = 0 ]; then',
    `        echo "${START_LINE.started('$entry')}" >&2`,
    '    else',
    `        echo "${START_LINE.failed('$entry', '$st')}" >&2; failed=$((failed + 1))`,
    '    fi',
    '}',
    'start_service() {',
    '    case "$1" in',
    '    /*) echo "overlay-boot: running $1" >&2; tell "S$1"; run_entry "$1" "$1" ;;',
    '    *)  if ! command -v service >/dev/null; then',
    '            echo "overlay-boot: cannot start $1: no service command" >&2',
    `            echo "${START_LINE.failed('$1', 127)}" >&2; failed=$((failed + 1))`,
    '        else',
    '            echo "overlay-boot: starting $1" >&2; tell "S$1"; run_entry "$1" service "$1" start',
    '        fi ;;',
    '    esac',
    '}',
  ];
  for (const s of c.START) lines.push(`start_service ${q(s)}`);
  lines.push(`tell "D$((${c.START.length} - failed)) $failed"`);
  // 1.6's dummy_service, whatever START holds (as 1.6 did): the subhost
  // stays up for overlay-go even when no service runs (START=none, or
  // services that failed); writing to /run/dummy_service ends it. Our
  // reaper holds that FIFO itself (no process of its own); a custom
  // REAPER cannot, so it gets 1.6's sh reading it.
  if (c.REAPER === '/.reaper') {
    lines.push(`echo "${START_LINE.done('$failed')}" >&2`, `export OVERLAY_BOOT_DUMMY=${DUMMY_FIFO}`);
  } else {
    lines.push(
      `[ -p ${DUMMY_FIFO} ] || mkfifo ${DUMMY_FIFO}`,
      // Its own small sh, so that ps shows a dummy_service, not this script.
      `( close_ready; exec /bin/sh -c 'printf dummy_service > /proc/self/comm; read X < ${DUMMY_FIFO}' dummy_service ) &`,
      `echo "${START_LINE.done('$failed')}" >&2`,
    );
  }
  lines.push(`export OVERLAY_BOOT_STOP=${q(stop)}`);
  if (c.REAPER !== '/.reaper') {
    // A custom REAPER cannot report readiness: the start is ready once it
    // is sure to be exec'd; one that is not there fails the start here,
    // with the reason, instead of killing the subhost right after.
    lines.push(
      `if [ ! -f ${q(c.REAPER)} ] || [ ! -x ${q(c.REAPER)} ]; then`,
      `    echo "overlay-boot: REAPER ${c.REAPER} is not an executable file inside the subhost" >&2; exit 1`,
      'fi',
      '[ -n "$OVERLAY_BOOT_READY_FD" ] && { eval "printf R >&$OVERLAY_BOOT_READY_FD"; close_ready; unset OVERLAY_BOOT_READY_FD; }',
    );
  }
  lines.push(`exec ${q(c.REAPER)} ${q(c.NAME)}`);
  return `${lines.join('\n')}\n`;
}

/** Linux's limit on one argument of exec(2) (MAX_ARG_STRLEN, 32 pages), its NUL included. */
export const MAX_ARG_BYTES = 32 * 4096;

/**
 * The init script is one argument of `sh -c` (subhost-enter's enter):
 * a START list so long that the script does not fit, as a problem of
 * START (check and create say it; the start would fail with E2BIG).
 */
export function initScriptTooLong(c: SubhostConfig): string | undefined {
  const bytes = Buffer.byteLength(initScript(c)) + 1;
  if (bytes <= MAX_ARG_BYTES) return undefined;
  return `${c.START.length} entries make the subhost's start script ${bytes} bytes, more than exec(2) takes in one argument (${MAX_ARG_BYTES}): list fewer (start the rest from one of them)`;
}
