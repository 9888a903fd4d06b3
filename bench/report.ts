// Renders bench/RESULTS.md from the results of one run (bench/bench.ts).
import type { Results, AtOnceRun } from './bench.js';
import type { MemSample } from './measure.js';
import type { StraceSummary, StraceProfile, Proc } from './profile.js';
import { MICRO, procName } from './profile.js';
import { stat, type Stat } from './lib.js';

const fms = (x: number): string => (!Number.isFinite(x) ? '–' : Math.abs(x) < 100 ? x.toFixed(1) : x.toFixed(0));
const fmib = (kib: number): string => (!Number.isFinite(kib) ? '–' : (kib / 1024).toFixed(2));
const fratio = (x: number): string => (!Number.isFinite(x) ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));
/** "median (min–max)" */
const cell = (s: Stat, f: (x: number) => string = fms): string =>
  s.n === 0 ? '–' : s.n === 1 ? f(s.median) : `**${f(s.median)}** (${f(s.min)}–${f(s.max)})`;
const ratios = (a: number[], b: number[]): number[] => a.map((x, i) => x / b[i]!).filter((x) => Number.isFinite(x));
const median = (xs: number[]): number => stat(xs).median;
const pct = (x: number): string => `${Math.round(x * 100)} %`;

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const code = (lines: string[] | string): string => `\`\`\`\n${(Array.isArray(lines) ? lines.join('\n') : lines).trimEnd()}\n\`\`\``;

/** Per process name, the median over samples of count/PSS/RSS. */
function memRows(samples: MemSample[], key: 'byComm' | 'outside'): string[][] {
  const names = [...new Set(samples.flatMap((s) => Object.keys(s[key])))].sort();
  return names.map((n) => {
    const get = (f: 'count' | 'pssKiB' | 'rssKiB') => samples.map((s) => s[key][n]?.[f] ?? 0);
    return [`\`${n}\``, fms(median(get('count'))), cell(stat(get('pssKiB')), fmib), cell(stat(get('rssKiB')), fmib)];
  });
}

function phaseRows(samples: Array<{ phases: Record<string, number> }>): string[][] {
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.phases)))];
  return keys.map((k) => [k, cell(stat(samples.map((s) => s.phases[k] ?? NaN)))]);
}

/** The process tree of one traced unit (depth-first), with start/exec/end. */
function procRows(s: StraceSummary): string[][] {
  return s.procs.slice(0, 40).map((p) => {
    const name = p.argv.length ? p.argv.map((a) => `\`${short(a)}\``).join(' → exec → ') : `(${procName(s.procs, p.pid, 40)}, no exec)`;
    return [`${'· '.repeat(p.depth)}${name}`, fms(p.start), fms(p.exec ?? NaN), fms(p.end ?? NaN), fms((p.end ?? NaN) - p.start)];
  });
}

const short = (x: string, n = 80): string => (x.length > n ? `${x.slice(0, n - 1)}…` : x);
const procMs = (p: Proc): number => (p.end ?? NaN) - p.start;

/** The longest-running programs a traced unit ran (not the unit's own main process). */
function topProcs(s: StraceSummary, k: number): Proc[] {
  return s.procs
    .filter((p) => p.depth > 0 && p.argv.length > 0 && Number.isFinite(procMs(p)))
    .sort((a, b) => procMs(b) - procMs(a))
    .slice(0, k);
}

/** A short name for a process: program basename and its first arguments. */
const prog = (p: Proc): string => {
  const w = (p.argv.at(-1) ?? '').split(' ');
  const name = w[0]!.split('/').pop()!;
  return short(w[1] === '-c' ? `${name} -c …` : [name, ...w.slice(1, 3)].join(' '), 40);
};

function dominates(r: Results): string[] {
  const ob = r.single.ob.start;
  const obn = r.single.obn.start;
  const S = median(ob.map((s) => s.ms));
  const Sn = median(obn.map((s) => s.ms));
  const N = median(r.single.ns.start.map((s) => s.ms));
  const ph = (xs: typeof ob, k: string) => median(xs.map((s) => s.phases[k] ?? NaN));
  const K = {
    a: 'StartUnit → netns unit activating',
    netns: 'netns unit: ExecStart run (fork to exit)',
    b: 'netns unit active → subhost unit activating',
    sub: 'subhost unit: ExecStart until active',
    c: 'active → JobRemoved received',
  };
  const sysd = (xs: typeof ob) => ph(xs, K.a) + ph(xs, K.b) + ph(xs, K.c);
  const parts: Array<[string, number]> = [
    ['systemd itself (jobs, forks, unit state changes, D-Bus)', sysd(ob)],
    ['the netns unit (`subhost-netns up`, C over rtnetlink: the netns, the veth)', ph(ob, K.netns)],
    ['the subhost unit (`subhost-enter --plan`, C: overlay and mounts, namespaces, pivot_root, reaper ready)', ph(ob, K.sub)],
  ];
  const [bigName, bigMs] = parts.reduce((x, y) => (y[1] > x[1] ? y : x));
  const nodeAlone = median(r.micro[MICRO[0]![0]] ?? []);
  const bundle = median(r.micro[MICRO[1]![0]] ?? []);
  const out: string[] = [];
  out.push(
    `- **The common path runs no Node.js.** With valid plans (every start after the first, until the config changes) a start took ${fms(S)} ms (median): ` +
      `${fms(sysd(ob))} ms systemd itself (StartUnit → netns unit activating ${fms(ph(ob, K.a))}, netns unit active → subhost unit activating ${fms(ph(ob, K.b))}, ` +
      `active → JobRemoved ${fms(ph(ob, K.c))}), ${fms(ph(ob, K.netns))} ms the netns unit, ${fms(ph(ob, K.sub))} ms the subhost unit. ` +
      `The largest part is ${bigName}: ${fms(bigMs)} ms, ${pct(bigMs / S)}.`,
  );
  const plan = r.profiles.find((p) => p.label.includes('common path'));
  if (plan) {
    const units = [...plan.strace]
      .sort((a, b) => (a.procs[0]?.start ?? 0) - (b.procs[0]?.start ?? 0))
      .map((u) => {
        const progs = u.procs.filter((p) => p.argv.length > 0).map((p) => `\`${prog(p)}\``);
        progs[0] += " (the unit's own)";
        const forks = u.procs.filter((p) => p.argv.length === 0).length;
        const maxCall = Math.max(...u.slow.map((c) => c.durMs));
        const main = u.procs[0];
        const init = u.procs.find((p) => p.depth === 1 && p.argv.length > 0);
        return { u, progs, forks, maxCall, main, init };
      });
    const txt = units.map(({ u, progs, forks, maxCall, main, init }) => {
      const top = topProcs(u, 2)
        .map((p) => `\`${prog(p)}\` ${fms(procMs(p))} ms`)
        .join(', ');
      const wait =
        u.unit.startsWith('subhost@') && main && init?.exec !== undefined && main.end !== undefined
          ? `; \`${prog(main)}\` took ${fms(procMs(main))} ms from exec to exit, ${fms(main.end - init.exec)} ms of it after the init's exec (the init script starting the dummy service and the reaper, until the reaper reports ready)`
          : '';
      return (
        `${u.unit} ran ${u.procs.length} processes (${progs.join(', ')}${forks ? `, and ${forks} fork(s) that exec'd nothing` : ''})` +
        (top && !wait ? `, the longest ${top}` : '') +
        `${wait}; its slowest system call took ${fms(maxCall)} ms`
      );
    });
    out.push(
      `- Inside (one start under strace, ${fms(plan.startMs)} ms: strace slows what it traces, so only proportions count): ${txt.join('; ')}. ` +
        'No single system call is expensive: the time goes into starting processes (fork, exec, dynamic linking) and their work in small steps.',
    );
  }
  out.push(
    `- **Without a valid plan** (config edited since, a config not registered on its first start, or values from \`!commands\`) the Node.js runtime computes one in both units: ` +
      `median ${fms(Sn)} ms, ${fms(Sn - S)} ms more (netns unit ${fms(ph(obn, K.netns))} ms instead of ${fms(ph(ob, K.netns))}, subhost unit ${fms(ph(obn, K.sub))} ms instead of ${fms(ph(ob, K.sub))}). ` +
      `Node.js start-up: \`node -e 0\` takes ${fms(nodeAlone)} ms here, starting the runtime bundle and exiting at once ${fms(bundle)} ms; twice (once per unit) ${fms(2 * bundle)} ms, ` +
      `${pct((2 * bundle) / (Sn - S))} of the difference` +
      ((2 * bundle) / (Sn - S) >= 0.8
        ? ': it explains most of it.'
        : "; the rest is the runtime's own work (loading and validating the config, computing and writing the plan) and its child processes forked from the large Node.js process."),
  );
  const nsp = r.profiles.find((p) => p.label === 'systemd-nspawn');
  out.push(
    `- nspawn does the same job in one program: median ${fms(N)} ms` +
      (nsp
        ? `; under strace it ran ${nsp.strace[0]?.procs.length ?? '?'} processes (its own forks; only the payload \`sleep\` is exec'd) and its slowest system call took ${fms(Math.max(...(nsp.strace[0]?.slow ?? []).map((c) => c.durMs)))} ms.`
        : '.'),
  );
  return out;
}

function profileSection(p: StraceProfile): string[] {
  const L: string[] = [];
  L.push(`### ${p.label}`, '');
  L.push(`StartUnit → JobRemoved under strace: ${fms(p.startMs)} ms. Unit timestamps, ms after StartUnit:`, '');
  L.push(
    table(
      ['unit', 'activating', 'ExecStart exited (oneshot)', 'active'],
      Object.entries(p.units).map(([u, v]) => [u, fms(v.activating ?? NaN), fms(v['ExecStart exited'] ?? NaN), fms(v.active ?? NaN)]),
    ),
    '',
  );
  for (const s of p.strace) {
    L.push(table([`${s.unit}: processes (· per level below the unit's own)`, 'started', 'exec', 'ended', 'ms'], procRows(s)), '');
    if (s.nodeExec !== undefined)
      L.push(
        `Node.js runtime exec'd at ${fms(s.nodeExec)} ms${s.bundleOpen !== undefined ? `, its bundle opened at ${fms(s.bundleOpen)} ms (Node.js start-up: ${fms(s.bundleOpen - s.nodeExec)} ms).` : '.'}`,
        '',
      );
    L.push(
      table(
        [`${s.unit}: slowest system calls`, 'in', 'at ms', 'took ms'],
        s.slow.slice(0, 8).map((c) => [`\`${c.call}\``, `\`${c.who}\``, fms(c.t), fms(c.durMs)]),
      ),
      '',
    );
  }
  L.push('Journal (`journalctl -o short-monotonic`, seconds since boot):', '', code(p.journal), '');
  return L;
}

function atOnceRows(runs: AtOnceRun[], n: number): string[][] {
  const pss = runs.map((x) => x.mem.pssKiB);
  return [
    [`all ${n} active (StartUnit ×${n} → last JobRemoved), ms`, cell(stat(runs.map((x) => x.startWallMs)))],
    [`total PSS of the ${n}, MiB`, cell(stat(pss), fmib)],
    ['PSS per instance, MiB', cell(stat(pss.map((p) => p / n)), fmib)],
    [`all ${n} gone (StopUnit ×${n} → nothing left), ms`, cell(stat(runs.map((x) => x.stopWallMs)))],
  ];
}

export function renderResults(r: Results): string {
  const o = r.meta.options;
  const ob = r.single.ob;
  const ns = r.single.ns;
  const n = o.atOnce;
  const obS = ob.start.map((s) => s.ms);
  const obnS = r.single.obn.start.map((s) => s.ms);
  const oboS = (r.single.obo?.start ?? []).map((s) => s.ms);
  const obxS = (r.single.obx?.start ?? []).map((s) => s.ms);
  // Paired per run (ob and obx alternate which goes first): what machined registration adds to a start.
  const regDelta = obxS.map((x, i) => obS[i]! - x);
  const nsS = ns.start.map((s) => s.ms);
  const obT = ob.stop.map((s) => s.ms);
  const nsT = ns.stop.map((s) => s.ms);
  const obM = ob.mem.map((s) => s.pssKiB);
  const nsM = ns.mem.map((s) => s.pssKiB);
  const obA = r.atOnce.ob;
  const nsA = r.atOnce.ns;
  // The setup phase (install, instances) measures nothing: not counted.
  const measured = r.meta.noise.filter((p) => p.phase !== 'setup');
  const others = measured.map((p) => p.othersCores);
  const weighted =
    measured.reduce((a, p) => a + p.othersCores * p.seconds, 0) /
    Math.max(
      1e-9,
      measured.reduce((a, p) => a + p.seconds, 0),
    );
  const maxOthers = Math.max(...others);
  const quiet = maxOthers < 0.15;
  const verdict = quiet
    ? `quiet: other work used ${weighted.toFixed(2)} cores on average, less than 0.15 in every measuring phase`
    : `**noisy**: other work (other people's test runs) used on average ${weighted.toFixed(2)} cores, up to ${maxOthers.toFixed(2)} in one measuring phase, of ${r.meta.machine.nproc}: latencies are inflated, ratios less so (the tools alternate run by run); re-run when quiet (\`--wait-quiet\`)`;
  const m = r.meta.machine;
  const L: string[] = [];
  const p = (...s: string[]) => L.push(...s, '');

  p('# overlay-boot 2 vs systemd-nspawn: benchmark results');
  p(
    `Written by one run of \`bench/run.sh\` (how, and what each figure means: [README.md](README.md)); every figure below is from this run, ` +
      `raw samples in [results.json](results.json).` +
      (o.quick ? ' **Quick mode: 3 runs, 5 at once — for development, not for quoting.**' : ''),
  );
  p(
    table(
      ['', ''],
      [
        ['date', r.meta.date],
        ['command', `\`${r.meta.command}\` (as root)`],
        ['tree measured', m.tree ?? 'unknown'],
        ['machine', `${m.nproc} cores (\`nproc\`), ${m.memory}, CPU ${m.cpu}, kernel ${m.kernel}`],
        ['software', `Debian ${m.debian}; sandbox systemd ${m.systemd}; systemd-nspawn: ${m.nspawn}; Node.js ${m.node}`],
        ['runs', `${o.runs} start/stop pairs; ${n} at once × ${o.atOnceRuns} per tool; generator and daemon-reload ${o.genRuns} runs each`],
        ['duration', `${r.meta.totalSeconds.toFixed(0)} s`],
        ['load', verdict],
      ],
    ),
  );

  p('## Headline');
  p(
    'Median, **bold**, and (min–max). The ratio is overlay-boot / nspawn, taken per pair of runs (run *i* of each tool; the two alternate which goes first), then min/median/max of the ratios.',
  );
  p(
    table(
      ['figure', 'overlay-boot 2', 'systemd-nspawn', 'overlay-boot / nspawn'],
      [
        ['start: StartUnit → unit active (JobRemoved done), ms', cell(stat(obS)), cell(stat(nsS)), cell(stat(ratios(obS, nsS)), fratio)],
        [
          'start, config touched first: no valid plan, the Node.js runtime runs once (the netns unit keeps both plans), ms',
          cell(stat(obnS)),
          cell(stat(nsS)),
          cell(stat(ratios(obnS, nsS)), fratio),
        ],
        ...(oboS.length
          ? [
              [
                'start, CONTAINMENT=none (the opt-out: what containment costs is the first row minus this one), ms',
                cell(stat(oboS)),
                cell(stat(nsS)),
                cell(stat(ratios(oboS, nsS)), fratio),
              ],
            ]
          : []),
        ...(obxS.length
          ? [
              [
                'start, without systemd-machined registration (subhost-machine@ masked), ms',
                cell(stat(obxS)),
                cell(stat(nsS)),
                cell(stat(ratios(obxS, nsS)), fratio),
              ],
              [
                'what machined registration adds to a start: first row minus the one above, paired per run, ms',
                cell(stat(regDelta)),
                '',
                '',
              ],
            ]
          : []),
        ['stop: StopUnit → nothing left, ms', cell(stat(obT)), cell(stat(nsT)), cell(stat(ratios(obT, nsT)), fratio)],
        [
          "resident memory per idle instance: PSS of its unit's processes, MiB",
          cell(stat(obM), fmib),
          cell(stat(nsM), fmib),
          cell(stat(ratios(obM, nsM)), fratio),
        ],
        [
          'CPU time per start (CPUUsageNSec of the unit(s)), ms',
          cell(stat(ob.start.map((s) => s.cpuMs))),
          cell(stat(ns.start.map((s) => s.cpuMs))),
          cell(
            stat(
              ratios(
                ob.start.map((s) => s.cpuMs),
                ns.start.map((s) => s.cpuMs),
              ),
            ),
            fratio,
          ),
        ],
        [
          `${n} at once: all active, ms`,
          cell(stat(obA.map((x) => x.startWallMs))),
          cell(stat(nsA.map((x) => x.startWallMs))),
          cell(
            stat(
              ratios(
                obA.map((x) => x.startWallMs),
                nsA.map((x) => x.startWallMs),
              ),
            ),
            fratio,
          ),
        ],
        [
          `${n} at once: total PSS, MiB`,
          cell(stat(obA.map((x) => x.mem.pssKiB)), fmib),
          cell(stat(nsA.map((x) => x.mem.pssKiB)), fmib),
          cell(
            stat(
              ratios(
                obA.map((x) => x.mem.pssKiB),
                nsA.map((x) => x.mem.pssKiB),
              ),
            ),
            fratio,
          ),
        ],
        [
          `${n} at once: all stopped, nothing left, ms`,
          cell(stat(obA.map((x) => x.stopWallMs))),
          cell(stat(nsA.map((x) => x.stopWallMs))),
          cell(
            stat(
              ratios(
                obA.map((x) => x.stopWallMs),
                nsA.map((x) => x.stopWallMs),
              ),
            ),
            fratio,
          ),
        ],
        ...Object.entries(r.generator).map(([k, v]) => [
          `generator, ${k} registered config${k === '1' ? '' : 's'}, ms`,
          cell(stat(v)),
          '(none)',
          '',
        ]),
        ...Object.entries(r.reload).map(([k, v]) => [`daemon-reload, ${k}, ms`, cell(stat(v)), '', '']),
      ],
    ),
  );
  p("What dominates overlay-boot's start (details in [Profile](#profile-of-overlay-boots-start)):");
  p(...dominates(r));

  p('## What was compared');
  p(
    'The same job for both, as a systemd service in the same sandbox systemd (a real systemd 252 booted by `test/sandbox` on an overlay of this machine, ' +
      "this machine's PID 1 not being systemd): a container whose root is an overlay of the host root with a persistent upper dir on the sandbox's tmpfs, " +
      'its own network namespace with one veth to the host, a minimal PID 1 and no services.',
  );
  p(
    '**overlay-boot 2**: the package installed into the sandbox with `installUnits()` (as the .deb lays it out), one subhost per instance in ' +
      "`/srv/subhosts/NAME/` (root, work, live), registered in `/etc/subhosts.conf` and daemon-reload'ed (so the generator's drop-in is used), " +
      'started as `subhost@NAME.service` (which pulls in `subhost-netns@NAME.service`). Its config:',
  );
  p(code(r.setup.obConf));
  p(
    'PID 1 inside is the reaper; `START=none` still runs the dummy service that keeps a subhost up (as 1.6 did). "Active" is when the runtime has exited after the reaper reported that the START services were started (`Type=forking`); with `START=none` that is the same point as "START services started".',
  );
  p(
    "**systemd-nspawn**: `nspawn-bench@NAME.service`, written into the sandbox's `/etc/systemd/system` (flag choices are explained in `bench/tools.ts`):",
  );
  p(code(r.setup.nspawnUnit));
  p(
    'Checks of this run (once per tool, on the instance used for the single runs; the first start of each also serves as warm-up and is not counted):',
  );
  p(code(r.setup.checks));
  p(
    "How: StartUnit/StopUnit over D-Bus from the benchmark process (`lib/systemd.ts` client), times from CLOCK_MONOTONIC, the clock of systemd's " +
      '`*TimestampMonotonic` properties too. "Nothing left" after a stop: the stop job done, every unit inactive (systemd\'s InactiveEnterTimestamp; for overlay-boot the ' +
      'netns unit too), the host end of the veth gone (the kernel removes it once the namespace holding the other end is dismantled), `/run/netns/NAME` gone (overlay-boot; ' +
      "nspawn's netns has no name), the unit's cgroup gone. The file conditions are polled every 2 ms by the benchmark process itself; each is timed at the first poll that sees it.",
  );

  p('## Start and stop, run by run');
  const rows = ob.start.map((_, i) => [
    String(i + 1),
    r.pairOrder[i] ?? '',
    fms(obS[i]!),
    fms(nsS[i]!),
    fratio(obS[i]! / nsS[i]!),
    fms(obnS[i]!),
    oboS[i] === undefined ? '' : fms(oboS[i]!),
    obxS[i] === undefined ? '' : fms(obxS[i]!),
    fms(obT[i]!),
    fms(nsT[i]!),
    fratio(obT[i]! / nsT[i]!),
    fmib(obM[i]!),
    fmib(nsM[i]!),
  ]);
  p(
    'ob = overlay-boot 2 (contained, the default), ns = systemd-nspawn, obn = overlay-boot 2 with its config touched before the start (no valid plan), obo = overlay-boot 2 with CONTAINMENT=none, obx = overlay-boot 2 without its systemd-machined registration.',
  );
  p(
    table(
      [
        'run',
        'order',
        'ob start',
        'ns start',
        'ratio',
        'obn start',
        'obo start',
        'obx start',
        'ob stop',
        'ns stop',
        'ratio',
        'ob PSS MiB',
        'ns PSS MiB',
      ],
      rows,
    ),
  );
  p("### Where the start time goes (systemd's unit timestamps, every run)");
  p(table(['overlay-boot 2 (plans valid): phase', 'ms'], phaseRows(ob.start)));
  p(table(['overlay-boot 2, config touched (no valid plan): phase', 'ms'], phaseRows(r.single.obn.start)));
  p(table(['systemd-nspawn: phase', 'ms'], phaseRows(ns.start)));
  p(
    `Also: StartUnit → systemd's ActiveEnterTimestamp: overlay-boot ${cell(stat(ob.start.map((s) => s.activeMs)))} ms, nspawn ${cell(stat(ns.start.map((s) => s.activeMs)))} ms.`,
  );
  p('### Stop: when each condition became true (ms after StopUnit)');
  for (const [label, samples] of [
    ['overlay-boot 2', ob.stop],
    ['systemd-nspawn', ns.stop],
  ] as const) {
    const keys = [...new Set(samples.flatMap((s) => Object.keys(s.conds)))];
    const lastCount = (k: string) => samples.filter((s) => s.last === k).length;
    p(
      table(
        [`${label}: condition`, 'ms', 'was the last one in'],
        keys.map((k) => [k, cell(stat(samples.map((s) => s.conds[k] ?? NaN))), `${lastCount(k)} of ${samples.length} runs`]),
      ),
    );
  }

  p('## Resident memory per idle instance');
  p(
    'Measured 0.5 s after each start: PSS (proportional set size, `/proc/PID/smaps_rollup`: shared pages divided among their users) and RSS of every process ' +
      "in the unit's cgroup (for nspawn with its payload/ and supervisor/ sub-cgroups; for overlay-boot the netns unit's cgroup is checked too — a oneshot " +
      'with no process left). Kernel memory (mounts, the netns and its veth, the `/run` tmpfs contents) is not in these figures. Median (min–max) over the runs:',
  );
  p(table(['overlay-boot 2: process', 'count', 'PSS MiB', 'RSS MiB'], memRows(ob.mem, 'byComm')));
  p(table(['systemd-nspawn: process', 'count', 'PSS MiB', 'RSS MiB'], memRows(ns.mem, 'byComm')));
  for (const [label, samples] of [
    ['overlay-boot 2', ob.mem],
    ['systemd-nspawn', ns.mem],
  ] as const) {
    const out = memRows(samples, 'outside');
    p(
      `Resident outside the unit on its behalf, ${label}: ${
        out.length
          ? `processes that appeared elsewhere in the sandbox while it ran:\n\n${table(['process', 'count', 'PSS MiB', 'RSS MiB'], out)}`
          : 'nothing — no process appeared anywhere else in the sandbox while it ran' +
            (
              label.startsWith('overlay')
                ? ' (in particular no Node.js process: the runtime exits once the subhost runs). Not counted: systemd-machined, ' +
                  'bus-activated by the first registration (subhost-machine@, during the checks before the runs) and running from then ' +
                  'on for every machine, as it would for nspawn without `--register=no`.'
                : " (`--register=no`: no systemd-machined; nspawn itself is inside the unit's cgroup, counted above)."
            )
      }`,
    );
  }

  p(`## ${n} at once`);
  p(
    `StartUnit for all ${n} issued together, wall time until the last JobRemoved; total PSS 1 s later; then StopUnit for all together, wall time until nothing is left of any (same conditions as above). The two tools alternate run by run.`,
  );
  p(
    table(
      ['', 'overlay-boot 2', 'systemd-nspawn'],
      atOnceRows(obA, n).map((row, i) => [row[0]!, row[1]!, atOnceRows(nsA, n)[i]![1]!]),
    ),
  );
  p(
    table(
      [`overlay-boot 2 (all ${n}): process`, 'count', 'PSS MiB', 'RSS MiB'],
      memRows(
        obA.map((x) => x.mem),
        'byComm',
      ),
    ),
  );
  p(
    table(
      [`systemd-nspawn (all ${n}): process`, 'count', 'PSS MiB', 'RSS MiB'],
      memRows(
        nsA.map((x) => x.mem),
        'byComm',
      ),
    ),
  );
  const sysRows = (runs: AtOnceRun[]) =>
    Object.keys(runs[0]?.systemBefore ?? {}).map((k) => [
      k,
      cell(stat(runs.map((x) => (x.systemDuring[k] ?? 0) - (x.systemBefore[k] ?? 0))), fmib),
    ]);
  p(
    `The sandbox's own processes, RSS with all ${n} running minus before (what they hold for the units; RSS, not PSS: their shared pages get divided among more processes when nspawn's run, which makes their PSS drop), MiB:`,
  );
  p(
    table(
      ['process', 'overlay-boot 2', 'systemd-nspawn'],
      sysRows(obA).map((row, i) => [row[0]!, row[1]!, sysRows(nsA)[i]?.[1] ?? '–']),
    ),
  );
  const hostKeys = Object.keys(obA[0]?.hostDelta ?? {});
  p(
    `Host-wide \`/proc/meminfo\` change with all ${n} running (kernel memory included, but so is everything else happening on the machine: indicative only), MiB:`,
  );
  const kern = (x: AtOnceRun) => ((x.hostDelta.Slab ?? NaN) + (x.hostDelta.KernelStack ?? NaN) + (x.hostDelta.PageTables ?? NaN)) / n;
  p(
    table(
      ['field', 'overlay-boot 2', 'systemd-nspawn'],
      [
        ...hostKeys.map((k) => [
          k === 'MemAvailable' ? 'MemAvailable (drop)' : k,
          cell(stat(obA.map((x) => x.hostDelta[k]!)), fmib),
          cell(stat(nsA.map((x) => x.hostDelta[k]!)), fmib),
        ]),
        [`kernel per instance: (Slab + KernelStack + PageTables) / ${n}`, cell(stat(obA.map(kern)), fmib), cell(stat(nsA.map(kern)), fmib)],
      ],
    ),
  );

  p('## Generator and daemon-reload');
  p(
    `\`${'/usr/lib/systemd/system-generators/overlay-boot-generator'}\` (the installed link to the bundle) run directly inside the sandbox with three fresh output dirs, ` +
      "timed with bash's `$EPOCHREALTIME` (no extra process), and `daemon-reload` over D-Bus (Reload returns once the reload is complete; it runs every generator, " +
      "the host's other generators too, hence the baseline with none registered):",
  );
  p(
    table(
      ['case', 'ms', 'output (first run)'],
      [
        ...Object.entries(r.generator).map(([k, v]) => [
          `generator, ${k} registered`,
          cell(stat(v)),
          r.generatorOutput[k]?.replace(/^out /, '') ?? '',
        ]),
        ...Object.entries(r.reload).map(([k, v]) => [`daemon-reload, ${k}`, cell(stat(v)), '']),
      ],
    ),
  );

  p("## Profile of overlay-boot's start");
  p(...dominates(r));
  p(
    'Commands timed alone inside the sandbox (bash `$EPOCHREALTIME` around each; once per single run, so under the same conditions as the starts), ms:',
  );
  p(
    table(
      ['command', 'ms'],
      Object.entries(r.micro).map(([k, v]) => [k, cell(stat(v))]),
    ),
  );
  p(
    "Single starts with the units' own `ExecStart=` lines run under `strace -f -T --timestamps=unix,us` (drop-ins in `/run/systemd/system` that prefix the installed line, " +
      'removed afterwards; runtime/ and units/ untouched). The forking and notify units get `-b execve`: strace lets go of a process when it execs another program ' +
      '(otherwise it would stay attached to the container and never exit), so what such a process does after its exec is not traced; its end is then when its parent reaped it.',
  );
  for (const pr of r.profiles) p(...profileSection(pr));
  p('The journal of the last unprofiled single start and stop of overlay-boot:');
  p(code(r.lastObJournal));

  p('## Reference figures (not from this run)');
  p('Measured earlier on this kind of machine, for orientation only; the same-run figures above are what count.');
  p(
    table(
      ['', 'start', 'stop', 'PSS per idle instance', '20 at once'],
      [
        ['overlay-boot 1.6 (shell scripts)', '~255 ms', '75 ms', '1.7 MiB', '3.5 s'],
        ['systemd-nspawn (--as-pid2, overlay of /, one veth)', '~55 ms', '4 ms', '7.4 MiB', '0.39 s'],
      ],
    ),
  );

  p('## Noise');
  p(
    `${verdict}. "Others" is all busy CPU time of the machine (\`/proc/stat\`) less the benchmark's sandbox cgroup and the benchmark process; ` +
      "load average and the number of other sandboxes (other people's e2e runs) at the end of each phase:",
  );
  p(
    table(
      ['phase', 's', 'others, cores', 'benchmark, cores', 'loadavg', 'other sandboxes'],
      r.meta.noise.map((x) => [
        x.phase,
        x.seconds.toFixed(1),
        x.othersCores.toFixed(2),
        x.oursCores.toFixed(2),
        x.loadavg,
        String(x.otherSandboxes),
      ]),
    ),
  );
  p(
    "Latencies on a 2-core machine are sensitive to anything else running: starts are CPU-bound (process creation and exec on overlay-boot's common path, " +
      'Node.js start-up without a plan), and other work stretches the tool that starts more processes more. Memory (PSS) is hardly affected. ' +
      'Compare ratios within one run rather than absolute figures across runs.',
  );
  return L.join('\n');
}
