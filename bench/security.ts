// The security table: the escape probe (test/hardening/escape-probe.c) run
// in the same throwaway sandbox systemd from inside a default subhost (an
// unchanged 1.6 config: CONTAINMENT=private-users), a contained one
// (CONTAINMENT=contained), an opt-out one (CONTAINMENT=none), an overlay-go
// shell in each, and a systemd-nspawn container with the benchmark's
// default options (no host process enters its pid namespace: n/a there). Prints the markdown table; with --write, puts it into
// SECURITY.md between its table markers, with the date and the command.
// Run it with bench/security.sh.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootSandbox, type Sandbox } from '../test/sandbox/sandbox.js';
import { installUnits, register, stopSubhost, ROOT } from '../test/e2e/kit.js';
import {
  buildProbe,
  makeProbedSubhost,
  probeSubhost,
  probeOverlayGo,
  probeNspawn,
  startHostTarget,
  VECTORS,
  HOST_SIDE_VECTORS,
  probeHostSide,
  type Findings,
  type Finding,
} from '../test/hardening/escape.js';

const BEGIN = '<!-- security-table:begin (bench/security.sh --write) -->';
const END = '<!-- security-table:end -->';

/** A cell: the verdict, and the errno or the reason in short. */
function cell(f: Finding | undefined): string {
  if (!f) return '—';
  const errno = f.detail.match(/\bE[A-Z0-9]{2,}\b/g)?.pop();
  if (f.state === 'open') return '**open**';
  if (f.state === 'n/a') return `n/a${errno ? ` (${errno})` : ''}`;
  if (/own user namespace/.test(f.detail)) return 'closed (own userns)';
  if (/bounding set/.test(f.detail)) return 'closed (dropped)';
  if (/cgroup namespace|namespace's root/.test(f.detail)) return 'closed (cgroup ns)';
  if (/is empty/.test(f.detail)) return 'closed (masked)';
  if (/hidden/.test(f.detail)) return 'closed (zeros)';
  if (/own file/.test(f.detail)) return 'closed (own copy)';
  if (/not the kernel's/.test(f.detail)) return 'closed (replaced)';
  if (/filter \(Seccomp/.test(f.detail)) return `closed (${f.detail.match(/Seccomp: \d/)![0]})`;
  return `closed${errno ? ` (${errno})` : ''}`;
}

function table(cols: Array<[string, Findings]>): string {
  const head = `| vector | ${cols.map(([c]) => c).join(' | ')} |\n|---|${cols.map(() => '---').join('|')}|\n`;
  const rows = [
    ...VECTORS,
    // issue 20: judged on the host, for the subhosts only (escape.test.ts says how).
    ...HOST_SIDE_VECTORS.map(([v, l]) => [v, `${l} (judged on the host)`] as const),
    ['proc-sys-net', '/proc/sys/net opens for writing (its own netns: should stay open)'] as const,
  ].map(([v, label]) => `| ${label} \`${v}\` | ${cols.map(([, f]) => cell(f.get(v))).join(' | ')} |`);
  return `${head + rows.join('\n')}\n`;
}

async function main(): Promise<void> {
  const write = process.argv.includes('--write');
  await buildProbe();
  const sb: Sandbox = await bootSandbox({ files: { '/etc/adjtime': '0.0 0 0.0\n0\nUTC\n' } });
  const cols: Array<[string, Findings]> = [];
  const raw: string[] = [];
  try {
    await installUnits(sb);
    await register(
      sb,
      await makeProbedSubhost(sb, 'sec'),
      await makeProbedSubhost(sb, 'secfen', 'CONTAINMENT=contained\n'),
      await makeProbedSubhost(sb, 'secnone', 'CONTAINMENT=none\n'),
    );
    await sb.daemonReload();
    const levels: Array<[string, string]> = [
      ['private-users (default)', 'sec'],
      ['`CONTAINMENT=contained`', 'secfen'],
      ['opt-out (`CONTAINMENT=none`)', 'secnone'],
    ];
    const targets: string[] = [];
    const go: Array<[string, Findings]> = [];
    for (const [label, name] of levels) {
      const job = await sb.startUnit(`subhost@${name}.service`);
      if (job !== 'done') throw new Error(`subhost@${name}: ${job}: ${await sb.journal(`subhost@${name}.service`, 30)}`);
      targets.push(await startHostTarget(sb, name));
      const found = await probeSubhost(sb, name);
      // issue 20: BASE as overlay-boot create makes it for the default, as 1.6 made it for the opt-out.
      if (name === 'sec') await sb.run(['chmod', '700', `${sb.dataDir}/${name}`]);
      for (const [v, f] of await probeHostSide(sb, name)) found.set(v, f);
      cols.push([label, found]);
      go.push([`overlay-go, ${label.replace(/ \(.*/, '').replace(/`CONTAINMENT=(\w+)`/, '$1')}`, await probeOverlayGo(sb, name)]);
    }
    for (const t of targets) await sb.run(['systemctl', 'stop', t]);
    cols.push(['systemd-nspawn default', await probeNspawn(sb, 'secns', `${sb.dataDir}/sec/probe`, `${sb.dataDir}/secns-ro`)]);
    cols.push(...go);
    for (const [, name] of levels) await stopSubhost(sb, name);
    for (const [label, f] of cols) raw.push(`${label}:\n${[...f].map(([k, v]) => `  ${k} ${v.state} ${v.detail}`).join('\n')}`);
  } finally {
    await sb.stop();
  }
  const t = table(cols);
  process.stdout.write(`${t}\n${raw.join('\n\n')}\n`);
  if (write) {
    const file = join(ROOT, 'SECURITY.md');
    const md = await readFile(file, 'utf8');
    const a = md.indexOf(BEGIN);
    const b = md.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${file}: the table markers are missing`);
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const tree = process.env.SECURITY_TREE ?? 'unknown tree';
    const stamp = `Measured ${when} UTC by \`${process.env.SECURITY_COMMAND ?? 'bench/security.sh --write'}\` (${tree}; kernel ${(await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim()}, systemd 252):\n\n`;
    await writeFile(file, `${md.slice(0, a + BEGIN.length)}\n${stamp}${t}${md.slice(b)}`);
    process.stdout.write(`written into ${file}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench/security: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
