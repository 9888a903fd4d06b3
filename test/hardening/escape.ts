// The escape probe (escape-probe.c) and how to run it as one of a
// container's OWN processes, for the escape suite (escape.test.ts) and the
// security table (bench/security.ts):
// - a subhost runs probe/agent as a START entry: it leaves a loop behind
//   that serves probe runs through two FIFOs in the SHARE'd probe dir, so the
//   probe carries the subhost's capabilities, seccomp filter and cgroup (an
//   `nsenter -a` from the sandbox would carry the caller's);
// - systemd-nspawn runs the probe as its payload (bench/tools.ts's flags).
import { execa } from 'execa';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sandbox } from '../sandbox/sandbox.js';
import { ROOT, makeSubhost } from '../e2e/kit.js';
import { nspawnArgs } from '../../bench/tools.js';

export const PROBE_SRC = join(ROOT, 'test/hardening/escape-probe.c');
export const PROBE_BIN = join(ROOT, 'native/build/test/escape-probe');

/** Build the probe (static: it runs in whatever root the container has). */
export async function buildProbe(): Promise<void> {
  await mkdir(join(ROOT, 'native/build/test'), { recursive: true });
  await execa('gcc', ['-static', '-O', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-o', PROBE_BIN, PROBE_SRC]);
}

/** Every vector of issue 11, by the probe's names, with what each means (the security table's rows). */
export const VECTORS: ReadonlyArray<readonly [string, string]> = [
  ...(
    [
      'SYS_ADMIN',
      'SYS_MODULE',
      'SYS_RAWIO',
      'SYS_TIME',
      'SYS_BOOT',
      'SYSLOG',
      'MAC_ADMIN',
      'MAC_OVERRIDE',
      'BPF',
      'PERFMON',
      'SYS_PACCT',
      'WAKE_ALARM',
      'BLOCK_SUSPEND',
      'DAC_READ_SEARCH',
      'CHECKPOINT_RESTORE',
      'AUDIT_CONTROL',
    ] as const
  ).map((c) => [`cap-${c}`, `CAP_${c} in the bounding set`] as const),
  ['seccomp', 'a seccomp filter is missing'],
  ['keyctl', "keyctl(): the host root's keyrings (not namespaced)"],
  ['bpf', 'bpf(BPF_PROG_LOAD) passes the privilege check'],
  ['perf_event_open', 'perf_event_open() system-wide'],
  ['settime', 'settimeofday() passes the privilege check (the clock)'],
  ['kexec_load', 'kexec_load() passes the privilege check (another kernel)'],
  ['finit_module', 'finit_module() passes the privilege check (a module)'],
  ['swapon', 'swapon() passes the privilege check'],
  ['open_by_handle_at', 'open_by_handle_at() on a shared-in filesystem (any file of it, outside the share too)'],
  ['mknod-disk', 'mknod + open of a host block device'],
  ['mknod-kmsg', 'mknod + open of /dev/kmsg'],
  ['proc-sys-kernel', '/proc/sys/kernel/core_pattern opens for writing (host code execution)'],
  ['proc-sys-vm', '/proc/sys/vm/drop_caches opens for writing'],
  ['remount-proc-sys', '/proc/sys writable, or remountable read-write'],
  ['sysrq-trigger', '/proc/sysrq-trigger opens for writing'],
  ['kallsyms', '/proc/kallsyms shows kernel addresses'],
  ['kcore', '/proc/kcore readable'],
  ['proc-keys', "/proc/keys lists the host kernel's keys"],
  ['timer-list', "/proc/timer_list shows the host's timers (and their processes)"],
  ['dmesg', 'the kernel log readable (syslog(2))'],
  ['proc-kmsg', "/proc/kmsg opens (the kernel log, taken from the host's reader)"],
  ['cgroup-ns', 'the cgroup tree above its own visible (no cgroup namespace)'],
  ['cgroup-escape', "a parent cgroup's cgroup.procs opens for writing (leaving its limits)"],
  ['mount-proc', 'a fresh proc mounts'],
  ['mount-sysfs', 'a fresh sysfs mounts'],
  ['mount-cgroup2', 'a fresh cgroup2 mounts'],
  ['mount-debugfs', 'a fresh debugfs mounts'],
  ['mount-bpf', 'a fresh bpf filesystem mounts'],
  ['remount-sys', '/sys writable, or remountable read-write'],
  ['remount-reaper', 'the read-only /.reaper bind remounts read-write'],
  ['remount-share-ro', 'a read-only share (overlay-share --ro, nspawn --bind-ro) remounts read-write'],
  ['userns', 'a user namespace with a fresh proc can be made'],
  ['adjtime', "the host's /etc/adjtime opens for writing"],
  // issue 20: the host's terminals and audit log (h20edge)
  ['console-host', "the host's console (5:1) opens, as /dev/console or through mknod"],
  ['audit-user', "an AUDIT_USER message is accepted into the host's audit log"],
  ['host-caps', "effective capabilities in the host's user namespace (not only in its own: /proc/self/uid_map)"],
  [
    'ptrace-host',
    "PTRACE_SEIZE of a host-privileged process that entered its pid namespace (machined's os-release helper, nsenter -t PID -p)",
  ],
  ['proc-mem-host', '/proc/PID/mem of that process opens'],
  ['netnsid-host', "rtnetlink with IFLA_TARGET_NETNSID (the cable's nsid of the host netns) passes the privilege check there"],
  ['sched-fifo', "SCHED_FIFO realtime scheduling (the host's CPU)"],
  ['ioprio-rt', "realtime I/O priority (the host's disks)"],
  ['mlock-beyond', "mlock beyond RLIMIT_MEMLOCK (the host's memory)"],
];
export const VECTOR_NAMES = VECTORS.map(([n]) => n);
/**
 * What this kernel does not have: no sysrq and no kcore (ENOENT), no kexec
 * and no modules (ENOSYS): n/a wherever nothing else refuses them first.
 */
export const ABSENT_HERE = ['sysrq-trigger', 'kcore', 'kexec_load', 'finit_module'];

export type Verdict = 'open' | 'closed' | 'n/a';
export interface Finding {
  state: Verdict;
  detail: string;
}
export type Findings = Map<string, Finding>;

/** The probe's lines `NAME open|closed|n/a DETAIL`, by NAME (in order). */
export function parseProbe(out: string): Findings {
  const m: Findings = new Map();
  // \r: a shell on a pseudo-terminal (overlay-go) ends lines with CR LF.
  for (const line of out.replace(/\r/g, '').split('\n')) {
    const r = /^(\S+) (open|closed|n\/a) ?(.*)$/.exec(line);
    if (r) m.set(r[1]!, { state: r[2] as Verdict, detail: r[3]! });
    else if (line.trim()) throw new Error(`escape-probe: unexpected line: ${line}`);
  }
  if (m.size === 0) throw new Error(`escape-probe printed nothing: ${out}`);
  return m;
}

/**
 * The START entry. It returns at once (the start waits for absolute START
 * entries), leaving a loop that reads one line of probe arguments from
 * `request` and writes the probe's output to `answer`. The loop ends with
 * the subhost (the reaper signals everything at stop).
 */
const AGENT = `#!/bin/sh
# escape-probe agent: runs the probe on request, as the subhost's own process.
d=/probe
( exec </dev/null 2>/dev/null
  while read -r args < "$d/request"; do
    "$d/escape-probe" $args > "$d/answer" 2>&1
  done ) > /dev/null &
`;

/** Probe dir inside a subhost, and the config lines that run the agent there. */
export const PROBE_INSIDE = '/probe';
export const probeConfLines = (dir: string): string => `START=${PROBE_INSIDE}/agent\nSHARE=${dir}:${PROBE_INSIDE}\n`;

/** A subhost NAME whose START runs the agent, with dirs probe/ and rodata/ (for overlay-share --ro); not started. */
export async function makeProbedSubhost(sb: Sandbox, name: string, extraConf = ''): Promise<string> {
  const s = await makeSubhost(sb, name, `BASE=.\nCABLES==\n${probeConfLines('probe')}${extraConf}`, {
    dirs: ['root', 'work', 'live', 'probe', 'rodata'],
  });
  await installProbe(sb, `${sb.dataDir}/${name}/probe`);
  return s.conf;
}

/**
 * Probe running subhost NAME (made by makeProbedSubhost) from its agent,
 * after sharing its rodata/ read-only at /rodata with overlay-share.
 */
export async function probeSubhost(sb: Sandbox, name: string): Promise<Findings> {
  const share = await sb.run(['overlay-share', '--ro', `${sb.dataDir}/${name}/rodata`, name, '/rodata']);
  if (share.exitCode !== 0) throw new Error(`overlay-share --ro: ${share.stderr}`);
  return askAgent(sb, `${sb.dataDir}/${name}/probe`, probeArgs('/rodata'));
}

/** The probe in an `overlay-go NAME -- PROBE` shell (after probeSubhost). */
export async function probeOverlayGo(sb: Sandbox, name: string): Promise<Findings> {
  const r = await sb.run(['overlay-go', name, '--', `${PROBE_INSIDE}/escape-probe`, ...probeArgs('/rodata')]);
  if (r.exitCode !== 0) throw new Error(`overlay-go ${name}: exit ${r.exitCode}: ${r.stderr}`);
  return parseProbe(r.stdout);
}

/** Put the probe, the agent and the two FIFOs into DIR (a path inside the sandbox). */
export async function installProbe(sb: Sandbox, dir: string): Promise<void> {
  const r = await sb.run(['sh', '-c', 'mkdir -p "$1" && rm -f "$1/request" "$1/answer" && mkfifo "$1/request" "$1/answer"', 'sh', dir]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  await sb.writeFile(`${dir}/escape-probe`, await readFile(PROBE_BIN), 0o755);
  await sb.writeFile(`${dir}/agent`, AGENT, 0o755);
}

/**
 * Run the probe through the agent of a subhost whose probe dir is DIR
 * (inside the sandbox): one request, one answer. ARGS are probe options
 * (no spaces inside one).
 */
export async function askAgent(sb: Sandbox, dir: string, args: string[] = []): Promise<Findings> {
  const r = await sb.run(['sh', '-c', 'printf "%s\\n" "$2" > "$1/request" && cat "$1/answer"', 'sh', dir, args.join(' ')], {
    timeoutMs: 60_000,
  });
  if (r.exitCode !== 0)
    throw new Error(
      `escape-probe agent in ${dir}: exit ${r.exitCode}${r.timedOut ? ' (timed out: is the agent running?)' : ''}: ${r.stderr}`,
    );
  return parseProbe(r.stdout);
}

/** The probe's arguments inside a subhost whose probe dir is shared at /probe. */
export const probeArgs = (roShare?: string): string[] => [
  '-s',
  PROBE_INSIDE,
  ...(roShare ? ['-r', `share-ro=${roShare}`] : []),
  '-t',
  HOST_TARGET,
];

/**
 * The host-privileged process that enters a subhost's pid namespace (as
 * machined's os-release helper and an admin's `nsenter -t PID -p` do):
 * a copy of sleep(1) by this name, run from the sandbox with
 * `nsenter -t REAPER -p` as a transient service (the sandbox's root, its
 * user namespace and capabilities); stopped by its caller.
 */
export const HOST_TARGET = 'esc-target';
export async function startHostTarget(sb: Sandbox, name: string): Promise<string> {
  const unit = `esc-target-${name}`;
  const bin = `${sb.dataDir}/${HOST_TARGET}`;
  const pid = (await sb.run(['systemctl', 'show', '-P', 'MainPID', `subhost@${name}.service`])).stdout.trim();
  const r = await sb.run([
    'sh',
    '-c',
    'cp -f /bin/sleep "$1" && systemd-run --quiet --unit="$2" nsenter -t "$3" -p -- "$1" 600',
    'sh',
    bin,
    unit,
    pid,
  ]);
  if (r.exitCode !== 0) throw new Error(`host target: ${r.stderr}`);
  return `${unit}.service`;
}

/**
 * Run the probe as the payload of a systemd-nspawn container in its default
 * setup (the benchmark's flags: --as-pid2, an overlay of /, one veth), as a
 * oneshot service (nspawn --keep-unit wants a unit of its own). The probe
 * dir is bound in read-write at /probe, RODIR read-only at /rodata.
 */
export async function probeNspawn(sb: Sandbox, name: string, probeDir: string, roDir: string): Promise<Findings> {
  const d = `${sb.dataDir}/nspawn/${name}`;
  let r = await sb.run(['mkdir', '-p', `${d}/empty/usr`, `${d}/upper`, roDir]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  const args = [...nspawnArgs(d, name), `--bind=${probeDir}:${PROBE_INSIDE}`, `--bind-ro=${roDir}:/rodata`];
  // The probe's output goes to a file in the bound dir (the console is a pipe to the journal).
  const payload = `exec ${PROBE_INSIDE}/escape-probe ${probeArgs('/rodata').join(' ')} > ${PROBE_INSIDE}/nspawn.out 2>&1`;
  await sb.writeFile(
    `/etc/systemd/system/escape-nspawn-${name}.service`,
    [
      '[Unit]',
      'Description=escape probe in a systemd-nspawn container (default options)',
      '[Service]',
      'Type=oneshot',
      'Delegate=yes',
      `ExecStart=/usr/bin/systemd-nspawn ${args.join(' ')} /bin/sh -c "${payload}"`,
      '',
    ].join('\n'),
    0o644,
  );
  await sb.daemonReload();
  const job = await sb.startUnit(`escape-nspawn-${name}.service`);
  if (job !== 'done') throw new Error(`nspawn probe: ${job}: ${await sb.journal(`escape-nspawn-${name}.service`, 30)}`);
  r = await sb.run(['cat', `${probeDir}/nspawn.out`]);
  return parseProbe(r.stdout);
}

// ---- issue 20: what the host side judges (h20edge) ----

/** Vectors judged on the host after the probe prepared them (escape-probe -x), by name, with what each means. */
export const HOST_SIDE_VECTORS: ReadonlyArray<readonly [string, string]> = [
  ['syslog-alert', 'a syslog line from inside reaches journald above crit (journald walls emerg to every host terminal)'],
  ['upper-setuid', 'a setuid-root file written inside runs as root for a host user (65534) from UPPER'],
  ['ifname-escape', 'an interface name made inside reaches the terminal raw (ESC included) through overlay-boot status'],
];
export const HOST_SIDE_VECTOR_NAMES = HOST_SIDE_VECTORS.map(([n]) => n);

/** Made inside by ifname-escape: ESC [7m (reverse video) in an interface name. */
export const EVIL_IFNAME = 'e\x1b[7mx';

/**
 * The host-side vectors of running subhost NAME (made by
 * makeProbedSubhost): its agent runs the probe with -x (a setuid-root copy
 * of it in /var/tmp, an alert line to /dev/log) and overlay-go makes an
 * interface with an ESC in its name; then the host looks: the severity
 * journald stored, the copy run as user 65534 from UPPER (through sh:
 * setpriv keeps root's capabilities until its own exec), and what
 * `overlay-boot status` prints. Harmless: the line is at alert, which
 * journald does not wall by default; the interface is removed again.
 */
export async function probeHostSide(sb: Sandbox, name: string): Promise<Findings> {
  const f: Findings = new Map();
  const upper = `${sb.dataDir}/${name}/root`;
  const since = (await sb.run(['date', '+@%s'])).stdout.trim();
  await askAgent(sb, `${sb.dataDir}/${name}/probe`, ['-x']);

  let entry: Record<string, string> | undefined;
  for (let i = 0; i < 50 && !entry; i++) {
    const out = (await sb.run(['journalctl', '--no-pager', '-o', 'json', '-t', 'escape-probe-severity', `--since=${since}`])).stdout;
    entry = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, string>)
      .at(-1);
    if (!entry) await new Promise((r) => setTimeout(r, 100));
  }
  if (!entry) f.set('syslog-alert', { state: 'n/a', detail: 'the line did not reach the journal' });
  else
    f.set('syslog-alert', {
      state: Number(entry.PRIORITY) < 2 ? 'open' : 'closed',
      detail: `sent at alert (1), stored at PRIORITY=${entry.PRIORITY} for ${entry._SYSTEMD_UNIT}`,
    });

  const run = await sb.run([
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--',
    'sh',
    '-c',
    'exec "$0" -e',
    `${upper}/var/tmp/escape-probe-suid`,
  ]);
  const mode = (await sb.run(['stat', '-c', '%a', `${sb.dataDir}/${name}`])).stdout.trim();
  f.set(
    'upper-setuid',
    run.stdout.trim() === 'euid=0'
      ? { state: 'open', detail: `user 65534 ran UPPER/var/tmp/escape-probe-suid as euid 0 (BASE mode ${mode})` }
      : { state: 'closed', detail: `user 65534: ${(run.stderr || run.stdout).trim()} (BASE mode ${mode})` },
  );

  const add = await sb.run(['overlay-go', name, '--', 'ip', 'link', 'add', EVIL_IFNAME, 'type', 'veth', 'peer', 'name', 'escpeer0']);
  const addr = await sb.run(['overlay-go', name, '--', 'ip', 'addr', 'add', '192.0.2.250/32', 'dev', EVIL_IFNAME]);
  if (add.exitCode !== 0 || addr.exitCode !== 0) {
    f.set('ifname-escape', { state: 'n/a', detail: `ip link add inside: ${add.stderr}${addr.stderr}`.trim() });
  } else {
    const raw = (await sb.run(['ip', '-n', name, '-o', 'link', 'show'])).stdout.includes(EVIL_IFNAME);
    const shown = (await sb.run(['overlay-boot', 'status', name])).stdout;
    const json = JSON.parse((await sb.run(['overlay-boot', 'status', '--json', name])).stdout) as { addresses: { ifname: string }[] };
    const exact = json.addresses.some((a) => a.ifname === EVIL_IFNAME);
    f.set(
      'ifname-escape',
      shown.includes('\x1b')
        ? { state: 'open', detail: 'overlay-boot status printed the ESC raw' }
        : {
            state: shown.includes('e\\x1b[7mx') ? 'closed' : 'n/a',
            detail: `status shows it as e\\x1b[7mx; ip(8) shows it raw: ${raw}; status --json exact: ${exact}`,
          },
    );
  }
  await sb.run(['overlay-go', name, '--', 'ip', 'link', 'del', EVIL_IFNAME]);
  return f;
}
// ---- end of issue 20 (h20edge) ----
