// overlay-boot 2 against systemd-nspawn, in the same run, in one throwaway
// sandbox systemd 252 (test/sandbox). Run by bench/run.sh (see
// bench/README.md); writes RESULTS.md and results.json.
import { mkdirSync, writeFileSync, readFileSync, utimesSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { bootSandbox, type Sandbox } from '../test/sandbox/sandbox.js';
import { installUnits, makeSubhost, register } from '../test/e2e/kit.js';
import { OB, NS, OB_CONF, nspawnUnit, type Tool, type ToolKey } from './tools.js';
import {
  startMany,
  stopMany,
  startByCommand,
  timeCommands,
  straceCounts,
  CLI,
  type StraceCount,
  memOf,
  sandboxPids,
  systemRss,
  journalSince,
  type StartSample,
  type StopSample,
  type MemSample,
} from './measure.js';
import { microStartup, straceStart, type StraceProfile } from './profile.js';
import { CpuWatch, sleep, nowMs, loadavg, meminfo, unrefUnits, cgroupCpu, cpuDelta, type CpuSnap } from './lib.js';
import { renderResults } from './report.js';

export interface Options {
  quick: boolean;
  /** Single start/stop pairs (each: one overlay-boot and one nspawn run). */
  runs: number;
  /** Instances started at once. */
  atOnce: number;
  /** Repetitions of the at-once test per tool. */
  atOnceRuns: number;
  /** Runs of the generator and of daemon-reload per case. */
  genRuns: number;
  /** Registered configs of the generator and daemon-reload cases. */
  genCounts: number[];
  /** The second, larger N at once (0: none). */
  scale: number;
  /** Repetitions of the scale test per tool. */
  scaleRuns: number;
  /** Runs of `overlay-boot list` and `status NAME` with all N running, per at-once run. */
  cliRuns: number;
  /** Wait up to this many seconds for a quiet machine before measuring. */
  waitQuiet: number;
  out: string;
  command: string;
}

export interface AtOnceRun {
  startWallMs: number;
  stopWallMs: number;
  /** Per-instance start latencies (each from the common start). */
  startMs: number[];
  mem: MemSample;
  /** Sandbox system processes' RSS (KiB) before the start and while they all run. */
  systemBefore: Record<string, number>;
  systemDuring: Record<string, number>;
  /** Host-wide /proc/meminfo deltas (KiB) with all running (noisy: others' work counts too). */
  hostDelta: Record<string, number>;
  stopLast: Record<string, number>;
  /** Commands timed (ms, cliRuns each) with all N running: `overlay-boot list`, `status NAME`, `systemctl list-units`. */
  cli: Record<string, number[]>;
  /** CPU time (ms) per sandbox cgroup from the first StartUnit until all were active, and from the first StopUnit until nothing was left (cgroupCpu()). */
  cpuStart: Record<string, number>;
  cpuStop: Record<string, number>;
  /** First run of each N only, overlay-boot: its commands once under `strace -f -c` (straceCounts()). */
  cliStrace?: Record<string, StraceCount>;
}

export interface PhaseNoise {
  phase: string;
  seconds: number;
  othersCores: number;
  oursCores: number;
  loadavg: string;
  otherSandboxes: number;
}

export interface Results {
  meta: {
    date: string;
    command: string;
    options: Options;
    machine: Record<string, string>;
    noise: PhaseNoise[];
    totalSeconds: number;
  };
  setup: { obConf: string; nspawnUnit: string; checks: string[] };
  /**
   * ob: overlay-boot (plans valid: the common path; private-users, the default), obc: the same with
   * CONTAINMENT=contained (what the user namespace costs, in the same run), ns: nspawn, obn: overlay-boot with its
   * config touched before each start (no valid plan: Node.js runtime), obo: overlay-boot with CONTAINMENT=none (what
   * containment costs, in the same run), obx: overlay-boot without its systemd-machined registration
   * (subhost-machine@obx masked: what registering costs the start, in the same run), obf: the first
   * `overlay-boot CONF` of a config never started (not registered, no plan), timed around the command.
   */
  single: Record<VariantKey, { start: StartSample[]; stop: StopSample[]; mem: MemSample[] }>;
  /** Order of the variants in each run. */
  pairOrder: string[];
  lastObJournal: string[];
  atOnce: Record<ToolKey, AtOnceRun[]>;
  /** The second, larger N at once (opt.scale), as atOnce. */
  scale: Record<ToolKey, AtOnceRun[]>;
  /** `overlay-boot --help` timed right before each first `overlay-boot CONF` (single.obf, same order). */
  firstHelp: number[];
  /** Commands timed once per single run with one instance running (as AtOnceRun.cli), per tool. */
  cliSingle: Record<ToolKey, Record<string, number[]>>;
  /** Per count of registered configs (key), one generator run per run i: the cases take turns. */
  generator: Record<string, number[]>;
  generatorOutput: Record<string, string>;
  /** Per count (the smallest and the largest): the generator's own phase times (OVERLAY_BOOT_GENERATOR_TIMES), ms per run. */
  generatorPhases?: Record<string, Record<string, number[]>>;
  reload: Record<string, number[]>;
  micro: Record<string, number[]>;
  profiles: StraceProfile[];
}

export type VariantKey = ToolKey | 'obn' | 'obo' | 'obc' | 'obx' | 'obf';

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const num = (flag: string, dflt: number) => {
    const a = argv.find((x) => x.startsWith(`${flag}=`));
    if (!a) return dflt;
    const n = Number(a.slice(flag.length + 1));
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: a positive integer`);
    return n;
  };
  for (const a of argv) {
    if (!/^--(quick|runs|at-once|at-once-runs|gen-runs|gen-counts|scale|scale-runs|cli-runs|wait-quiet|out)(=|$)/.test(a))
      throw new Error(`unknown argument ${a} (see bench/README.md)`);
  }
  const counts = argv.find((x) => x.startsWith('--gen-counts='))?.slice('--gen-counts='.length);
  const genCounts = counts ? counts.split(',').map(Number) : quick ? [1, 10, 50] : [1, 10, 50, 200, 1000];
  if (!genCounts.every((k) => Number.isInteger(k) && k > 0)) throw new Error('--gen-counts: positive integers, comma-separated');
  const scaleArg = argv.find((x) => x === '--scale=0') ? 0 : undefined;
  const benchDir = process.env.BENCH_DIR ?? new URL('.', import.meta.url).pathname;
  const outArg = argv.find((x) => x.startsWith('--out='))?.slice(6);
  return {
    quick,
    runs: num('--runs', quick ? 3 : 10),
    atOnce: num('--at-once', quick ? 5 : 50),
    atOnceRuns: num('--at-once-runs', quick ? 3 : 10),
    genRuns: num('--gen-runs', quick ? 3 : 10),
    genCounts: [...new Set(genCounts)].sort((a, b) => a - b),
    scale: scaleArg ?? num('--scale', quick ? 10 : 200),
    scaleRuns: num('--scale-runs', quick ? 1 : 3),
    cliRuns: num('--cli-runs', 3),
    waitQuiet: argv.includes('--wait-quiet') ? 600 : num('--wait-quiet', 0),
    out: outArg ?? (quick ? join(benchDir, 'out') : benchDir),
    command: process.env.BENCH_COMMAND ?? `bench/run.sh ${argv.join(' ')}`.trim(),
  };
}

const log = (s: string) => process.stdout.write(`${s}\n`);
/** PREFIX01..PREFIXnn, zero-padded to the width of N (at least 2 digits). */
const numbered = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(Math.max(2, String(n).length), '0')}`);

function machine(): Record<string, string> {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const mem = meminfo();
  let debian = '?';
  try {
    debian = readFileSync('/etc/debian_version', 'utf8').trim();
  } catch {
    /* not Debian */
  }
  return {
    tree: process.env.BENCH_TREE ?? 'unknown',
    nproc: String(os.availableParallelism?.() ?? os.cpus().length),
    memory: `${(mem.MemTotal! / 1048576).toFixed(1)} GiB`,
    kernel: os.release(),
    cpu,
    debian,
    node: process.version,
  };
}

async function main(): Promise<void> {
  const opt = parseArgs(process.argv.slice(2));
  const began = nowMs();
  log(
    `bench: ${opt.runs} runs per tool, ${opt.atOnce} at once x ${opt.atOnceRuns}, ${opt.scale} at once x ${opt.scaleRuns}, ` +
      `generator with ${opt.genCounts.join('/')} configs, results to ${opt.out}`,
  );
  const sb: Sandbox = await bootSandbox();
  // Ctrl-C: power the sandbox off rather than leave it behind.
  const interrupted = (sig: string) => {
    log(`bench: ${sig}: stopping the sandbox`);
    void sb.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const res = await run(sb, opt);
    res.meta.totalSeconds = (nowMs() - began) / 1000;
    mkdirSync(opt.out, { recursive: true });
    writeFileSync(join(opt.out, 'results.json'), `${JSON.stringify(res, null, 1)}\n`);
    writeFileSync(join(opt.out, 'RESULTS.md'), renderResults(res));
    log(`bench: done in ${res.meta.totalSeconds.toFixed(0)} s: ${join(opt.out, 'RESULTS.md')}`);
  } catch (e) {
    // What the sandbox's systemd said last (a crash or a refused limit shows here, not in the error).
    const tail = (await sb.consoleLog().catch(() => '')).trimEnd().split('\n').slice(-25);
    log(`bench: failed; the sandbox console's last lines:\n${tail.join('\n')}`);
    const j = await sb
      .run([
        'sh',
        '-c',
        'journalctl --no-pager -o short-monotonic _PID=1 + _SYSTEMD_UNIT=dbus.service | grep -iE "bus|queue|disconnect|limit|buffer|assert|freez|crash" | grep -v Registration | tail -n 40',
      ])
      .catch(() => undefined);
    log(`the sandbox journal of systemd and dbus-daemon, last lines:\n${j?.stdout ?? '(none)'}`);
    throw e;
  } finally {
    await sb.stop();
  }
}

async function run(sb: Sandbox, opt: Options): Promise<Results> {
  const cpu = await CpuWatch.create(sb);
  const noise: PhaseNoise[] = [];
  let mark: CpuSnap = cpu.snap();
  const phase = (name: string) => {
    const now = cpu.snap();
    noise.push({
      phase: name,
      seconds: (now.t - mark.t) / 1000,
      othersCores: CpuWatch.others(mark, now),
      oursCores: CpuWatch.ours(mark, now),
      loadavg: loadavg(),
      otherSandboxes: cpu.otherSandboxes(),
    });
    log(`  [${name}: ${((now.t - mark.t) / 1000).toFixed(1)} s, others used ${CpuWatch.others(mark, now).toFixed(2)} cores]`);
    mark = now;
  };

  if (opt.waitQuiet > 0) {
    log(`waiting up to ${opt.waitQuiet} s for a quiet machine (others < 0.10 cores over 10 s)`);
    const end = nowMs() + opt.waitQuiet * 1000;
    for (;;) {
      const a = cpu.snap();
      await sleep(10_000);
      const o = CpuWatch.others(a, cpu.snap());
      log(`  others: ${o.toFixed(2)} cores, ${cpu.otherSandboxes()} other sandbox(es)`);
      if (o < 0.1 || nowMs() > end) break;
    }
    mark = cpu.snap();
  }

  const version = String(await sb.getManagerProperty('Version'));
  log(`sandbox: systemd ${version}, booted in ${sb.bootMs} ms`);
  await installUnits(sb);
  await sb.writeFile('/etc/systemd/system/nspawn-bench@.service', nspawnUnit(sb.dataDir), 0o644);
  // ip(8) mounts /run/netns on itself the first time: not part of any start.
  await sb.run(['sh', '-c', 'ip netns add bench-warmup && ip netns delete bench-warmup']);
  const nsv = await sb.run(['systemd-nspawn', '--version']);
  const m = { ...machine(), systemd: version, nspawn: nsv.stdout.split('\n')[0] ?? '?' };

  // Instances: one of each for the single runs; N of each at once and the
  // scale's N are the first of one numbered list (the generator's configs too).
  const single: Record<ToolKey, string> = { ob: 'obs', ns: 'nss' };
  const obAll = numbered('ob', Math.max(opt.atOnce, opt.scale, ...opt.genCounts));
  const nsAll = numbered('ns', Math.max(opt.atOnce, opt.scale));
  const many: Record<ToolKey, string[]> = { ob: obAll.slice(0, opt.atOnce), ns: nsAll.slice(0, opt.atOnce) };
  const scaled: Record<ToolKey, string[]> = { ob: obAll.slice(0, opt.scale), ns: nsAll.slice(0, opt.scale) };
  // A fresh config for each first `overlay-boot CONF` (index 0: the warm-up).
  const firstNames = numbered('obf', opt.runs + 1);
  const confs: Record<string, string> = {
    ...(await OB.prepareAll(sb, [...obAll, ...firstNames])),
    ...(await NS.prepareAll(sb, nsAll)),
  };
  for (const t of [OB, NS]) confs[single[t.key]] = await t.prepare(sb, single[t.key]);
  confs.obn = await OB.prepare(sb, 'obn');
  confs.obo = (await makeSubhost(sb, 'obo', `${OB_CONF}CONTAINMENT=none\n`)).conf;
  confs.obc = (await makeSubhost(sb, 'obc', `${OB_CONF}CONTAINMENT=contained\n`)).conf;
  confs.obx = await OB.prepare(sb, 'obx');
  // Its machined registration off: a masked Wants= is skipped.
  const masked = await sb.run(['ln', '-sf', '/dev/null', '/etc/systemd/system/subhost-machine@obx.service']);
  if (masked.exitCode !== 0) throw new Error(`mask subhost-machine@obx: ${masked.stderr}`);
  await register(sb, confs.obs!, confs.obn, confs.obo, confs.obc, confs.obx);
  await sb.daemonReload();
  phase('setup');

  // ---- checks: both really get the overlay and the veth (once per run; also a warm-up)
  const checks: string[] = [];
  for (const [t, n] of [
    [OB, single.ob],
    [NS, single.ns],
    [OB, 'obn'],
    [OB, 'obo'],
    [OB, 'obc'],
    [OB, 'obx'],
  ] as const) {
    const s = await startMany(sb, t, [n]);
    if (n !== 'obn' && n !== 'obo' && n !== 'obc' && n !== 'obx') {
      const c = await checkInstance(sb, t, n, s.samples[0]!.cgroup);
      checks.push(...c);
      for (const l of c) log(`  ${l}`);
    }
    await stopMany(sb, t, [{ name: n, cgroup: s.samples[0]!.cgroup }]);
  }
  {
    const f = firstNames[0]!;
    const c = await startByCommand(sb, OB, f, confs[f]!);
    await stopMany(sb, OB, [{ name: f, cgroup: c.sample.cgroup }]);
    await unregisterRun(sb, f);
    await unrefUnits(sb, [OB.unit(f)]);
  }
  phase('checks and warm-up');

  // ---- single start / idle memory / stop; the variants take turns going first
  const baseline = sandboxPids(sb);
  const singleRes: Results['single'] = {
    ob: { start: [], stop: [], mem: [] },
    ns: { start: [], stop: [], mem: [] },
    obn: { start: [], stop: [], mem: [] },
    obo: { start: [], stop: [], mem: [] },
    obc: { start: [], stop: [], mem: [] },
    obx: { start: [], stop: [], mem: [] },
    obf: { start: [], stop: [], mem: [] },
  };
  const variants: Array<{ key: VariantKey; tool: Tool; name: string; label: string; touch?: string }> = [
    { key: 'ob', tool: OB, name: single.ob, label: OB.label },
    { key: 'ns', tool: NS, name: single.ns, label: NS.label },
    { key: 'obn', tool: OB, name: 'obn', label: `${OB.label}, config touched (no plan)`, touch: `${sb.root}${confs.obn}` },
    { key: 'obo', tool: OB, name: 'obo', label: `${OB.label}, CONTAINMENT=none` },
    { key: 'obc', tool: OB, name: 'obc', label: `${OB.label}, CONTAINMENT=contained` },
    { key: 'obx', tool: OB, name: 'obx', label: `${OB.label}, no machined registration` },
    // name: a fresh config each run (below)
    { key: 'obf', tool: OB, name: '', label: `${OB.label}, first \`overlay-boot CONF\`` },
  ];
  const firstHelp: number[] = [];
  const cliSingle: Results['cliSingle'] = { ob: {}, ns: {} };
  const pairOrder: string[] = [];
  const micro: Record<string, number[]> = {};
  let lastObStart = 0;
  for (let i = 0; i < opt.runs; i++) {
    const order = [...variants.slice(i % variants.length), ...variants.slice(0, i % variants.length)];
    pairOrder.push(order.map((v) => v.key).join(','));
    for (const v of order) {
      if (v.touch) {
        const now = new Date();
        utimesSync(v.touch, now, now); // every plan made from it is stale now
      }
      if (v.key === 'ob') lastObStart = nowMs();
      const name = v.key === 'obf' ? firstNames[i + 1]! : v.name;
      let s: StartSample;
      if (v.key === 'obf') {
        const c = await startByCommand(sb, v.tool, name, confs[name]!);
        s = c.sample;
        firstHelp.push(c.helpMs);
      } else s = (await startMany(sb, v.tool, [name])).samples[0]!;
      await sleep(500);
      const mem = await memOf(sb, v.tool, [{ name, cgroup: s.cgroup }], baseline);
      if (v.key === 'ob' || v.key === 'ns') {
        // After the memory figure: the commands' processes are gone by then.
        for (const [k, xs] of Object.entries(await timeCommands(sb, cliCommands(v.tool, [name]), 1)))
          cliSingle[v.key][k] = [...(cliSingle[v.key][k] ?? []), ...xs];
      }
      const st = (await stopMany(sb, v.tool, [{ name, cgroup: s.cgroup }])).samples[0]!;
      if (v.key === 'obf') {
        await unregisterRun(sb, name);
        await unrefUnits(sb, [v.tool.unit(name)]);
      }
      singleRes[v.key].start.push(s);
      singleRes[v.key].mem.push(mem);
      singleRes[v.key].stop.push(st);
      log(
        `  run ${i + 1} ${v.label}: start ${s.ms.toFixed(1)} ms, stop ${st.ms.toFixed(1)} ms (last: ${st.last}), PSS ${(mem.pssKiB / 1024).toFixed(2)} MiB`,
      );
      await sleep(200);
    }
    // The commands timed alone, once per run: under the same conditions as the starts.
    for (const [k, v] of Object.entries(await microStartup(sb, 1))) micro[k] = [...(micro[k] ?? []), ...v];
  }
  const lastObJournal = await journalSince(sb, OB.units(single.ob), lastObStart);
  phase('single runs');

  // ---- N at once, alternating the tools; then the scale's larger N
  const atOnce = await atOnceRuns(sb, many, confs, opt.atOnceRuns, opt.cliRuns);
  phase(`${opt.atOnce} at once`);
  const scale = opt.scale > 0 ? await atOnceRuns(sb, scaled, confs, opt.scaleRuns, opt.cliRuns) : { ob: [], ns: [] };
  if (opt.scale > 0) phase(`${opt.scale} at once`);

  // ---- daemon-reload with N registered, and with none (baseline: systemd and the host's other generators)
  const reload: Record<string, number[]> = {};
  for (const [label, list] of [
    ['none registered', [] as string[]] as const,
    ...opt.genCounts.map((k) => [`${k} registered`, obAll.slice(0, k)] as const),
  ]) {
    await register(sb, ...list.map((n) => confs[n]!));
    await sb.daemonReload(); // the transition itself is not timed
    reload[label] = [];
    for (let i = 0; i < opt.genRuns; i++) {
      const t0 = nowMs();
      await sb.daemonReload();
      reload[label].push(nowMs() - t0);
    }
    log(`  daemon-reload, ${label}: ${reload[label].map((x) => x.toFixed(0)).join(' ')} ms`);
  }
  phase('daemon-reload');

  // ---- the generator alone with each count of registered configs; the counts take turns run by run
  const generator: Record<string, number[]> = Object.fromEntries(opt.genCounts.map((k) => [`${k}`, [] as number[]]));
  const generatorOutput: Record<string, string> = {};
  for (let i = 0; i < opt.genRuns; i++) {
    const order = [...opt.genCounts.slice(i % opt.genCounts.length), ...opt.genCounts.slice(0, i % opt.genCounts.length)];
    for (const k of order) {
      await register(sb, ...obAll.slice(0, k).map((n) => confs[n]!));
      const r = await sb.run(['bash', '-c', GEN_SCRIPT, 'bench', '1', GENERATOR]);
      if (r.exitCode !== 0) throw new Error(`generator timing: ${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      const [, t0, t1] = lines.find((l) => l.startsWith('t '))!.split(' ');
      generator[`${k}`]!.push((Number(t1) - Number(t0)) * 1000);
      generatorOutput[`${k}`] ??= lines.find((l) => l.startsWith('out ')) ?? '';
    }
  }
  for (const k of opt.genCounts)
    log(`  generator, ${k} registered: ${generator[`${k}`]!.map((x) => x.toFixed(0)).join(' ')} ms (${generatorOutput[`${k}`]})`);
  // Where its time goes, as the generator itself clocks it: the fewest and the most configs, 3 runs each.
  const generatorPhases: Record<string, Record<string, number[]>> = {};
  for (const k of [...new Set([opt.genCounts[0]!, opt.genCounts[opt.genCounts.length - 1]!])]) {
    await register(sb, ...obAll.slice(0, k).map((n) => confs[n]!));
    for (let i = 0; i < 3; i++) {
      const r = await sb.run(['env', 'OVERLAY_BOOT_GENERATOR_TIMES=1', 'bash', '-c', GEN_SCRIPT, 'bench', '1', GENERATOR]);
      const m = /times: (.*) ms$/m.exec(r.stderr);
      if (r.exitCode !== 0 || !m) throw new Error(`generator phases: ${r.stderr}`);
      const words = m[1]!.split(' ');
      const phases = generatorPhases[`${k}`] ?? {};
      generatorPhases[`${k}`] = phases;
      for (let j = 0; j + 1 < words.length; j += 2) phases[words[j]!] = [...(phases[words[j]!] ?? []), Number(words[j + 1])];
    }
  }
  phase('generator');

  // ---- profile of the start paths
  await register(sb, confs.obs!, confs.obn!);
  await sb.daemonReload();
  const profiles: StraceProfile[] = [];
  for (const [t, n, o] of [
    [OB, single.ob, { label: `${OB.label}: plans valid (the common path)` }],
    [OB, 'obn', { label: `${OB.label}: config touched, no valid plan (Node.js runtime)`, touch: `${sb.root}${confs.obn}` }],
    [NS, single.ns, { label: NS.label }],
  ] as const) {
    try {
      profiles.push(await straceStart(sb, t, n, o));
    } catch (e) {
      log(`profile under strace (${o.label}) failed: ${(e as Error).message}`);
    }
  }
  phase('profile');

  return {
    meta: { date: new Date().toISOString(), command: opt.command, options: opt, machine: m, noise, totalSeconds: 0 },
    setup: { obConf: OB_CONF, nspawnUnit: nspawnUnit(sb.dataDir), checks },
    single: singleRes,
    pairOrder,
    lastObJournal,
    atOnce,
    scale,
    firstHelp,
    cliSingle,
    generator,
    generatorOutput,
    generatorPhases,
    reload,
    micro,
    profiles,
  };
}

/**
 * What an admin types to look at subhosts (overlay-boot) and the floor of any
 * listing through systemd (`systemctl list-units` of the tool's units: one
 * D-Bus call, no per-unit details), with NAMES running.
 */
function cliCommands(t: Tool, names: string[]): Record<string, string[]> {
  const pattern = `${t.unit('*')}`;
  const units: Record<string, string[]> = { 'systemctl list-units': ['systemctl', 'list-units', '--no-pager', pattern] };
  if (t.key !== 'ob') return units;
  return {
    'overlay-boot list': [CLI, 'list'],
    'overlay-boot status NAME': [CLI, 'status', names[Math.floor(names.length / 2)]!],
    ...units,
  };
}

/** A first `overlay-boot CONF` registers the config for this boot: undone, so that the next first start is a first one too and `list` does not grow. */
async function unregisterRun(sb: Sandbox, name: string): Promise<void> {
  const r = await sb.run(['rm', '-f', `/run/overlay-boot/registry/${name}.conf`]);
  if (r.exitCode !== 0) throw new Error(`unregister ${name}: ${r.stderr}`);
}

/**
 * RUNS times per tool (the tools take turns going first): start all NAMES at
 * once, wait 1 s, memory, the commands of cliCommands() CLI_RUNS times each,
 * then stop all at once until nothing is left. The overlay-boot instances
 * are the only registered configs meanwhile.
 */
async function atOnceRuns(
  sb: Sandbox,
  all: Record<ToolKey, string[]>,
  confs: Record<string, string>,
  runs: number,
  cliRuns: number,
): Promise<Record<ToolKey, AtOnceRun[]>> {
  await register(sb, ...all.ob.map((n) => confs[n]!));
  await sb.daemonReload();
  const out: Record<ToolKey, AtOnceRun[]> = { ob: [], ns: [] };
  const cgRoot = `${sb.root}/sys/fs/cgroup`;
  for (let i = 0; i < runs; i++) {
    for (const t of i % 2 === 0 ? [OB, NS] : [NS, OB]) {
      const names = all[t.key];
      const sysBefore = systemRss(sb);
      const hostBefore = meminfo();
      const base = sandboxPids(sb);
      let cpu0 = cgroupCpu(cgRoot);
      let cpuStart: Record<string, number> = {};
      const s = await startMany(sb, t, names, () => {
        cpuStart = cpuDelta(cpu0, cgroupCpu(cgRoot));
      });
      await sleep(1000);
      const items = s.samples.map((x) => ({ name: x.name, cgroup: x.cgroup }));
      const mem = await memOf(sb, t, items, base);
      const sysDuring = systemRss(sb);
      const hostDuring = meminfo();
      const hostDelta: Record<string, number> = {};
      for (const k of ['MemAvailable', 'Slab', 'SUnreclaim', 'KernelStack', 'PageTables', 'Shmem']) {
        hostDelta[k] = k === 'MemAvailable' ? hostBefore[k]! - hostDuring[k]! : hostDuring[k]! - hostBefore[k]!;
      }
      if (i === 0 && t.key === 'ob') await checkList(sb, names);
      const cli = await timeCommands(sb, cliCommands(t, names), cliRuns);
      // Once per N, after the timings: what the commands do, counted.
      const cliStrace: Record<string, StraceCount> = {};
      if (i === 0 && t.key === 'ob') {
        for (const [k, argv] of Object.entries(cliCommands(t, names))) {
          if (argv[0] === CLI) cliStrace[k] = await straceCounts(sb, argv);
        }
      }
      cpu0 = cgroupCpu(cgRoot);
      let cpuStop: Record<string, number> = {};
      const st = await stopMany(sb, t, items, () => {
        cpuStop = cpuDelta(cpu0, cgroupCpu(cgRoot));
      });
      await unrefUnits(sb, names.map(t.unit));
      const lastCount: Record<string, number> = {};
      for (const x of st.samples) lastCount[x.last] = (lastCount[x.last] ?? 0) + 1;
      out[t.key].push({
        startWallMs: s.wallMs,
        stopWallMs: st.wallMs,
        startMs: s.samples.map((x) => x.ms),
        mem,
        systemBefore: sysBefore,
        systemDuring: sysDuring,
        hostDelta,
        stopLast: lastCount,
        cli,
        cpuStart,
        cpuStop,
        ...(Object.keys(cliStrace).length ? { cliStrace } : {}),
      });
      const cliTxt = Object.entries(cli)
        .map(([k, v]) => `${k} ${v.map((x) => x.toFixed(0)).join('/')} ms`)
        .join(', ');
      log(
        `  ${names.length} at once, run ${i + 1}, ${t.label}: all active ${s.wallMs.toFixed(0)} ms, PSS ${(mem.pssKiB / 1024).toFixed(1)} MiB, ${cliTxt}, all gone ${st.wallMs.toFixed(0)} ms`,
      );
      await sleep(500);
    }
  }
  return out;
}

/** `overlay-boot list` shows every running instance as running (once per N: its timings are of a listing that is right). */
async function checkList(sb: Sandbox, names: string[]): Promise<void> {
  const r = await sb.run([CLI, 'list']);
  if (r.exitCode !== 0) throw new Error(`overlay-boot list: exit status ${r.exitCode}: ${r.stderr}`);
  const lines = r.stdout.split('\n');
  const missing = names.filter((n) => !lines.some((l) => l.split(/\s+/)[0] === n && /\b(running|active)\b/.test(l)));
  if (missing.length)
    throw new Error(`overlay-boot list does not show ${missing.length} running subhost(s), e.g. ${missing[0]}:\n${r.stdout}`);
}

/** The installed generator (a link to the bundle in /usr/lib/overlay-boot), as systemd runs it. */
export const GENERATOR = '/usr/lib/systemd/system-generators/overlay-boot-generator';

/**
 * $1 runs, $2 the generator: run it directly with three fresh output dirs in /run (tmpfs, as systemd gives them),
 * timed with bash's $EPOCHREALTIME (no extra process in the measurement).
 */
const GEN_SCRIPT = `set -e
for i in $(seq "$1"); do
  d=$(mktemp -d -p /run); mkdir "$d/normal" "$d/early" "$d/late"
  s=$EPOCHREALTIME; "$2" "$d/normal" "$d/early" "$d/late"; e=$EPOCHREALTIME
  echo "t $s $e"
  [ "$i" = 1 ] && echo "out $(find "$d/normal" -name '*.conf' | wc -l) drop-ins, $(find "$d/normal" -type l | wc -l) wants links"
  rm -rf "$d"
done`;

/** Shows once per run that the instance has the overlay root, the veth on both ends and a minimal PID 1. */
async function checkInstance(sb: Sandbox, t: Tool, name: string, cgroup: string): Promise<string[]> {
  // A process inside the container (sandbox PIDs): overlay-boot's reaper, nspawn's payload.
  const inner = `for p in $(cat "$1/payload/cgroup.procs" "$1/cgroup.procs" 2>/dev/null); do
  case "$(cat /proc/$p/comm)" in .reaper|sleep) echo $p; break;; esac; done`;
  const pid = (await sb.run(['sh', '-c', inner, 'sh', `/sys/fs/cgroup${cgroup}`])).stdout.trim();
  if (!pid) throw new Error(`${t.label} ${name}: no process found inside (cgroup ${cgroup})`);
  const script = `awk '$5=="/" {print "root: " $0}' /proc/self/mountinfo | sed 's/^root: .* - /root: /'
echo "PID 1: $(cat /proc/1/comm); processes: $(ls -d /proc/[0-9]* | wc -l)"
ip -o link show | awk '{print "link inside: " $2}'`;
  const r = await sb.run(['nsenter', '-t', pid, '-a', 'sh', '-c', script]);
  const host = await sb.run(['ip', '-o', 'link', 'show', t.veth(name)]);
  const lines = [...r.stdout.trim().split('\n'), `host end: ${host.stdout.trim().split(/\s+/).slice(1, 3).join(' ') || 'MISSING'}`].map(
    (l) => `${t.label} ${name}: ${l}`,
  );
  const all = lines.join('\n');
  if (!/root: overlay overlay .*upperdir=/.test(all)) throw new Error(`${t.label}: root is not an overlay:\n${all}`);
  if (!/link inside: (eth0|host0)@/.test(all) || /MISSING/.test(all)) throw new Error(`${t.label}: veth missing:\n${all}`);
  return lines;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
