// `overlay-boot create` without systemd: the config it writes, its
// refusal of a bad value (check's own line, nothing made) and of a BASE
// that exists. Starting and removing are e2e (test/e2e/create.test.ts).
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fixture, type Fixture, itAsRoot } from './helpers.js';

const BIN = new URL('../../dist/overlay-boot.cjs', import.meta.url).pathname;
let f: Fixture;
let env: Record<string, string>;
beforeEach(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first (scripts/test.sh does)`);
  f = fixture();
  // An empty registry of its own: a NAME listed on this machine does not matter.
  writeFileSync(`${f.dir}/subhosts.conf`, '', { mode: 0o644 });
  env = { OVERLAY_BOOT_SUBHOSTS_CONF: `${f.dir}/subhosts.conf` };
});
afterEach(() => f.cleanup());

const create = (...args: string[]) => execa('node', [BIN, 'create', ...args], { reject: false, env });

describe('overlay-boot create', () => {
  itAsRoot('writes BASE (root-owned, 0700) with root, work and live (0755: UPPER is / inside) and a config check finds valid', async () => {
    const base = `${f.dir}/t1`;
    const r = await create(
      '--base',
      base,
      '--cable',
      '=',
      '--cable',
      'br0=',
      '--start',
      'ssh',
      '--share',
      '/srv',
      '--memory-max',
      '1G',
      't1',
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^created subhost t1: ${base}/t1.conf \\(UPPER ${base}/root\\)\ngave subhost t1 its own hostname t1, machine-id [0-9a-f]{32}(, ssh host keys)? \\(in UPPER\\)$`,
      ),
    );
    expect(readdirSync(base).sort()).toEqual(['live', 'root', 't1.conf', 'work']);
    for (const d of ['', '/root', '/work', '/live']) {
      const st = statSync(`${base}${d}`);
      expect({ d, uid: st.uid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ d, uid: 0, mode: d === '' ? '700' : '755' });
    }
    expect(readFileSync(`${base}/t1.conf`, 'utf8')).toBe(
      '# Made by overlay-boot create (see overlay-boot.conf(5)).\nBASE=.\nNAME=t1\nCABLES== br0=\nSTART=ssh\nSHARE=/srv\nMEMORY_MAX=1G\n',
    );
    const check = await execa('node', [BIN, 'check', `${base}/t1.conf`], { reject: false, env });
    expect(check.exitCode).toBe(0);
    expect(check.stdout).toMatch(/^CABLES\s+= br0=\s+line 4: CABLES== br0=$/m);
    // Its own identity, in UPPER (issue 22): not the host's twin, so check does not warn.
    expect(check.stderr).toBe('');
    expect(readFileSync(`${base}/root/etc/hostname`, 'utf8')).toBe('t1\n');
    const id = readFileSync(`${base}/root/etc/machine-id`, 'utf8');
    expect(id).toMatch(/^[0-9a-f]{32}\n$/);
    expect(id).not.toBe(readFileSync('/etc/machine-id', 'utf8'));
    expect((statSync(`${base}/root/etc`).mode & 0o7777).toString(8)).toBe((statSync('/etc').mode & 0o7777).toString(8));
    if (existsSync('/usr/sbin/sshd')) {
      const keys = readdirSync(`${base}/root/etc/ssh`).sort();
      expect(keys).toContain('ssh_host_ed25519_key');
      expect(keys).toContain('ssh_host_ed25519_key.pub');
      if (existsSync('/etc/ssh/ssh_host_ed25519_key.pub'))
        expect(readFileSync(`${base}/root/etc/ssh/ssh_host_ed25519_key.pub`)).not.toEqual(
          readFileSync('/etc/ssh/ssh_host_ed25519_key.pub'),
        );
      expect((statSync(`${base}/root/etc/ssh/ssh_host_ed25519_key`).mode & 0o777).toString(8)).toBe('600');
    }
  });

  it("check warns when a subhost that starts ssh would share the host's ssh host keys and machine-id", async (ctx) => {
    if (!existsSync('/usr/sbin/sshd') || !existsSync('/etc/ssh/ssh_host_ed25519_key.pub')) ctx.skip('no ssh server on this machine');
    const base = `${f.dir}/twin`;
    for (const d of ['', '/root', '/work', '/live']) mkdirSync(`${base}${d}`);
    // BASE root's alone, as create makes it: no warning about UPPER's reach.
    chmodSync(base, 0o700);
    writeFileSync(`${base}/twin.conf`, 'BASE=.\nSTART=networking ssh\n', { mode: 0o644 });
    const check = await execa('node', [BIN, 'check', `${base}/twin.conf`], { reject: false, env });
    expect(check.exitCode).toBe(0);
    expect(check.stderr).toContain(`warning: ${base}/twin.conf:2: START: START runs ssh with the host's ssh host keys (`);
    expect(check.stderr).toContain(`ssh-keygen -A -f ${base}/root\n`);
    if (existsSync('/etc/machine-id'))
      expect(check.stderr).toContain(`${base}/twin.conf:2: START: the subhost would have the host's /etc/machine-id`);
    // START without ssh: nothing to warn about.
    writeFileSync(`${base}/twin.conf`, 'BASE=.\nSTART=none\n', { mode: 0o644 });
    expect((await execa('node', [BIN, 'check', `${base}/twin.conf`], { reject: false, env })).stderr).toBe('');
  });

  itAsRoot.each([
    ['--ram-size', 'lots', '50M'],
    ['--containment', 'users', 'none'],
    ['--journal', 'maybe', 'no'],
    ['--cpu-weight', '0', '100'],
    ['--lower', '/no/such/dir', '/'],
  ])('refuses %s %s with the line check gives for that config, and makes nothing', async (opt, bad, good) => {
    const base = `${f.dir}/t2`;
    const r = await create('--base', base, '--cable', '=', opt, bad, 't2');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(existsSync(base)).toBe(false);
    expect(readdirSync(f.dir)).toEqual(['subhosts.conf']);
    // The same config, written by hand where create would have put it: check's own line.
    const text = (await create('--base', base, '--cable', '=', opt, good, '--dry-run', 't2')).stdout;
    expect(existsSync(base)).toBe(false);
    mkdirSync(base);
    for (const d of ['root', 'work', 'live']) mkdirSync(`${base}/${d}`);
    writeFileSync(`${base}/t2.conf`, `${text}\n`.replace(`=${good}\n`, `=${bad}\n`), { mode: 0o644 });
    const check = await execa('node', [BIN, 'check', `${base}/t2.conf`], { reject: false, env });
    expect(check.exitCode).toBe(1);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toBe(check.stderr);
  });

  it('refuses a BASE that exists, and a NAME that is listed, changing nothing', async () => {
    mkdirSync(`${f.dir}/t3`);
    writeFileSync(`${f.dir}/t3/keep`, 'mine\n');
    let r = await create('--base', `${f.dir}/t3`, 't3');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`overlay-boot: ${f.dir}/t3 exists; give another --base, or remove it first`);
    expect(readdirSync(`${f.dir}/t3`)).toEqual(['keep']);
    // A config listed with NAME t4 (another file name): the NAME is taken.
    writeFileSync(`${f.dir}/other.conf`, 'BASE=.\nNAME=t4\n', { mode: 0o644 });
    writeFileSync(`${f.dir}/subhosts.conf`, `${f.dir}/other.conf\n`);
    r = await create('--base', `${f.dir}/t4`, 't4');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`overlay-boot: NAME t4 is taken: ${f.dir}/other.conf (${f.dir}/subhosts.conf:1) has it; give another NAME`);
    expect(existsSync(`${f.dir}/t4`)).toBe(false);
  });

  it('puts a subhost in /var/lib/subhosts/NAME unless --base says otherwise', async () => {
    const r = await create('--ram-size', 'lots', 'ob-unit-default-place');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      '/var/lib/subhosts/ob-unit-default-place/ob-unit-default-place.conf:4: RAM_SIZE: "lots" must be a size such as 50M, 1G or 10%, or "none"',
    );
    expect(existsSync('/var/lib/subhosts/ob-unit-default-place')).toBe(false);
  });

  it('says what is wrong with its usage', async () => {
    expect((await create()).exitCode).toBe(2);
    expect((await create('--bogus', 'x', 'n')).stderr).toContain('unknown option --bogus');
    expect((await create('bad/name')).stderr).toContain('is not a subhost NAME');
    const help = await create('--help');
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: overlay-boot create [OPTION...] NAME');
  });
});

describe('values are one line (issue 21)', () => {
  // Every option of create, with a value that would add a line of its own.
  const OPTIONS = [
    '--lower',
    '--cable',
    '--start',
    '--ram-size',
    '--share',
    '--containment',
    '--journal',
    '--after',
    '--requires',
    '--memory-max',
    '--memory-high',
    '--cpu-quota',
    '--cpu-weight',
    '--io-weight',
    '--tasks-max',
    '--timeout-start',
    '--timeout-stop',
  ];
  it('create refuses a newline or a carriage return in every option, with one line, and makes nothing', async () => {
    for (const opt of OPTIONS) {
      for (const v of ['none\nCONTAINMENT=none', 'x\rCONTAINMENT=none']) {
        const base = `${f.dir}/nl`;
        const r = await create('--base', base, opt, v, 'nl');
        expect(r.exitCode, `${opt} ${JSON.stringify(v)}: ${r.stdout}`).toBe(1);
        expect(r.stderr.trimEnd().split('\n'), opt).toHaveLength(1);
        expect(r.stderr).toContain(`${opt}: ${JSON.stringify(v)} has a`);
        expect(r.stderr).toContain('a value must be one line; nothing was made');
        expect(existsSync(base), opt).toBe(false);
      }
    }
    const r = await create('--base', `${f.dir}/a\nb`, 'nl');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^overlay-boot: --base: ".*\\nb" has a newline: a value must be one line; nothing was made$/);
  });
  it('a value of one line goes into the config as one line, and check reads it back', async () => {
    const base = `${f.dir}/ok`;
    const r = await create('--base', base, '--start', 'none', '--memory-max', '1G', '--dry-run', 'ok');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => /^(START|MEMORY_MAX)=/.test(l))).toEqual(['START=none', 'MEMORY_MAX=1G']);
  });
  it('enable and disable refuse a path that /etc/subhosts.conf cannot hold, before anything else', async () => {
    for (const cmd of ['enable', 'disable']) {
      for (const [p, why] of [
        [`${f.dir}/x\ny.conf`, 'has a newline'],
        [`${f.dir}/x y.conf`, 'has a blank'],
        [`${f.dir}/x#y.conf`, 'has a #'],
      ] as const) {
        const r = await execa('node', [BIN, cmd, p], { reject: false, env });
        expect(r.exitCode, `${cmd} ${p}`).toBe(1);
        expect(r.stderr).toBe(
          `overlay-boot: cannot ${cmd} ${JSON.stringify(p)}: ${JSON.stringify(p)} ${why}${why === 'has a newline' ? ': a value must be one line' : why === 'has a blank' ? ': /etc/subhosts.conf separates paths with blanks' : ': /etc/subhosts.conf ignores the rest of a line from #'}`,
        );
        expect(readFileSync(`${f.dir}/subhosts.conf`, 'utf8')).toBe('');
      }
    }
  });
});
