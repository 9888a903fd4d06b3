// bench/RESULTS.md from a run's results (bench/report.ts), on made-up
// figures: every headline row says what it means, the scale rows, the growth
// table and the targets are computed from the samples, and results written
// before these rows existed still render. No timing here: figures are given.
import { describe, it, expect } from 'vitest';
import { renderResults } from '../../bench/report.js';
import type { Results, AtOnceRun } from '../../bench/bench.js';
import type { MemSample, StartSample, StopSample } from '../../bench/measure.js';
import { MICRO } from '../../bench/profile.js';

const mem = (pssKiB: number): MemSample => ({
  pssKiB,
  rssKiB: pssKiB * 2,
  procs: 2,
  byComm: { '.reaper': { count: 1, pssKiB, rssKiB: pssKiB * 2 } },
  outside: {},
});
const start = (ms: number): StartSample => ({
  name: 'x',
  ms,
  activeMs: ms - 1,
  cpuMs: ms / 2,
  phases: { 'StartUnit → unit activating': 1 },
  cgroup: '/x',
});
const stop = (ms: number): StopSample => ({ name: 'x', ms, jobMs: ms, conds: { 'unit inactive': ms }, last: 'unit inactive' });
const single = (startMs: number, stopMs: number, pssKiB: number, runs = 3) => ({
  start: Array.from({ length: runs }, () => start(startMs)),
  stop: Array.from({ length: runs }, () => stop(stopMs)),
  mem: Array.from({ length: runs }, () => mem(pssKiB)),
});
const atOnce = (startWallMs: number, stopWallMs: number, pssKiB: number, cli: Record<string, number[]>): AtOnceRun => ({
  startWallMs,
  stopWallMs,
  startMs: [startWallMs],
  mem: mem(pssKiB),
  systemBefore: { 'systemd (PID 1)': 1000 },
  systemDuring: { 'systemd (PID 1)': 1100 },
  hostDelta: { MemAvailable: 1, Slab: 1, SUnreclaim: 1, KernelStack: 1, PageTables: 1, Shmem: 1 },
  stopLast: { 'unit inactive': 1 },
  cli,
  cpuStart: { 'systemd (PID 1, init.scope)': 900, 'the whole sandbox': 1500 },
  cpuStop: { 'systemd (PID 1, init.scope)': 300 },
});

function results(): Results {
  const list = { 'overlay-boot list': [1000, 1100, 1200], 'overlay-boot status NAME': [100], 'systemctl list-units': [8] };
  const list200 = { 'overlay-boot list': [4000, 4400, 4800], 'overlay-boot status NAME': [120], 'systemctl list-units': [9] };
  return {
    meta: {
      date: '2026-11-29T00:00:00Z',
      command: 'bench/run.sh',
      options: {
        quick: false,
        runs: 3,
        atOnce: 50,
        atOnceRuns: 2,
        genRuns: 2,
        genCounts: [1, 1000],
        scale: 200,
        scaleRuns: 1,
        cliRuns: 3,
        waitQuiet: 0,
        out: '/tmp',
        command: 'bench/run.sh',
      },
      machine: {
        nproc: '2',
        memory: '1 GiB',
        kernel: 'k',
        cpu: 'c',
        debian: '12',
        node: 'v20',
        systemd: '252',
        nspawn: 'systemd 252',
        tree: 't',
      },
      noise: [{ phase: 'single runs', seconds: 1, othersCores: 0, oursCores: 1, loadavg: '0 0 0', otherSandboxes: 0 }],
      totalSeconds: 1,
    },
    setup: { obConf: 'BASE=.\n', nspawnUnit: '[Service]\n', checks: [] },
    single: {
      ob: single(30, 20, 400),
      ns: single(60, 25, 3000),
      obn: single(150, 20, 400),
      obo: single(30, 20, 400),
      obc: single(29, 20, 400),
      obx: single(29, 20, 400),
      obf: single(300, 20, 400),
    },
    pairOrder: ['ob,ns', 'ns,ob', 'ob,ns'],
    lastObJournal: [],
    atOnce: {
      ob: [atOnce(1000, 600, 9000, list), atOnce(1000, 600, 9000, list)],
      ns: [atOnce(1250, 300, 80000, { 'systemctl list-units': [7] }), atOnce(1250, 300, 80000, { 'systemctl list-units': [7] })],
    },
    scale: {
      ob: [
        {
          ...atOnce(8000, 7000, 32000, list200),
          cliStrace: { 'overlay-boot list': { ms: 9000, calls: { 'programs run (execve)': 601, 'namespace entries (setns)': 200 } } },
        },
      ],
      ns: [atOnce(6000, 1000, 300000, { 'systemctl list-units': [9] })],
    },
    firstHelp: [60, 60, 60],
    cliSingle: {
      ob: { 'overlay-boot list': [300, 300, 300], 'overlay-boot status NAME': [100, 100, 100], 'systemctl list-units': [6] },
      ns: {},
    },
    generator: { '1': [100, 100], '1000': [1700, 1700] },
    generatorOutput: { '1': 'out 2 drop-ins, 2 wants links', '1000': 'out 2000 drop-ins, 1001 wants links' },
    generatorPhases: {
      '1': { 'start-up': [30, 31, 32], load: [1, 1, 1], convert: [1, 1, 1], write: [1, 1, 1], rest: [1, 1, 1], total: [34, 35, 36] },
      '1000': {
        'start-up': [30, 31, 32],
        load: [100, 101, 102],
        convert: [50, 50, 50],
        write: [60, 61, 62],
        rest: [1, 1, 1],
        total: [242, 244, 246],
      },
    },
    reload: { 'none registered': [100, 100], '1 registered': [110, 110], '1000 registered': [4000, 4000] },
    micro: Object.fromEntries(MICRO.map(([k]) => [k, [20, 20, 20]])),
    profiles: [],
  };
}

/** The rows of the markdown table whose header starts with HEAD, as cells. */
function tableRows(md: string, head: string): string[][] {
  const lines = md.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`| ${head}`));
  expect(at, `table "${head}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const l of lines.slice(at + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(2, -2).split(' | '));
  }
  return rows;
}

const row = (rows: string[][], label: string): string[] => {
  const r = rows.find((x) => x[0]!.startsWith(label));
  expect(r, `row "${label}"`).toBeDefined();
  return r!;
};

describe('bench RESULTS.md', () => {
  const md = renderResults(results());

  it('gives every headline row its figures and a sentence saying what it means', () => {
    const rows = tableRows(md, 'figure | overlay-boot 2 | systemd-nspawn');
    expect(rows.length).toBeGreaterThan(20);
    for (const r of rows) {
      expect(r, r[0]).toHaveLength(5);
      expect(r[4]!.length, `what "${r[0]}" means`).toBeGreaterThan(20);
    }
  });

  it('reports the first `overlay-boot CONF` less its own start-up against nspawn, paired per run', () => {
    const rows = tableRows(md, 'figure | overlay-boot 2 | systemd-nspawn');
    expect(row(rows, 'first `overlay-boot CONF` of a new config')[1]).toBe('**300** (300–300)');
    expect(row(rows, "the command's own start-up")[1]).toBe('**60.0** (60.0–60.0)');
    // (300 - 60) / 60
    expect(row(rows, 'first `overlay-boot CONF`, less')[3]).toBe('**4.00** (4.00–4.00)');
  });

  it('has the rows of both N at once, the commands at 200 and the generator at 1000 against one config', () => {
    const rows = tableRows(md, 'figure | overlay-boot 2 | systemd-nspawn');
    expect(row(rows, '200 at once: all active, ms').slice(1, 4)).toEqual(['8000', '6000', '1.33']);
    expect(row(rows, '200 at once: start per instance')[1]).toBe('40.0');
    expect(row(rows, '200 at once: PSS per instance, MiB')[1]).toBe('0.16');
    expect(row(rows, '50 at once: all stopped')[3]).toBe('**2.00** (2.00–2.00)');
    expect(row(rows, '`overlay-boot list` with 200 running')[1]).toBe('**4400** (4000–4800)');
    expect(row(rows, '`overlay-boot status NAME` with 200 running')[1]).toBe('120');
    expect(row(rows, 'generator, 1000 configs / 1 config')[1]).toBe('**17.0** (17.0–17.0)');
    expect(row(rows, 'daemon-reload, 1000 registered')[1]).toBe('**4000** (4000–4000)');
  });

  it('shows how each per-instance cost grows from 1 to 50 to 200, both tools', () => {
    const rows = tableRows(md, 'figure | tool | at 1 | at 50 | at 200');
    // overlay-boot: 30 ms alone, 1000/50 = 20 at 50, 8000/200 = 40 at 200
    expect(row(rows, 'start per instance').slice(1, 7)).toEqual([
      'overlay-boot 2',
      '**30.0** (30.0–30.0)',
      '**20.0** (20.0–20.0)',
      '40.0',
      '0.67',
      '2.00',
    ]);
    const ns = rows[rows.findIndex((r) => r[0]!.startsWith('start per instance')) + 1]!;
    expect(ns.slice(1, 7)).toEqual(['systemd-nspawn', '**60.0** (60.0–60.0)', '**25.0** (25.0–25.0)', '30.0', '0.42', '1.20']);
    expect(row(rows, '`overlay-boot list`').slice(2, 5)).toEqual(['**300** (300–300)', '**1100** (1000–1200)', '**4400** (4000–4800)']);
  });

  it('holds the targets of issue 15 against the medians', () => {
    const rows = tableRows(md, 'figure | this run | target');
    expect(row(rows, 'start with a valid plan')).toEqual(['start with a valid plan / nspawn', '0.500', '≤ 0.6', 'met']);
    expect(row(rows, 'generator, 1000 configs')[3]).toBe('**missed**');
    expect(row(rows, '`overlay-boot list` with 200 running')[3]).toBe('**missed**');
    expect(row(rows, '`overlay-boot status NAME` with 200 running')[3]).toBe('met');
    expect(row(rows, '200 at once: start per subhost / at 50')[1]).toBe('2.00');
  });

  it('shows where the CPU time of N at once went', () => {
    const rows = tableRows(md, 'cgroup | overlay-boot 2: start');
    expect(row(rows, '`systemd (PID 1, init.scope)`').slice(1)).toEqual(['900', '900', '300', '300']);
  });

  it("shows where the generator's time goes, per extra config", () => {
    const rows = tableRows(md, 'phase | 1 config | 1000 configs');
    expect(row(rows, 'load').slice(1, 4)).toEqual(['1.0', '101.0', '100']);
    expect(row(rows, 'start-up').slice(1, 4)).toEqual(['31.0', '31.0', '0']);
  });

  it('counts what the commands do at each N', () => {
    const rows = tableRows(md, ' | `overlay-boot list`, 200 running');
    expect(row(rows, 'programs run (execve)')[1]).toBe('601');
    expect(row(rows, 'namespace entries (setns)')[1]).toBe('200');
  });

  it('still renders results written before the scale rows existed', () => {
    const old = results() as Partial<Results> & Record<string, unknown>;
    delete old.scale;
    delete old.firstHelp;
    delete old.cliSingle;
    delete (old.single as Record<string, unknown>).obf;
    const o = old.meta!.options as Partial<Results['meta']['options']>;
    delete o.scale;
    delete o.scaleRuns;
    delete o.cliRuns;
    delete o.genCounts;
    const text = renderResults(old as Results);
    expect(text).toContain('50 at once: all active');
    expect(text).not.toContain('200 at once');
    expect(text).not.toContain('first `overlay-boot CONF` of a new config: the command');
  });
});
