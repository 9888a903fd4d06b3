// The host's own scheduling latency while a subhost spins on one CPU
// (issue 20, vector 6): a host process sleeping 1 ms in a loop, pinned to
// CPU 0 (bench/rt-latency.c), measures how late it wakes up (p50, p99,
// max, µs), first with nothing else on that CPU, then while a process
// inside a subhost (overlay-go, so with the subhost's own fence) spins
// on the same CPU at SCHED_OTHER, then at SCHED_FIFO 50 if the subhost
// may, for each CONTAINMENT level. Bounded and harmless: each spinner
// runs for SECONDS (default 3) under timeout(1), on one CPU only, and
// the kernel's RT throttling (sched_rt_runtime_us) leaves the others a
// share of every second. A measurement, not an assertion: printed as a
// table. Run it with bench/rt-latency.sh.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { bootSandbox, type Sandbox } from '../test/sandbox/sandbox.js';
import { installUnits, makeSubhost, register, stopSubhost, ROOT } from '../test/e2e/kit.js';

const SECONDS = Number(process.env.RT_SECONDS ?? 3);
const CPU = '0';
const BIN = join(ROOT, 'native/build/test/rt-latency');

async function measure(sb: Sandbox, spinner?: string[]): Promise<string> {
  const spin = spinner ? sb.run(spinner, { timeoutMs: (SECONDS + 10) * 1000 }) : undefined;
  // The spinner gets a moment to start before the measurement does.
  if (spin) await new Promise((r) => setTimeout(r, 300));
  const r = await sb.run(['/probe-rt/rt-latency', CPU, String(SECONDS - 1)], { timeoutMs: (SECONDS + 10) * 1000 });
  const s = spin ? await spin : undefined;
  const refused = s && s.exitCode !== 124 && s.exitCode !== 0 ? ` (spinner refused: ${s.stderr.trim().split('\n').pop()})` : '';
  return `${r.stdout.trim()}${refused}`;
}

async function main(): Promise<void> {
  await execa('mkdir', ['-p', join(ROOT, 'native/build/test')]);
  await execa('gcc', ['-O2', '-Wall', '-static', '-o', BIN, join(ROOT, 'bench/rt-latency.c')]);
  const sb = await bootSandbox();
  try {
    await installUnits(sb);
    await sb.run(['mkdir', '-p', '/probe-rt']);
    await sb.writeFile('/probe-rt/rt-latency', await readFile(BIN), 0o755);
    const levels = { contained: '', none: 'CONTAINMENT=none\n' };
    const confs: string[] = [];
    for (const [level, extra] of Object.entries(levels))
      confs.push((await makeSubhost(sb, `rt${level}`, `BASE=.\nSTART=none\n${extra}`)).conf);
    await register(sb, ...confs);
    await sb.daemonReload();
    const rows: string[][] = [['nothing else on CPU 0', '-', await measure(sb)]];
    for (const level of Object.keys(levels)) {
      const name = `rt${level}`;
      const job = await sb.startUnit(`subhost@${name}.service`);
      if (job !== 'done') throw new Error(`subhost@${name}: ${job}`);
      const spin = (policy: string[]) => [
        'overlay-go',
        name,
        '--',
        'timeout',
        String(SECONDS),
        ...policy,
        'taskset',
        '-c',
        CPU,
        'sh',
        '-c',
        'while :; do :; done',
      ];
      rows.push([`a subhost spins at SCHED_OTHER on CPU 0`, level, await measure(sb, spin([]))]);
      rows.push([`a subhost spins at SCHED_FIFO 50 on CPU 0`, level, await measure(sb, spin(['chrt', '-f', '50']))]);
      await stopSubhost(sb, name);
    }
    const rt = (await sb.run(['cat', '/proc/sys/kernel/sched_rt_runtime_us', '/proc/sys/kernel/sched_rt_period_us'])).stdout.split('\n');
    console.log(`host process waking every 1 ms on CPU ${CPU}, ${SECONDS - 1} s per row; overshoot in µs`);
    console.log(`kernel RT throttling: sched_rt_runtime_us=${rt[0]} of sched_rt_period_us=${rt[1]}\n`);
    console.log('| while | CONTAINMENT | wake-up delay |\n| --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } finally {
    await sb.stop();
  }
}

await main();
