// Renders bench/RESULTS.md from the results of one run (bench/bench.ts).
import type { Results, AtOnceRun } from './bench.js';
import { CLI, type MemSample } from './measure.js';
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
          ? `; \`${prog(main)}\` took ${fms(procMs(main))} ms from exec to exit, ${fms(main.end - init.exec)} ms of it after the init's exec (the init script, then the reaper holding the dummy service FIFO, until it reports ready)`
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
    `- **Without a valid plan** (config edited since and started with systemctl, or values from \`!commands\`) the Node.js runtime computes both plans once, in the netns unit (the subhost unit then finds its plan valid): ` +
      `median ${fms(Sn)} ms, ${fms(Sn - S)} ms more (netns unit ${fms(ph(obn, K.netns))} ms instead of ${fms(ph(ob, K.netns))}, subhost unit ${fms(ph(obn, K.sub))} ms instead of ${fms(ph(ob, K.sub))}). ` +
      `Node.js start-up: \`node -e 0\` takes ${fms(nodeAlone)} ms here, starting the runtime bundle and exiting at once ${fms(bundle)} ms, ` +
      `${pct(bundle / (Sn - S))} of the difference` +
      (bundle / (Sn - S) >= 0.8
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

/** A row comparing the two tools: medians with min–max, and the ratio paired per run. */
function pairRow(label: string, a: number[], b: number[], means: string, f: (x: number) => string = fms): string[] {
  return [label, cell(stat(a), f), b.length ? cell(stat(b), f) : '', b.length ? cell(stat(ratios(a, b)), fratio) : '', means];
}

/** A row of overlay-boot alone (nspawn has no counterpart). */
const soloRow = (label: string, a: number[], means: string, f: (x: number) => string = fms): string[] => [
  label,
  cell(stat(a), f),
  '',
  '',
  means,
];

/** Timings of one command over at-once runs (each run timed it several times). */
const cliOf = (runs: AtOnceRun[], k: string): number[] => runs.flatMap((x) => x.cli?.[k] ?? []);

/** Per-run figures of N at once, per instance when PER. */
const perInstance = (runs: AtOnceRun[], n: number, f: (x: AtOnceRun) => number): number[] => runs.map((x) => f(x) / n);

function headlineRows(r: Results): string[][] {
  const o = r.meta.options;
  const ob = r.single.ob;
  const ns = r.single.ns;
  const S = (k: keyof Results['single']) => (r.single[k]?.start ?? []).map((x) => x.ms);
  const obS = S('ob');
  const nsS = S('ns');
  const obfS = S('obf');
  const help = r.firstHelp ?? [];
  const obfNet = obfS.map((x, i) => x - (help[i] ?? NaN));
  const rows: string[][] = [
    pairRow(
      'start: StartUnit → unit active (JobRemoved done), ms',
      obS,
      nsS,
      'A start of a registered subhost whose plans are valid (every start after the first until the config changes): systemd runs the two units, no Node.js.',
    ),
    pairRow(
      'start, config touched first: no valid plan, ms',
      S('obn'),
      nsS,
      'The first start after a config edit: the plans are stale, so the units compute them (the Node.js runtime, where it still runs in units).',
    ),
  ];
  if (obfS.length) {
    rows.push(
      pairRow(
        'first `overlay-boot CONF` of a new config: the command, until it returns, ms',
        obfS,
        nsS,
        'What an admin waits for when starting a config never started before (not registered, no plan) with the installed command: its own Node.js start-up, the config check, registering it for this boot, the start and the wait for it.',
      ),
      soloRow(
        "the command's own start-up: `overlay-boot --help`, timed right before each, ms",
        help,
        'Node.js starting and loading the same bundle, printing the usage, exiting: the part of the row above that any command of it pays.',
      ),
      pairRow(
        'first `overlay-boot CONF`, less its own start-up (the two rows above, paired per run), ms',
        obfNet,
        nsS,
        'What the first start of a new config costs beyond starting the command: compare with nspawn starting its unit.',
      ),
    );
  }
  const oboS = S('obo');
  if (oboS.length)
    rows.push(
      pairRow(
        'start, CONTAINMENT=none, ms',
        oboS,
        nsS,
        'The opt-out of containment (no capability, system call and device fence, no /proc masks): the first row minus this one is what containment costs a start.',
      ),
    );
  const obcS = S('obc');
  if (obcS.length) {
    const T = (k: keyof Results['single']) => (r.single[k]?.stop ?? []).map((x) => x.ms);
    const M = (k: keyof Results['single']) => (r.single[k]?.mem ?? []).map((x) => x.pssKiB);
    rows.push(
      pairRow(
        'start, CONTAINMENT=contained, ms',
        obcS,
        nsS,
        'The fence without a user namespace: the first row (private-users, the default) minus this one is what the user namespace costs a start.',
      ),
      pairRow('stop, CONTAINMENT=contained, ms', T('obc'), T('ns'), 'As the stop row, for the fence without a user namespace.'),
      pairRow(
        'PSS per idle instance, CONTAINMENT=contained, MiB',
        M('obc'),
        M('ns'),
        'As the PSS row, for the fence without a user namespace.',
        fmib,
      ),
    );
  }
  const obxS = S('obx');
  if (obxS.length)
    rows.push(
      pairRow(
        'start, without systemd-machined registration (subhost-machine@ masked), ms',
        obxS,
        nsS,
        'The same start with the machined registration skipped (nspawn runs with `--register=no`).',
      ),
      soloRow(
        'what machined registration adds to a start: first row minus the one above, paired per run, ms',
        obxS.map((x, i) => obS[i]! - x),
        'Near zero when the registration is off the critical path (it runs after the subhost is active).',
      ),
    );
  rows.push(
    pairRow(
      'stop: StopUnit → nothing left, ms',
      ob.stop.map((x) => x.ms),
      ns.stop.map((x) => x.ms),
      'From StopUnit until no unit, veth, named netns or cgroup of the instance is left.',
    ),
    pairRow(
      "resident memory per idle instance: PSS of its unit's processes, MiB",
      ob.mem.map((x) => x.pssKiB),
      ns.mem.map((x) => x.pssKiB),
      'What one idle instance costs in memory (shared pages divided among their users); kernel memory is not in it.',
      fmib,
    ),
    pairRow(
      'CPU time per start (CPUUsageNSec of the unit(s)), ms',
      ob.start.map((x) => x.cpuMs),
      ns.start.map((x) => x.cpuMs),
      'CPU charged to the units by the time the instance is active: what a start costs a busy machine.',
    ),
  );
  for (const [n, runs] of [
    [o.atOnce, r.atOnce],
    [o.scale ?? 0, r.scale],
  ] as const) {
    if (!n || !runs?.ob.length) continue;
    const f = (t: 'ob' | 'ns', g: (x: AtOnceRun) => number) => runs[t].map(g);
    rows.push(
      pairRow(
        `${n} at once: all active, ms`,
        f('ob', (x) => x.startWallMs),
        f('ns', (x) => x.startWallMs),
        `${n} StartUnit calls issued together until the last is done: how fast a host with ${n} instances comes up.`,
      ),
      pairRow(
        `${n} at once: start per instance (all active / ${n}), ms`,
        f('ob', (x) => x.startWallMs / n),
        f('ns', (x) => x.startWallMs / n),
        'The row above per instance: if it grows with N, starting scales worse than linearly (see Growth).',
      ),
      pairRow(
        `${n} at once: total PSS, MiB`,
        f('ob', (x) => x.mem.pssKiB),
        f('ns', (x) => x.mem.pssKiB),
        `What ${n} idle instances hold together (their units' processes).`,
        fmib,
      ),
      pairRow(
        `${n} at once: PSS per instance, MiB`,
        f('ob', (x) => x.mem.pssKiB / n),
        f('ns', (x) => x.mem.pssKiB / n),
        'The row above per instance: shared pages spread over more instances, so it falls with N.',
        fmib,
      ),
      pairRow(
        `${n} at once: all stopped, nothing left, ms`,
        f('ob', (x) => x.stopWallMs),
        f('ns', (x) => x.stopWallMs),
        `${n} StopUnit calls issued together until nothing of any instance is left (shutdown of a host with ${n}).`,
      ),
      soloRow(
        `\`overlay-boot list\` with ${n} running, ms`,
        cliOf(runs.ob, 'overlay-boot list'),
        `The installed command run in the sandbox as an admin would (output discarded), ${o.cliRuns ?? 3} times per run: the table of all ${n}.`,
      ),
      soloRow(
        `\`overlay-boot status NAME\` with ${n} running, ms`,
        cliOf(runs.ob, 'overlay-boot status NAME'),
        'The status of one subhost while the others run: should not grow with N.',
      ),
      pairRow(
        `\`systemctl list-units\` of the tool's units, ${n} running, ms`,
        cliOf(runs.ob, 'systemctl list-units'),
        cliOf(runs.ns, 'systemctl list-units'),
        "systemd's own listing of `subhost@*` / `nspawn-bench@*` (one D-Bus call, no per-instance details): the floor under any listing.",
      ),
    );
  }
  const gens = Object.keys(r.generator).sort((a, b) => Number(a) - Number(b));
  for (const k of gens)
    rows.push(
      soloRow(
        `generator, ${k} registered config${k === '1' ? '' : 's'} (output on tmpfs), ms`,
        r.generator[k]!,
        k === '1'
          ? 'What the generator costs at boot and at every daemon-reload on a host with one subhost.'
          : 'The same with more subhosts registered.',
      ),
    );
  const big = gens.at(-1);
  if (big && big !== '1' && r.generator['1'])
    rows.push(
      soloRow(
        `generator, ${big} configs / 1 config (paired per run)`,
        ratios(r.generator[big]!, r.generator['1']!),
        'How the generator grows with the configs it handles: 1.00 would mean the extra configs cost nothing, the number of configs that each costs a whole one-config run.',
        fratio,
      ),
    );
  for (const [k, v] of Object.entries(r.reload))
    rows.push(
      soloRow(
        `daemon-reload, ${k}, ms`,
        v,
        k.startsWith('none')
          ? "systemd re-running every generator (the host's others too) and reloading its units: the baseline."
          : 'daemon-reload over D-Bus until it returns, with these configs registered: the generator and the units it writes.',
      ),
    );
  return rows;
}

/**
 * How each per-instance cost grows from 1 to N to the scale's N: medians;
 * the last columns divide them.
 */
function growthRows(r: Results): { head: string[]; rows: string[][] } {
  const o = r.meta.options;
  const sizes: Array<[number, Record<'ob' | 'ns', AtOnceRun[]>]> = [[o.atOnce, r.atOnce]];
  if (o.scale && r.scale?.ob.length) sizes.push([o.scale, r.scale]);
  const one = (k: 'ob' | 'ns', f: 'start' | 'stop' | 'mem') =>
    f === 'mem' ? r.single[k].mem.map((x) => x.pssKiB) : r.single[k][f].map((x) => x.ms);
  type Fig = {
    label: string;
    f: (t: 'ob' | 'ns') => number[][];
    fmt: (x: number) => string;
    means: string;
  };
  const cliAt = (t: 'ob' | 'ns', k: string) => [r.cliSingle?.[t]?.[k] ?? [], ...sizes.map(([, runs]) => cliOf(runs[t], k))];
  const figs: Fig[] = [
    {
      label: 'start per instance, ms',
      f: (t) => [one(t, 'start'), ...sizes.map(([n, runs]) => perInstance(runs[t], n, (x) => x.startWallMs))],
      fmt: fms,
      means: 'A single start; then all N at once divided by N. Flat or falling: starting N costs at most N single starts.',
    },
    {
      label: 'stop per instance, ms',
      f: (t) => [one(t, 'stop'), ...sizes.map(([n, runs]) => perInstance(runs[t], n, (x) => x.stopWallMs))],
      fmt: fms,
      means: 'The same for the stop until nothing is left.',
    },
    {
      label: 'PSS per instance, MiB',
      f: (t) => [one(t, 'mem'), ...sizes.map(([n, runs]) => perInstance(runs[t], n, (x) => x.mem.pssKiB))],
      fmt: fmib,
      means: 'Memory of the idle instances divided by their number (shared pages spread out as N grows).',
    },
    {
      label: '`overlay-boot list`, ms (whole command)',
      f: (t) => (t === 'ob' ? cliAt(t, 'overlay-boot list') : []),
      fmt: fms,
      means:
        'The whole listing with 1 (plus the other registered, stopped subhosts of the single runs), N, scale N running: grows with N by nature; its slope is the cost per subhost listed.',
    },
    {
      label: '`overlay-boot status NAME`, ms',
      f: (t) => (t === 'ob' ? cliAt(t, 'overlay-boot status NAME') : []),
      fmt: fms,
      means: 'One subhost while 0, N-1 and scale N-1 others run: flat when status asks only about its own subhost.',
    },
    {
      label: '`systemctl list-units` of the units, ms',
      f: (t) => cliAt(t, 'systemctl list-units'),
      fmt: fms,
      means: "systemd's own listing of the tool's units: the floor of any listing at this size.",
    },
  ];
  const head = ['figure', 'tool', 'at 1', ...sizes.map(([n]) => `at ${n}`), `${sizes[0]![0]} / 1`];
  if (sizes[1]) head.push(`${sizes[1][0]} / ${sizes[0]![0]}`);
  head.push('what it means');
  const rows: string[][] = [];
  for (const fig of figs) {
    for (const t of ['ob', 'ns'] as const) {
      const cols = fig.f(t);
      if (!cols.length || cols.every((c) => c.length === 0)) continue;
      const med = cols.map((c) => stat(c).median);
      const row = [
        t === 'ob' ? fig.label : '',
        t === 'ob' ? 'overlay-boot 2' : 'systemd-nspawn',
        ...cols.map((c) => cell(stat(c), fig.fmt)),
        fratio(med[1]! / med[0]!),
      ];
      if (sizes[1]) row.push(fratio(med[2]! / med[1]!));
      row.push(t === 'ob' ? fig.means : '');
      rows.push(row);
    }
  }
  return { head, rows };
}

/** Generator and daemon-reload per count of registered configs, per config and against one config. */
function generatorRows(r: Results): string[][] {
  const gens = Object.keys(r.generator).sort((a, b) => Number(a) - Number(b));
  const g1 = r.generator['1'];
  const none = r.reload['none registered'] ?? [];
  return gens.map((k) => {
    const v = r.generator[k]!;
    const rl = r.reload[`${k} registered`] ?? [];
    return [
      k,
      cell(stat(v)),
      cell(stat(v.map((x) => x / Number(k))), (x) => x.toFixed(2)),
      g1 ? cell(stat(ratios(v, g1)), fratio) : '',
      cell(stat(rl)),
      rl.length && none.length ? fms(stat(rl).median - stat(none).median) : '',
      r.generatorOutput[k]?.replace(/^out /, '') ?? '',
    ];
  });
}

/** The section of one N-at-once test (both tools). */
function atOnceSection(obA: AtOnceRun[], nsA: AtOnceRun[], n: number, title: string, cores: number): string[] {
  const L: string[] = [title, ''];
  const p = (...s: string[]) => L.push(...s, '');
  p(
    `StartUnit for all ${n} issued together, wall time until the last JobRemoved; total PSS 1 s later; \`overlay-boot list\`, \`status NAME\` and \`systemctl list-units\` timed with all running (see below); then StopUnit for all together, wall time until nothing is left of any (same conditions as above). The two tools alternate run by run. The calls go out back to back, at most 64 awaiting their reply (dbus-daemon allows 128 per connection; systemd replies once the job is queued).`,
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

  const cpuRows = cpuTable(obA, nsA, cores);
  if (cpuRows.length) {
    p(
      `Where the time of the ${n} at once goes: CPU time (cgroup v2 \`cpu.stat\`) of the sandbox's cgroups from the first StartUnit until all were active, and from the first StopUnit until nothing was left; ` +
        `median over the runs, ms. A cgroup that used nearly all of the wall time × ${cores} cores bounds the figure; one that used nearly one core's worth (the wall time) is a single-threaded bottleneck (systemd, dbus-daemon and journald are single-threaded). ` +
        "The instances' unit cgroups are gone after the stop; their time is then in system.slice and the whole sandbox.",
    );
    p(table(['cgroup', 'overlay-boot 2: start', 'systemd-nspawn: start', 'overlay-boot 2: stop', 'systemd-nspawn: stop'], cpuRows));
  }
  return L;
}

/**
 * Issue 15's targets against this run's medians (ratios paired per run, as
 * in the headline). "–" when this run did not measure the figure.
 */
function targetRows(r: Results): string[][] {
  const o = r.meta.options;
  // Three significant digits: a ratio shown as 0.60 may still be above a target of 0.6.
  const f3 = (x: number): string => (Number.isFinite(x) ? x.toPrecision(3) : '–');
  const S = (k: keyof Results['single']) => (r.single[k]?.start ?? []).map((x) => x.ms);
  const nsS = S('ns');
  const med = (xs: number[]) => (xs.length ? stat(xs).median : NaN);
  const obfNet = S('obf').map((x, i) => x - (r.firstHelp?.[i] ?? NaN));
  const wall = (runs: AtOnceRun[] | undefined, f: (x: AtOnceRun) => number) => (runs ?? []).map(f);
  const gens = Object.keys(r.generator).sort((a, b) => Number(a) - Number(b));
  const big = gens.at(-1) ?? '1';
  const perStart = (runs: AtOnceRun[] | undefined, n: number) => med(wall(runs, (x) => x.startWallMs / n));
  const rows: Array<[string, number, string, boolean, (x: number) => string]> = [
    ['start with a valid plan / nspawn', med(ratios(S('ob'), nsS)), '≤ 0.6', med(ratios(S('ob'), nsS)) <= 0.6, f3],
    ['start after an edit / nspawn', med(ratios(S('obn'), nsS)), '≤ 2.5', med(ratios(S('obn'), nsS)) <= 2.5, f3],
    [
      "first `overlay-boot CONF` of a new config, less the command's start-up / nspawn start",
      med(ratios(obfNet, nsS)),
      '≤ 1.3',
      med(ratios(obfNet, nsS)) <= 1.3,
      f3,
    ],
    [
      'stop / nspawn',
      med(
        ratios(
          r.single.ob.stop.map((x) => x.ms),
          r.single.ns.stop.map((x) => x.ms),
        ),
      ),
      '≤ 0.8',
      med(
        ratios(
          r.single.ob.stop.map((x) => x.ms),
          r.single.ns.stop.map((x) => x.ms),
        ),
      ) <= 0.8,
      f3,
    ],
  ];
  const a = r.atOnce;
  const aStart = med(
    ratios(
      wall(a.ob, (x) => x.startWallMs),
      wall(a.ns, (x) => x.startWallMs),
    ),
  );
  const aStop = med(
    ratios(
      wall(a.ob, (x) => x.stopWallMs),
      wall(a.ns, (x) => x.stopWallMs),
    ),
  );
  rows.push(
    [`${o.atOnce} at once: start / nspawn`, aStart, '≤ 0.8', aStart <= 0.8, f3],
    [`${o.atOnce} at once: stop / nspawn`, aStop, '≤ 1.0', aStop <= 1.0, f3],
  );
  const pss = med(r.single.ob.mem.map((x) => x.pssKiB));
  rows.push(['PSS per idle subhost, MiB', pss, '≤ 0.40', pss <= 0.4 * 1024, fmib]);
  const g = r.generator['1'] ? med(ratios(r.generator[big] ?? [], r.generator['1'])) : NaN;
  rows.push([`generator, ${big} configs / 1 config`, g, '≤ 3', g <= 3, f3]);
  if (o.scale && r.scale?.ob.length) {
    const list = med(cliOf(r.scale.ob, 'overlay-boot list'));
    const status = med(cliOf(r.scale.ob, 'overlay-boot status NAME'));
    const grow = perStart(r.scale.ob, o.scale) / perStart(a.ob, o.atOnce);
    rows.push(
      [`\`overlay-boot list\` with ${o.scale} running, ms`, list, '≤ 500', list <= 500, fms],
      [`\`overlay-boot status NAME\` with ${o.scale} running, ms`, status, '≤ 150', status <= 150, fms],
      [`${o.scale} at once: start per subhost / at ${o.atOnce}`, grow, '≤ 1.0', grow <= 1.0, f3],
    );
  }
  return rows.map(([label, v, target, ok, f]) => [label, f(v), target, Number.isFinite(v) ? (ok ? 'met' : '**missed**') : '–']);
}

/** CPU time per cgroup during N at once (start, stop), both tools; the busiest first, then the wall time for scale. */
function cpuTable(obA: AtOnceRun[], nsA: AtOnceRun[], cores: number): string[][] {
  const cols: Array<[AtOnceRun[], 'cpuStart' | 'cpuStop']> = [
    [obA, 'cpuStart'],
    [nsA, 'cpuStart'],
    [obA, 'cpuStop'],
    [nsA, 'cpuStop'],
  ];
  if (!obA.some((x) => x.cpuStart)) return [];
  const keys = [...new Set(cols.flatMap(([runs, k]) => runs.flatMap((x) => Object.keys(x[k] ?? {}))))];
  const med = (runs: AtOnceRun[], k: 'cpuStart' | 'cpuStop', key: string) => median(runs.map((x) => x[k]?.[key] ?? 0));
  const top = keys
    .map((key) => ({ key, max: Math.max(...cols.map(([runs, k]) => med(runs, k, key))) }))
    .filter((x) => x.max >= 1)
    .sort((a, b) => b.max - a.max)
    .slice(0, 14);
  const wall = (runs: AtOnceRun[], k: 'cpuStart' | 'cpuStop') => median(runs.map((x) => (k === 'cpuStart' ? x.startWallMs : x.stopWallMs)));
  return [
    ...top.map(({ key }) => [`\`${key}\``, ...cols.map(([runs, k]) => fms(med(runs, k, key)))]),
    [
      `wall time (× ${cores} cores: the CPU time there was)`,
      ...cols.map(([runs, k]) => `${fms(wall(runs, k))} (${fms(wall(runs, k) * cores)})`),
    ],
  ];
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
  const obfS = (r.single.obf?.start ?? []).map((s) => s.ms);
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
      (o.quick ? ' **Quick mode: fewer runs, small N — for development, not for quoting.**' : ''),
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
        [
          'runs',
          `${o.runs} start/stop pairs; ${n} at once × ${o.atOnceRuns} per tool` +
            (o.scale && r.scale?.ob.length ? `; ${o.scale} at once × ${o.scaleRuns} per tool` : '') +
            `; \`list\`/\`status\` ${o.cliRuns ?? 3} times per at-once run` +
            `; generator${o.genCounts ? ` (${o.genCounts.join(', ')} registered configs)` : ''} and daemon-reload ${o.genRuns} runs each`,
        ],
        ['duration', `${r.meta.totalSeconds.toFixed(0)} s`],
        ['load', verdict],
      ],
    ),
  );

  p('## Headline');
  p(
    'Median, **bold**, and (min–max). The ratio is overlay-boot / nspawn, taken per pair of runs (run *i* of each tool; the two alternate which goes first), then min/median/max of the ratios. ' +
      'The last column says what each row means.',
  );
  p(table(['figure', 'overlay-boot 2', 'systemd-nspawn', 'overlay-boot / nspawn', 'what it means'], headlineRows(r)));
  p('### Targets of issue 15');
  p(
    'The medians above against the targets of issue 15 ("Lighter than anything else"); ratios paired per run as in the headline. ' +
      'Where a target is missed, the sections below show where the time goes.',
  );
  p(table(['figure', 'this run', 'target', ''], targetRows(r)));
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
    'PID 1 inside is the reaper, and with `START=none` the only process: it holds 1.6\'s dummy service FIFO (`/run/dummy_service`) that keeps a subhost up. "Active" is when the runtime has exited after the reaper reported that the START services were started (`Type=forking`); with `START=none` that is the same point as "START services started".',
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
    obfS[i] === undefined ? '' : fms(obfS[i]!),
    r.firstHelp?.[i] === undefined ? '' : fms(r.firstHelp[i]!),
    fms(obT[i]!),
    fms(nsT[i]!),
    fratio(obT[i]! / nsT[i]!),
    fmib(obM[i]!),
    fmib(nsM[i]!),
  ]);
  p(
    'ob = overlay-boot 2 (private-users, the default), ns = systemd-nspawn, obn = overlay-boot 2 with its config touched before the start (no valid plan), obo = overlay-boot 2 with CONTAINMENT=none, obx = overlay-boot 2 without its systemd-machined registration, obf = the first `overlay-boot CONF` of a config never started (the command until it returns; a fresh config each run) and `overlay-boot --help` timed right before it.',
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
        'obf command',
        'obf --help',
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
  if (obfS.length)
    p(
      table(
        [
          "overlay-boot 2, first `overlay-boot CONF` of a new config (from the command's start; the first phase includes its start-up, " +
            `median ${fms(median(r.firstHelp ?? []))} ms for \`--help\`): phase`,
          'ms',
        ],
        phaseRows(r.single.obf.start),
      ),
    );
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

  const cores = Number(m.nproc) || 2;
  p(...atOnceSection(obA, nsA, n, `## ${n} at once`, cores));
  if (o.scale && r.scale?.ob.length) p(...atOnceSection(r.scale.ob, r.scale.ns, o.scale, `## ${o.scale} at once (scale)`, cores));

  p(`## Growth: 1 → ${[n, o.scale].filter(Boolean).join(' → ')}`);
  p(
    'How each per-instance cost grows with the number of instances, both tools, from the same run: at 1 the single runs (median over the runs), ' +
      'at N the N-at-once runs (all active / N, all gone / N, total PSS / N). The ratio columns divide the medians: 1.00 means the cost per instance does not grow.',
  );
  const g = growthRows(r);
  p(table(g.head, g.rows));

  p('## The commands an admin types, at scale');
  p(
    `\`${CLI} list\` and \`${CLI} status NAME\` (NAME: the middle instance) run inside the sandbox as an admin would (output to /dev/null instead of a terminal), ` +
      "timed with bash's `$EPOCHREALTIME`: once per single run with one subhost running, " +
      `${o.cliRuns ?? 3} times each per N-at-once run with all N running (after the memory figure, before the stop). ` +
      "`systemctl list-units` of the tool's units is the floor of any listing through systemd. Once per N, the benchmark checks that `list` shows every instance running.",
  );
  {
    const cols: Array<[string, (k: string, t: 'ob' | 'ns') => number[]]> = [
      ['1 running', (k, t) => r.cliSingle?.[t]?.[k] ?? []],
      [`${n} running`, (k, t) => cliOf(r.atOnce[t], k)],
    ];
    if (o.scale && r.scale?.ob.length) cols.push([`${o.scale} running`, (k, t) => cliOf(r.scale[t], k)]);
    const cmds: Array<[string, 'ob' | 'ns', string]> = [
      ['overlay-boot list', 'ob', '`overlay-boot list`'],
      ['overlay-boot status NAME', 'ob', '`overlay-boot status NAME`'],
      ['systemctl list-units', 'ob', "`systemctl list-units 'subhost@*'`"],
      ['systemctl list-units', 'ns', "`systemctl list-units 'nspawn-bench@*'`"],
    ];
    p(
      table(
        ['command, ms', ...cols.map(([c]) => c)],
        cmds.map(([k, t, label]) => [label, ...cols.map(([, f]) => cell(stat(f(k, t))))]),
      ),
    );
  }

  {
    // What the commands do, counted: once per N under strace -f -c.
    const sets: Array<[string, AtOnceRun | undefined]> = [[`${n} running`, obA.find((x) => x.cliStrace)]];
    if (o.scale && r.scale?.ob.length) sets.push([`${o.scale} running`, r.scale.ob.find((x) => x.cliStrace)]);
    const have = sets.filter((x): x is [string, AtOnceRun] => x[1] !== undefined);
    const cmds = [...new Set(have.flatMap(([, x]) => Object.keys(x.cliStrace ?? {})))];
    if (have.length && cmds.length) {
      p(
        'What the commands do, counted: each once under `strace -f -c` (every process it starts followed) in the first run of each N, after the timings. strace slows system calls, so its wall time only shows proportions; the counts are what grows with N.',
      );
      const groups = [...new Set(have.flatMap(([, x]) => Object.values(x.cliStrace ?? {}).flatMap((c) => Object.keys(c.calls))))];
      p(
        table(
          ['', ...cmds.flatMap((c) => have.map(([label]) => `\`${c}\`, ${label}`))],
          [
            ['wall time under strace, ms', ...cmds.flatMap((c) => have.map(([, x]) => fms(x.cliStrace?.[c]?.ms ?? NaN)))],
            ...groups.map((g) => [g, ...cmds.flatMap((c) => have.map(([, x]) => String(x.cliStrace?.[c]?.calls[g] ?? '–')))]),
          ],
        ),
      );
    }
  }

  p('## Generator and daemon-reload');
  p(
    `\`${'/usr/lib/systemd/system-generators/overlay-boot-generator'}\` (the installed link to the bundle) run directly inside the sandbox with three fresh output dirs in \`/run\` (tmpfs, as systemd gives them), ` +
      "timed with bash's `$EPOCHREALTIME` (no extra process), and `daemon-reload` over D-Bus (Reload returns once the reload is complete; it runs every generator, " +
      "the host's other generators too, hence the baseline with none registered):",
  );
  p(
    'The generator cases take turns run by run (the same config list, its first K registered), so that drift hits all of them; per config is the run time divided by K; ' +
      '"/ 1 config" is paired per run. daemon-reload: the case\'s configs registered, one untimed reload, then the timed ones; "minus none" subtracts the medians.',
  );
  p(
    table(
      [
        'registered configs',
        'generator, ms',
        'per config, ms',
        'generator / 1 config',
        'daemon-reload, ms',
        'daemon-reload minus none, ms',
        'generator output (first run)',
      ],
      generatorRows(r),
    ),
  );
  p(`daemon-reload with none registered: ${cell(stat(r.reload['none registered'] ?? []))} ms.`);
  const gp = r.generatorPhases;
  if (gp && Object.keys(gp).length) {
    const ks = Object.keys(gp).sort((a, b) => Number(a) - Number(b));
    const what: Array<[string, string]> = [
      ['start-up', 'Node.js starting, the bundle compiled and initialised (process start → main)'],
      ['load', 'reading and checking each config: descriptor-safe open, trust of its directories, parsing, validation'],
      ['convert', 'building its plans and unit files in memory'],
      ['write', 'writing them into the output directory (tmpfs)'],
      ['rest', '/etc/subhosts.conf, the templates, the enabled-units check'],
      ['total', 'process start → end of main'],
    ];
    p(
      'Where the generator spends its time, as it clocks itself (`OVERLAY_BOOT_GENERATOR_TIMES=1`, three runs each, median; the same runs as above otherwise), ms:',
    );
    p(
      table(
        ['phase', ...ks.map((k) => `${k} config${k === '1' ? '' : 's'}`), ...(ks.length > 1 ? [`per extra config, µs`] : []), 'what'],
        what.map(([k, w]) => {
          const v = ks.map((c) => median(gp[c]?.[k] ?? []));
          const extra =
            ks.length > 1 ? [(((v[v.length - 1]! - v[0]!) / (Number(ks[ks.length - 1]) - Number(ks[0]))) * 1000).toFixed(0)] : [];
          return [k, ...v.map((x) => x.toFixed(1)), ...extra, w];
        }),
      ),
    );
  }

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
