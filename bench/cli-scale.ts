// `overlay-boot list` and `status NAME` with many running subhosts: wall
// time of the installed command inside a sandbox (Node.js start-up
// included), medians of several runs, and the processes each run spawns.
//   scripts/run-with-sandbox.sh bench/cli-scale.ts [COUNTS] [RUNS]
//   e.g. scripts/run-with-sandbox.sh bench/cli-scale.ts 10,50,200 7
// OLD_BUNDLE=FILE (an overlay-boot.cjs of another build) also times that
// bundle, run after run alternately with the installed one (same
// conditions): before/after figures from one sandbox. HOLD=FILE keeps the
// sandbox up with all subhosts running until FILE exists.
import { bootSandbox } from '../test/sandbox/sandbox.js';
import { installUnits, makeSubhost, register } from '../test/e2e/kit.js';
import { OB_CONF } from './tools.js';

const counts = (process.argv[2] ?? '10,50,200').split(',').map(Number);
const runs = Number(process.argv[3] ?? 7);
const log = (s: string) => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const sb = await bootSandbox();
try {
  await installUnits(sb);
  const { readFileSync } = await import('node:fs');
  if (process.env.OLD_BUNDLE) {
    await sb.writeFile('/usr/lib/overlay-boot/overlay-boot-old.cjs', readFileSync(process.env.OLD_BUNDLE), 0o755);
  }
  const max = Math.max(...counts);
  const names = Array.from({ length: max }, (_, i) => `cl${String(i).padStart(3, '0')}`);
  const confs: string[] = [];
  for (const n of names) confs.push((await makeSubhost(sb, n, OB_CONF)).conf);
  await register(sb, ...confs);
  await sb.daemonReload();
  let running = 0;
  for (const k of counts) {
    const batch = names.slice(running, k);
    // In slices: the bus caps pending replies per connection (128 here).
    for (let i = 0; i < batch.length; i += 50) {
      const rs = await Promise.all(batch.slice(i, i + 50).map((n) => sb.startUnit(`subhost@${n}.service`)));
      if (rs.some((r) => r !== 'done')) throw new Error(`start: ${rs.join(' ')}`);
    }
    running = k;
    // Timed inside the sandbox: the command's own wall time, and its CPU time (user+sys, children included).
    const timed = async (bundle: string, args: string): Promise<{ wall: number[]; cpu: number[] }> => {
      const script = `for i in $(seq ${runs}); do s=$(date +%s%N); /usr/bin/time -f "%U %S" -o /tmp/cpu node /usr/lib/overlay-boot/${bundle} ${args} >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 )) $(cat /tmp/cpu); done`;
      const r = await sb.run(['sh', '-c', script]);
      const rows = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ').map(Number));
      return { wall: rows.map((x) => x[0]! / 1000), cpu: rows.map((x) => (x[1]! + x[2]!) * 1000) };
    };
    const fmt = (t: { wall: number[]; cpu: number[] }) =>
      `wall median ${median(t.wall).toFixed(0)} ms [${t.wall.map((x) => x.toFixed(0)).join(' ')}], cpu median ${median(t.cpu).toFixed(0)} ms`;
    const both = async (args: string) => {
      const out: string[] = [];
      for (const bundle of ['overlay-boot.cjs', ...(process.env.OLD_BUNDLE ? ['overlay-boot-old.cjs'] : [])]) {
        out.push(`${bundle === 'overlay-boot.cjs' ? 'this tree' : 'OLD_BUNDLE'}: ${fmt(await timed(bundle, args))}`);
      }
      return out.join('; ');
    };
    log(`running=${k}, list: ${await both('list')}`);
    log(`running=${k}, list --json: ${await both('list --json')}`);
    log(`running=${k}, status NAME: ${await both(`status ${names[0]}`)}`);
    const execs = async (argv: string): Promise<number> => {
      const r = await sb.run(['sh', '-c', `strace -f -qq -e trace=execve -o /tmp/st ${argv} >/dev/null 2>&1; grep -c 'execve(' /tmp/st`]);
      return Number(r.stdout.trim()) - 1;
    };
    const out = await sb.run(['overlay-boot', 'list']);
    const rows = out.stdout.trim().split('\n').length - 1;
    log(
      `running=${k}: ${rows} rows; execve: list ${await execs('overlay-boot list')}, status ${await execs(`overlay-boot status ${names[0]}`)}`,
    );
  }
  if (process.env.HOLD) {
    // For profiling by hand: nsenter -t PID -a -r -w -- overlay-boot list
    log(`holding: sandbox PID ${sb.pid}; touch ${process.env.HOLD} to end`);
    const { existsSync } = await import('node:fs');
    while (!existsSync(process.env.HOLD)) await new Promise((r) => setTimeout(r, 500));
  }
  const head = await sb.run(['sh', '-c', 'overlay-boot list | head -3; overlay-boot status cl000']);
  log(head.stdout);
  for (let i = 0; i < running; i += 50)
    await Promise.all(names.slice(i, Math.min(i + 50, running)).map((n) => sb.stopUnit(`subhost@${n}.service`)));
} finally {
  await sb.stop();
}
