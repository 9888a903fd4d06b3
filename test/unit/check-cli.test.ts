// `overlay-boot check` as users run it: the bundled command, a good and a
// bad config, exit status and output.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { fixture, type Fixture } from './helpers.js';

const BIN = new URL('../../dist/overlay-boot.cjs', import.meta.url).pathname;
let f: Fixture;
beforeEach(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first (scripts/test.sh does)`);
  f = fixture();
  f.mkdirs('live', 'root', 'work');
});
afterEach(() => f.cleanup());

describe('overlay-boot check', () => {
  it('prints every variable with its origin and exits 0 for a good config', async () => {
    const p = f.conf('BASE=.\nCABLES= =\nSTART= none\n', 'tiny.conf');
    const r = await execa('node', [BIN, 'check', p], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`${p}: valid`);
    expect(r.stdout).toMatch(/^NAME\s+tiny\s+default \(the config file name less \.conf\)$/m);
    expect(r.stdout).toMatch(/^CABLES\s+=\s+line 2: CABLES= =$/m);
    expect(r.stdout).toMatch(/^START\s+none\s+line 3: START= none$/m);
    expect(r.stdout).toMatch(/^LOWER\s+\/\s+default \(the host root\)$/m);
    // The default level, and its host ids: none recorded for this NAME yet.
    expect(r.stdout).toMatch(/^CONTAINMENT\s+private-users\s+default \(root inside is an unprivileged id range on the host/m);
    expect(r.stdout).toMatch(/^\(host ids\)\s+none yet\s+allocated at first start, recorded in \/var\/lib\/overlay-boot\/ids$/m);
    for (const k of [
      'NAME',
      'LOG',
      'BASE',
      'CABLES',
      'LIVE',
      'UPPER',
      'WORK',
      'LOWER',
      'START',
      'PREMOUNT',
      'POSTMOUNT',
      'INIT',
      'RAM_SIZE',
      'REAPER',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^${k}\\s`, 'm'));
    }
  });

  it('a config with a custom POSTMOUNT hook defaults to contained, and says why; no host ids', async () => {
    const p = f.conf('BASE=.\nSTART=none\nPOSTMOUNT=/bin/true\n', 'hooked.conf');
    const r = await execa('node', [BIN, 'check', p], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^CONTAINMENT\s+contained\s+default \(its POSTMOUNT is a custom hook, which runs as the host root/m);
    expect(r.stdout).not.toMatch(/^\(host ids\)/m);
  });

  it('shows a !command as deferred, not run', async () => {
    const p = f.conf('BASE=.\nLOWER=!touch ran\n');
    const r = await execa('node', [BIN, 'check', p], { reject: false, cwd: f.dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('LOWER will be known when the subhost starts');
    expect(r.stdout).toMatch(/^LOWER\s+!touch ran\s+line 2: LOWER=!touch ran \(run at start, not by check\)$/m);
    expect(existsSync(`${f.dir}/ran`)).toBe(false);
  });

  it('prints one line per error and exits 1 for a bad config', async () => {
    const p = f.conf('BASE=.\nRAM_SIZE=big\nCABLES=eth\n');
    const r = await execa('node', [BIN, 'check', p], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `${p}:2: RAM_SIZE: "big" must be a size such as 50M, 1G or 10%, or "none"`,
      `${p}:3: CABLES: entry "eth" is not of the form [bridge]=[mac|.vlan]`,
    ]);
  });

  it('--json gives the same facts', async () => {
    const p = f.conf('BASE=.\n', 'j.conf');
    const r = await execa('node', [BIN, 'check', '--json', p]);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ file: p, valid: true, config: { NAME: 'j', LOWER: '/' } });
  });

  it('shows the built-in hooks by the path that names them, as text and as JSON', async () => {
    const p = f.conf('BASE=.\nPOSTMOUNT=/bin/true -x\n', 'h.conf');
    const env = { OVERLAY_BOOT_LIBDIR: '/opt/ob' };
    const text = await execa('node', [BIN, 'check', p], { env });
    expect(text.stdout).toMatch(/^PREMOUNT\s+\/opt\/ob\/overlay-premount\s+default \(built in\)$/m);
    expect(text.stdout).toMatch(/^POSTMOUNT\s+\/bin\/true -x\s+line 2: POSTMOUNT=\/bin\/true -x$/m);
    expect(text.stdout).toMatch(/^INIT\s+\/opt\/ob\/overlay-init\s+default \(built in\)$/m);
    const j = JSON.parse((await execa('node', [BIN, 'check', '--json', p], { env })).stdout);
    expect(j.config).toMatchObject({
      PREMOUNT: ['/opt/ob/overlay-premount'],
      POSTMOUNT: ['/bin/true', '-x'],
      INIT: ['/opt/ob/overlay-init'],
    });
    expect(j.resolved.PREMOUNT).toEqual({ value: '/opt/ob/overlay-premount', source: { kind: 'default', why: 'built in' } });
  });

  it('exits 2 with usage on a bad call', async () => {
    const r = await execa('node', [BIN, 'frobnicate'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });

  it("an unknown option is a usage error with check's usage, not a missing file named after it", async () => {
    const p = f.conf('BASE=.\n', 'x.conf');
    const r = await execa('node', [BIN, 'check', '--jsno', p], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^overlay-boot: unknown option --jsno\nUsage: overlay-boot check \[--json\] CONF\.\.\.\n/);
    expect(r.stderr).not.toContain('--jsno:');
  });
});

describe('clear one-line errors (issue 21)', () => {
  const check = (p: string) => execa('node', [BIN, 'check', p], { reject: false, env: { OVERLAY_BOOT_SUBHOSTS_CONF: '/dev/null' } });
  it('CABLES=lo= says lo is not a bridge', async () => {
    const p = f.conf('BASE=.\nCABLES=lo=\n', 'lob.conf');
    const r = await check(p);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`${p}:2: CABLES: lo is not a bridge (the host end lob0 can only join a bridge)`);
  });
  it('a START list too long for one exec(2) argument is refused; one that fits is not', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `service-number-${i}`).join(' ');
    const p = f.conf(`BASE=.\nSTART=${many(8000)}\n`, 'long.conf');
    const r = await check(p);
    expect(r.exitCode).toBe(1);
    // One line for it (a warning about something else may come first).
    const problems = r.stderr.split('\n').filter((l) => !l.includes(': warning: '));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(
        `^${p}:2: START: 8000 entries make the subhost's start script \\d+ bytes, more than exec\\(2\\) takes in one argument \\(131072\\): list fewer`,
      ),
    );
    expect((await check(f.conf(`BASE=.\nSTART=${many(1000)}\n`, 'fits.conf'))).exitCode).toBe(0);
  });
  it('UPPER=/ is refused: the host root is no subhost directory', async () => {
    const r = await check(f.conf('BASE=.\nUPPER=/\n', 'slash.conf'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/:2: UPPER: \/ holds the host's root: a subhost's UPPER must be a directory of its own$/);
  });
});
