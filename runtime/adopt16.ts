// overlay-boot 1.6 subhosts that run while the package is installed over
// 1.6 are adopted: each becomes subhost@NAME.service, running, with 1.6's
// processes moved into the unit's cgroup. So systemctl, the journal,
// machinectl (subhost-machine@), `overlay-boot list|status`, overlay-go
// and overlay-stop see and reach it as any subhost, until it stops; it is
// stopped the way 1.6's overlay-stop stopped it (`service X stop` inside
// for START in reverse order, then SIGKILL: 1.6's reaper blocks every
// other signal), its netns removed as 1.6 did (`ip netns del`), and its
// next start is overlay-boot 2's own.
//
// Why a unit of its own name and not a transient scope: a scope has no
// ExecStop= for 1.6's way of stopping, and every command would have to
// learn a second kind of unit; subhost@NAME with a drop-in for this one
// run needs none of that, and machined, systemctl and the journal see it
// under the name they will see after its next start.
//
//   adopt-16          the package's postinst: find them (lib/legacy16.ts,
//                     kernel state), write the drop-ins below, reload, start
//   adopt NAME        ExecStart of an adopted subhost@NAME: 1.6's
//                     processes into this unit's cgroup, the reaper's PID
//                     into the PIDFile (Type=forking)
//   netns-adopt NAME  ExecStart of its subhost-netns@NAME: records 1.6's
//                     netns and the host ends of its cables, so that the
//                     usual stop removes them
//   stop-16 NAME      ExecStop of an adopted subhost@NAME: 1.6's stop
//   adopted-gone NAME ExecStopPost of its subhost-netns@NAME (last): the
//                     drop-ins and the record go, systemd reloads
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
  closeSync,
  writeSync,
} from 'node:fs';
import { execa } from 'execa';
import { libDir } from '../lib/paths.js';
import { Failure } from '../lib/errors.js';
import { ADOPTED_DIR, adoptedRecord, findLegacy16, start16, type Legacy16 } from '../lib/legacy16.js';
import { findConf, registryLink } from '../lib/registry.js';
import { nameProblem } from '../lib/config/name.js';
import { systemd } from '../lib/systemd.js';

interface Adopted {
  name: string;
  reaper: number;
  conf: string;
  /** 1.6's START, in start order (stop-16 reverses it). */
  start: string[];
}

const DROPIN = '90-adopted-overlay-boot-1.6.conf';
const dropinOf = (unit: string) => `/run/systemd/system/${unit}.d/${DROPIN}`;
const subhostDropin = (name: string) => dropinOf(`subhost@${name}.service`);
const netnsDropin = (name: string) => dropinOf(`subhost-netns@${name}.service`);

const say = (line: string) => process.stdout.write(`overlay-boot: ${line}\n`);

function readRecord(name: string): Adopted {
  try {
    return JSON.parse(readFileSync(adoptedRecord(name), 'utf8')) as Adopted;
  } catch {
    throw new Failure(`subhost ${name} is not one adopted from overlay-boot 1.6 (no ${adoptedRecord(name)})`);
  }
}

function writeDropins(a: Adopted): void {
  const rt = `${libDir()}/overlay-boot-runtime.cjs`;
  const head = [
    `# overlay-boot: subhost ${a.name} was started by overlay-boot 1.6 before the package`,
    '# was installed; the postinst adopted it (runtime/adopt16.ts). For this run only:',
    "# removed when it stops, so that its next start is overlay-boot 2's own.",
  ];
  mkdirSync(`/run/systemd/system/subhost@${a.name}.service.d`, { recursive: true, mode: 0o755 });
  writeFileSync(
    subhostDropin(a.name),
    [
      ...head,
      '[Unit]',
      `Description=Subhost ${a.name} (running under overlay-boot 1.6, adopted)`,
      '[Service]',
      "# 1.6's processes keep the privileges they run with: the template's fence",
      "# (the device policy on the cgroup they join, the stop's capabilities) is",
      '# reset, as for CONTAINMENT=none; the next start is contained as its config says.',
      'CapabilityBoundingSet=~',
      'SystemCallFilter=',
      'SystemCallErrorNumber=',
      'DevicePolicy=auto',
      'DeviceAllow=',
      'RestrictAddressFamilies=',
      'RestrictRealtime=no',
      'ProtectClock=no',
      "# Not a start: its processes are moved into this unit, and the reaper's",
      '# PID written where systemd then reads it (the template is Type=notify).',
      'Type=forking',
      'PIDFile=/run/subhost/%i/pid',
      'ExecStart=',
      `ExecStart=${rt} adopt ${a.name}`,
      "# 1.6's overlay-stop: service X stop inside, START in reverse order ...",
      `ExecStop=${rt} stop-16 ${a.name}`,
      "# ... then SIGKILL (1.6's reaper blocks every other signal; so did 1.6's stop).",
      'KillMode=control-group',
      'KillSignal=SIGKILL',
      '# The stop ends it so: not a failure.',
      'SuccessExitStatus=SIGKILL',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  mkdirSync(`/run/systemd/system/subhost-netns@${a.name}.service.d`, { recursive: true, mode: 0o755 });
  writeFileSync(
    netnsDropin(a.name),
    [
      ...head,
      '[Service]',
      "# 1.6 made the netns: record it (and its cables' host ends) for the usual stop.",
      'ExecStart=',
      `ExecStart=${rt} netns-adopt ${a.name}`,
      '# After the usual stop (the netns removed, as 1.6 did with ip netns del).',
      `ExecStopPost=+${rt} adopted-gone ${a.name}`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
}

function removeAdoption(name: string): void {
  for (const f of [subhostDropin(name), netnsDropin(name), adoptedRecord(name)]) rmSync(f, { force: true });
  for (const u of [`subhost@${name}.service`, `subhost-netns@${name}.service`]) {
    try {
      rmdirSync(`/run/systemd/system/${u}.d`);
    } catch {
      /* not empty (another drop-in), or gone */
    }
  }
}

/** The package's postinst: adopt every running 1.6 subhost, saying what it found and did. */
export async function adoptAll(): Promise<number> {
  // overlay-boot 2's own netns (its unit recorded it), or adopted already.
  const ours = (n: string) => existsSync(`/run/subhost-netns/${n}/state`) || existsSync(adoptedRecord(n));
  const found = findLegacy16(ours);
  if (!found.length) return 0;
  const adopted: Adopted[] = [];
  for (const f of found) {
    const why = nameProblem(f.name);
    const as16 = `1.6 subhost ${f.name} (reaper PID ${f.reaper}, ${f.pids.length} processes)`;
    if (why || !f.conf) {
      say(
        `found running ${as16}, left as it runs under 1.6: ${why ? `its NAME ${why}` : 'no config names it (not in /etc/subhosts.conf, not on its command line)'}; ` +
          `stop it with: kill -9 ${f.reaper}; ip netns delete ${f.name}`,
      );
      continue;
    }
    try {
      const a: Adopted = { name: f.name, reaper: f.reaper, conf: f.conf, start: start16(readFileSync(f.conf, 'utf8')) };
      mkdirSync(ADOPTED_DIR, { recursive: true, mode: 0o755 });
      writeFileSync(adoptedRecord(f.name), `${JSON.stringify(a)}\n`, { mode: 0o644 });
      // Its config, found for this boot as overlay-boot start CONF registers one, when no listing has it.
      const known = findConf(f.name, '');
      if ('error' in known) {
        mkdirSync(registryLink(f.name).replace(/\/[^/]*$/, ''), { recursive: true, mode: 0o755 });
        symlinkSync(f.conf, registryLink(f.name));
      }
      writeDropins(a);
      adopted.push(a);
      say(`found running ${as16}, config ${f.conf}`);
    } catch (e) {
      // One that cannot be adopted stays as it runs; the others are adopted.
      removeAdoption(f.name);
      say(`found running ${as16}, left as it runs under 1.6: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!adopted.length) return 0;
  const sm = await systemd();
  try {
    await sm.daemonReload();
    for (const a of adopted) {
      const r = await sm.unitJob('StartUnit', `subhost@${a.name}.service`);
      if (r === 'done') {
        say(
          `adopted ${a.name} as subhost@${a.name}.service, still running under 1.6: systemctl, machinectl, overlay-boot status, ` +
            `overlay-go and overlay-stop reach it; once stopped, it starts as an overlay-boot 2 subhost`,
        );
      } else {
        say(`could not adopt ${a.name} (job ${r}): see journalctl -u subhost@${a.name}; left as it runs under 1.6`);
        removeAdoption(a.name);
      }
    }
    await sm.daemonReload();
  } finally {
    sm.close();
  }
  return 0;
}

/** The legacy subhost NAME as it runs now, the one that was recorded. */
function current(name: string): Legacy16 {
  const rec = readRecord(name);
  const f = findLegacy16().find((x) => x.name === name);
  if (!f) throw new Failure(`1.6 subhost ${name} is not running any more (no reaper in /run/netns/${name})`);
  if (f.reaper !== rec.reaper)
    throw new Failure(`1.6 subhost ${name} now has reaper PID ${f.reaper}, not ${rec.reaper} as adopted: not adopting it`);
  return f;
}

/** ExecStart of an adopted subhost@NAME: its processes into this unit's cgroup, its reaper as the main PID. */
export function adopt(name: string, rundir: string): number {
  let f = current(name);
  // First the PIDFile: a failure after the move would end the unit, and with it the subhost.
  writeFileSync(`${rundir}/pid`, `${f.reaper}\n`, { mode: 0o644 });
  const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  if (!own) throw new Failure('no cgroup v2 path in /proc/self/cgroup');
  const procs = `/sys/fs/cgroup${own}/cgroup.procs`;
  // Processes fork while they are moved: again until a pass finds none left outside.
  for (let pass = 0; pass < 20; pass++) {
    const inside = new Set(readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number));
    const outside = f.pids.filter((p) => !inside.has(p));
    if (!outside.length) break;
    const fd = openSync(procs, 'w');
    try {
      for (const p of outside) {
        try {
          writeSync(fd, `${p}\n`); // one PID per write(2)
        } catch {
          /* ended meanwhile */
        }
      }
    } finally {
      closeSync(fd);
    }
    f = findLegacy16().find((x) => x.name === name) ?? f;
  }
  process.stderr.write(`adopted 1.6 subhost ${name}: reaper PID ${f.reaper}, ${f.pids.length} processes\n`);
  return 0;
}

/** ExecStart of its netns unit: what 1.6 made, recorded as subhost-netns up records what it makes. */
export function netnsAdopt(name: string, rundir: string): number {
  readRecord(name);
  if (!existsSync(`/run/netns/${name}`)) throw new Failure(`/run/netns/${name} is gone: 1.6 subhost ${name} is not running`);
  // 1.6 named the host end of cable i NAMEi (a VLAN NAMEi.TAG).
  const links = readdirSync('/sys/class/net').filter((l) => l.startsWith(name) && /^[0-9]+(\.[0-9]+)?$/.test(l.slice(name.length)));
  writeFileSync(`${rundir}/state`, [`netns ${name}`, ...links.map((l) => `link ${l}`), ''].join('\n'), { mode: 0o600 });
  return 0;
}

/** ExecStop of an adopted subhost@NAME: 1.6's overlay-stop, inside the reaper's namespaces. */
export async function stop16(name: string): Promise<number> {
  const rec = readRecord(name);
  const pid = process.env.MAINPID;
  if (!pid) return 0; // nothing running: systemd kills what is left
  const reversed = [...rec.start].reverse();
  if (!reversed.length) return 0;
  // 1.6: ip netns exec NAME nsenter -t RSPID -p -m -i -u /bin/sh -x -c "for srv in START; do service $srv stop; done"
  // (this unit runs in the netns already); the words as arguments, not spliced into the script.
  const r = await execa(
    'nsenter',
    ['-t', pid, '-p', '-m', '-i', '-u', '/bin/sh', '-x', '-c', 'for srv in "$@"; do service "$srv" stop; done', 'stop-16', ...reversed],
    { stdio: 'inherit', reject: false },
  );
  // As 1.6: whatever the services said, the subhost is ended next.
  if (r.exitCode !== 0) process.stderr.write(`stopping the START services of ${name} ended with status ${r.exitCode}\n`);
  return 0;
}

/** ExecStopPost of its netns unit: the adoption is over; the next start is overlay-boot 2's. */
export async function adoptedGone(name: string): Promise<number> {
  removeAdoption(name);
  // 1.6's accounting cgroup (setup_cgroup2_accounting: <cgroup2>/NAME), empty now; never one of systemd's.
  if (!/\.(slice|scope|service|mount|socket|swap)$/.test(name)) {
    try {
      rmdirSync(`/sys/fs/cgroup/${name}`);
    } catch {
      /* none, or not empty */
    }
  }
  const sm = await systemd({ jobs: false });
  try {
    await sm.daemonReload();
  } finally {
    sm.close();
  }
  return 0;
}
