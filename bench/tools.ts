// The two contenders, doing the same job: a container whose root is an
// overlay of the host root with a persistent upper dir, its own netns with
// one veth to the host, a minimal PID 1 and no services, run as a systemd
// service. Names, units and what "nothing left" means for each.
import type { Sandbox } from '../test/sandbox/sandbox.js';
import { makeSubhost } from '../test/e2e/kit.js';

export type ToolKey = 'ob' | 'ns';

export interface Tool {
  key: ToolKey;
  label: string;
  /** The unit started and stopped over D-Bus. */
  unit(name: string): string;
  /** Every unit that must be inactive when it is stopped (main unit first). */
  units(name: string): string[];
  /** Host (sandbox) end of its veth. */
  veth(name: string): string;
  /** A named netns file that must be gone after stop, if any. */
  netnsFile?(name: string): string;
  /** Prepare directories (and config) for instance NAME inside the sandbox. */
  prepare(sb: Sandbox, name: string): Promise<string>;
  /**
   * The same for many instances in one command inside the sandbox (hundreds
   * of configs: one process, not one per instance); returns what prepare()
   * returns, per name.
   */
  prepareAll(sb: Sandbox, names: string[]): Promise<Record<string, string>>;
}

/** Runs SCRIPT (bash, instance names as arguments) inside the sandbox, in batches of 500 names. */
async function forEachName(sb: Sandbox, script: string, names: string[], ...before: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 500) {
    const r = await sb.run(['bash', '-c', script, 'bench', ...before, ...names.slice(i, i + 500)]);
    if (r.exitCode !== 0) throw new Error(`prepare: ${r.stderr}`);
  }
}

/** The subhost config of every overlay-boot instance (START=none: no services). */
export const OB_CONF = 'BASE=.\nCABLES==\nSTART=none\n';

export const OB: Tool = {
  key: 'ob',
  label: 'overlay-boot 2',
  unit: (n) => `subhost@${n}.service`,
  units: (n) => [`subhost@${n}.service`, `subhost-netns@${n}.service`],
  veth: (n) => `${n}0`,
  netnsFile: (n) => `/run/netns/${n}`,
  async prepare(sb, n) {
    return (await makeSubhost(sb, n, OB_CONF)).conf;
  },
  // As makeSubhost() lays a subhost out: DATADIR/NAME/{root,work,live}, DATADIR/NAME/NAME.conf.
  async prepareAll(sb, names) {
    const script = `set -e; d=$1; c=$2; shift 2
for n; do mkdir -p "$d/$n/root" "$d/$n/work" "$d/$n/live"; printf '%s' "$c" > "$d/$n/$n.conf"; done`;
    await forEachName(sb, script, names, sb.dataDir, OB_CONF);
    return Object.fromEntries(names.map((n) => [n, `${sb.dataDir}/${n}/${n}.conf`]));
  },
};

/** Where the nspawn instances live (the sandbox's tmpfs: an upper dir cannot be on its overlay root). */
export const nsDir = (sb: Sandbox, n: string): string => `${sb.dataDir}/nspawn/${n}`;

/**
 * The nspawn side, written into the sandbox's /etc/systemd/system.
 * - nspawn 252 refuses --directory=/ ("Spawning container on root directory
 *   is not supported") and a directory without usr/ ("doesn't look like it
 *   has an OS tree"): --directory is an empty dir with an empty usr/, which
 *   --overlay=/:UPPER:/ then covers entirely (lower = the host root, UPPER
 *   persistent; nspawn makes and removes the overlay work dir next to UPPER).
 * - --as-pid2: nspawn's stub init is PID 1, sleep is the payload.
 * - --kill-signal=SIGRTMIN+3: on stop the stub init SIGTERMs the payload and
 *   exits when it is gone (the graceful stop overlay-boot's reaper does too).
 *   nspawn's default without --boot is SIGKILL and exit status 1 (unit failed).
 * - --register=no: no systemd-machined; --link-journal=no: the overlay
 *   carries the host's machine id; --console=pipe: no pty.
 * - Type=notify: nspawn sends READY=1 itself once the payload runs
 *   (--notify-ready=no). Delegate=yes: nspawn makes payload/ and supervisor/
 *   cgroups below the unit's (--keep-unit).
 */
export function nspawnUnit(dataDir: string): string {
  return `[Unit]
Description=systemd-nspawn benchmark container %i

[Service]
Type=notify
Delegate=yes
KillMode=mixed
ExecStart=/usr/bin/systemd-nspawn ${nspawnArgs(`${dataDir}/nspawn/%i`, '%i').join(' ')} /bin/sleep infinity
`;
}

/**
 * systemd-nspawn's options for the job (above), for a container in DIR
 * (DIR/empty with an empty usr/, DIR/upper) named MACHINE; the payload
 * follows. Also what the security table measures (test/hardening/escape.ts).
 */
export function nspawnArgs(dir: string, machine: string): string[] {
  return [
    '--quiet',
    '--keep-unit',
    '--register=no',
    '--as-pid2',
    '--notify-ready=no',
    '--console=pipe',
    '--link-journal=no',
    '--kill-signal=SIGRTMIN+3',
    `--directory=${dir}/empty`,
    `--overlay=/:${dir}/upper:/`,
    '--network-veth',
    `--machine=${machine}`,
  ];
}

export const NS: Tool = {
  key: 'ns',
  label: 'systemd-nspawn',
  unit: (n) => `nspawn-bench@${n}.service`,
  units: (n) => [`nspawn-bench@${n}.service`],
  // --network-veth: "ve-" + machine name (shortened with a hash past 15 characters).
  veth: (n) => `ve-${n}`,
  async prepare(sb, n) {
    const d = nsDir(sb, n);
    const r = await sb.run(['mkdir', '-p', `${d}/empty/usr`, `${d}/upper`]);
    if (r.exitCode !== 0) throw new Error(r.stderr);
    return d;
  },
  async prepareAll(sb, names) {
    await forEachName(sb, 'set -e; d=$1; shift; for n; do mkdir -p "$d/$n/empty/usr" "$d/$n/upper"; done', names, `${sb.dataDir}/nspawn`);
    return Object.fromEntries(names.map((n) => [n, nsDir(sb, n)]));
  },
};

export const TOOLS: Record<ToolKey, Tool> = { ob: OB, ns: NS };
