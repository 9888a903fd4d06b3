// /etc/subhosts.conf that costs systemd little (issue 21): 30,000 listed
// paths that cannot be read make no unit and a few lines; 30,000
// duplicates of one config make one unit; a file over the 1 MiB read keeps
// the units of its first lines and says so in subhosts.service's journal
// (`service subhosts status`), not only in the kernel log. daemon-reload
// times are measured and printed (bench/ compares; no timing is asserted).
import { describe, it, expect, beforeAll } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, waitGone } from './kit.js';

const N = 30_000;

async function reload(sb: Sandbox, what: string): Promise<number> {
  const t0 = performance.now();
  await sb.daemonReload();
  const ms = performance.now() - t0;
  console.log(`daemon-reload, ${what}: ${ms.toFixed(0)} ms`);
  return ms;
}

/** subhost@ instances systemd has loaded. */
async function loadedSubhosts(sb: Sandbox): Promise<string[]> {
  const r = await sb.run(['sh', '-c', "systemctl list-units --all --no-legend --plain 'subhost@*' | awk '{print $1}'"]);
  return r.stdout.split('\n').filter(Boolean);
}

/** What the generator says (the sandbox's kernel log is /dev/null: its --dry-run, which prints the same lines). */
async function generatorLines(sb: Sandbox): Promise<string[]> {
  const r = await sb.run(['/usr/lib/overlay-boot/overlay-boot-generator.cjs', '--dry-run', '/etc/subhosts.conf']);
  return r.stderr.split('\n').filter(Boolean);
}

describe('/etc/subhosts.conf at scale', () => {
  const { sandbox } = useInstalledSandbox({ mask: ['subhost-machine@.service'] });
  let data: string;
  beforeAll(async () => {
    const sb = sandbox();
    data = sb.dataDir;
    await makeSubhost(sb, 'sc1', 'BASE=.\nSTART=none\n');
    await makeSubhost(sb, 'sc2', 'BASE=.\nSTART=none\n');
  });

  it(`${N} paths that cannot be read: no unit, a few lines with a count, a reload in seconds`, async () => {
    const sb = sandbox();
    const lines = Array.from({ length: N }, (_, i) => `/nowhere/c${i}.conf`);
    await sb.writeFile('/etc/subhosts.conf', `${lines.join('\n')}\n`);
    await reload(sb, `${N} unreadable paths`);
    expect(await loadedSubhosts(sb)).toEqual([]);
    const said = await generatorLines(sb);
    expect(said.length).toBeLessThanOrEqual(41);
    expect(said).toContain(
      `overlay-boot-generator: /etc/subhosts.conf: ... and ${N - 5} more listed path(s) that cannot be read; no unit for them`,
    );
    // Taking them out again is as cheap.
    await sb.writeFile('/etc/subhosts.conf', '');
    await reload(sb, 'back to none');
  }, 240_000);

  it(`${N} lines of one config: one unit, one line`, async () => {
    const sb = sandbox();
    await sb.writeFile('/etc/subhosts.conf', `${Array(N).fill(`${data}/sc1/sc1.conf`).join('\n')}\n`);
    await reload(sb, `${N} duplicate lines`);
    expect(await loadedSubhosts(sb)).toEqual(['subhost@sc1.service']);
    const said = await generatorLines(sb);
    expect(said).toEqual([
      `overlay-boot-generator: warning: /etc/subhosts.conf: ${N - 1} line(s) list a path listed before; each path is used once`,
    ]);
    await sb.writeFile('/etc/subhosts.conf', '');
    await reload(sb, 'back to none');
  }, 240_000);

  it('a file over 1 MiB keeps the units of its first lines, and subhosts.service says why the rest has none', async () => {
    const sb = sandbox();
    const pad = Array.from({ length: 60_000 }, (_, i) => `/nowhere/padding-${i}.conf`);
    const text = `${data}/sc1/sc1.conf\n${data}/sc2/sc2.conf\n${pad.join('\n')}\n`;
    expect(text.length).toBeGreaterThan(1 << 20);
    await sb.writeFile('/etc/subhosts.conf', text);
    await reload(sb, 'a file over 1 MiB');
    expect((await loadedSubhosts(sb)).sort()).toEqual(['subhost@sc1.service', 'subhost@sc2.service']);
    // What an admin looks at: `service subhosts status` (subhosts.service's journal).
    expect(await sb.startUnit('subhosts.service')).toBe('done');
    const j = await sb.journal('subhosts.service');
    expect(j).toMatch(/\/etc\/subhosts.conf: \d+ bytes, more than the 1048576 \(1 MiB\) read: only its first \d+ lines are used/);
    expect(j).toMatch(/running: (sc1 sc2|sc2 sc1)/);
    await sb.stopUnit('subhosts.service');
    await waitGone(sb, 'sc1');
    await waitGone(sb, 'sc2');
    await sb.writeFile('/etc/subhosts.conf', '');
    await reload(sb, 'back to none');
  }, 240_000);
});
