// What `overlay-boot start` tells after systemd's job is done: that the
// subhost really runs (active, with a live main process), and which START
// entries failed. The default init script logs each entry's result and a
// last "START done" line (lib/plan/init-script.ts START_LINE); these are
// read back from the journal lines of this start (this invocation of the
// unit), waiting a little for journald to store them: it reads the
// service's output asynchronously. The lines come from inside the
// subhost (any process there could write such a line to its stderr), so
// they are parsed strictly and only entries of the config's START are
// named: the worst a subhost can do is a false warning.
import { readFileSync } from 'node:fs';
import type { SystemdManager } from '../../lib/systemd.js';
import { subhostProps } from './dbus.js';

export interface EntryFailure {
  entry: string;
  /** "exit status N" or "did not finish within Ns (START_TIMEOUT)". */
  why: string;
}

export interface StartReport {
  failures: EntryFailure[];
  /** The "START done" line was found: the list is complete. */
  complete: boolean;
}

// Printable ASCII without blanks, as START entries are (StartSchema).
const ENTRY = String.raw`([\x21-\x7e]{1,200})`;
const FAILED = new RegExp(`^overlay-boot: ${ENTRY} failed \\(exit status ([0-9]{1,3})\\)$`);
const TIMED_OUT = new RegExp(`^overlay-boot: ${ENTRY} did not finish within ([0-9]{1,9})s \\(START_TIMEOUT\\): stopped it, carrying on$`);
const DONE = /^overlay-boot: START done, ([0-9]{1,4}) failed$/;

/** The START results in journal messages (in order), for the entries of `start`. */
export function parseStartLines(messages: string[], start: string[]): StartReport {
  const failures: EntryFailure[] = [];
  let complete = false;
  for (const m of messages) {
    const failed = FAILED.exec(m);
    const timedOut = TIMED_OUT.exec(m);
    if (failed && start.includes(failed[1]!)) failures.push({ entry: failed[1]!, why: `exit status ${Number(failed[2])}` });
    else if (timedOut && start.includes(timedOut[1]!))
      failures.push({ entry: timedOut[1]!, why: `did not finish within ${Number(timedOut[2])}s (START_TIMEOUT); it was stopped` });
    else if (DONE.test(m)) complete = true;
  }
  return { failures, complete };
}

/** The unit's InvocationID (128 bits) as the journal writes it: 32 hex digits. */
function invocationHex(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const bytes = Array.from(v as ArrayLike<number>);
  return bytes.length === 16 ? bytes.map((b) => b.toString(16).padStart(2, '0')).join('') : undefined;
}

/** MESSAGE fields of the unit's journal entries since `sinceMs`, of this invocation only. */
async function messages(unit: string, sinceMs: number, invocation: string | undefined): Promise<string[] | undefined> {
  // Loaded here: a start whose config has no START entries never reads them back.
  const { execa } = await import('execa');
  const r = await execa('journalctl', ['-u', unit, `--since=@${(sinceMs / 1000).toFixed(3)}`, '-o', 'json', '--no-pager', '-q'], {
    reject: false,
    timeout: 10_000,
    stdin: 'ignore',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.exitCode !== 0) return undefined;
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (invocation && e._SYSTEMD_INVOCATION_ID !== undefined && e._SYSTEMD_INVOCATION_ID !== invocation) continue;
    // Non-UTF-8 messages come as byte arrays: not ours.
    if (typeof e.MESSAGE === 'string') out.push(e.MESSAGE);
  }
  return out;
}

/**
 * Reads the START results of the start that began at `sinceMs`, waiting
 * up to `waitMs` for the init script's last line to reach the journal.
 */
export async function startReport(
  sm: SystemdManager,
  name: string,
  start: string[],
  sinceMs: number,
  waitMs = 5_000,
): Promise<StartReport> {
  const unit = `subhost@${name}.service`;
  const invocation = invocationHex((await subhostProps(sm, name)).unit.InvocationID);
  const end = Date.now() + waitMs;
  for (;;) {
    const m = await messages(unit, sinceMs, invocation);
    const rep = parseStartLines(m ?? [], start);
    if (rep.complete || m === undefined || Date.now() >= end) return rep;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether a process exists and is not a zombie (EPERM: it exists, but is not ours to signal). */
export function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // "PID (comm) S ...": comm may hold anything, the state follows its last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true; // no /proc to look at: kill() said it exists
  }
}
