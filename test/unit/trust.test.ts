// Who may define what root runs (issue 11, item 4): every config, each
// directory above it, its `!command` programs and its hooks must be
// root's alone; configs are opened by descriptor (lib/config/open.ts), so
// hostile files (a FIFO, a device, a symlink loop, a huge file, random
// bytes) are refused at once with one line, and a directory swapped during
// the walk cannot win.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { chmodSync, chownSync, lchownSync, readdirSync, renameSync, symlinkSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadConfig, type LoadResult } from '../../lib/config/load.js';
import { formatProblem } from '../../lib/config/problem.js';
import { readTextFile, checkProgram, Refused, MAX_TEXT_BYTES, TrustedDirs } from '../../lib/config/open.js';
import { readSubhostsConf, confName } from '../../lib/registry.js';
import { generate, MAX_LINES_PER_FILE } from '../../generator/generate.js';
import { fixture, type Fixture, itAsRoot } from './helpers.js';

const RULE = "a config that root runs must be root's alone";
const PROGRAM_RULE = "a program that root runs must be root's alone";
const BIN = new URL('../../dist/overlay-boot.cjs', import.meta.url).pathname;
const UNITS = new URL('../../units/', import.meta.url).pathname;

let f: Fixture;
beforeEach(() => {
  f = fixture();
  f.mkdirs('live', 'root', 'work');
});
afterEach(() => f.cleanup());

const errors = (r: LoadResult) => r.problems.map(formatProblem);
const prog = (rel: string, uid = 0, mode = 0o755) => {
  const p = join(f.dir, rel);
  writeFileSync(p, '#!/bin/sh\necho /\n');
  chmodSync(p, mode);
  // Made by this process: root's when the tests run as root, the fixture
  // owner's (trusted as root: as-user.ts) otherwise.
  if (uid !== 0) chownSync(p, uid, uid);
  return p;
};

describe('the trust rule: root owns the config, its directories, its programs', () => {
  itAsRoot('refuses a config owned by another user', async () => {
    const p = f.conf('BASE=.\nSTART=none\n');
    chownSync(p, 65534, 65534);
    expect(errors(await loadConfig(p))).toEqual([`${p}: the file ${p} is owned by uid 65534, not root: ${RULE}`]);
  });

  it('refuses a config in a directory others may write (no sticky bit)', async () => {
    f.mkdirs('open');
    chmodSync(join(f.dir, 'open'), 0o777);
    const p = f.conf('BASE=..\nSTART=none\n', 'open/x.conf');
    expect(errors(await loadConfig(p))).toEqual([`${p}: the directory ${f.dir}/open is writable by others (mode 777): ${RULE}`]);
  });

  it('refuses a config below an ancestor others may write, however deep', async () => {
    f.mkdirs('a/b/c');
    chmodSync(join(f.dir, 'a'), 0o777);
    const p = f.conf('BASE=.\nSTART=none\n', 'a/b/c/x.conf');
    expect(errors(await loadConfig(p))).toEqual([`${p}: the directory ${f.dir}/a is writable by others (mode 777): ${RULE}`]);
  });

  itAsRoot('refuses an ancestor directory owned by another user, even 0755', async () => {
    f.mkdirs('u/v');
    chownSync(join(f.dir, 'u'), 65534, 65534);
    const p = f.conf('BASE=.\nSTART=none\n', 'u/v/x.conf');
    expect(errors(await loadConfig(p))).toEqual([`${p}: the directory ${f.dir}/u is owned by uid 65534, not root: ${RULE}`]);
  });

  it('accepts a sticky world-writable ancestor, as sudo and sshd do (/tmp)', async () => {
    f.mkdirs('sticky/s');
    chmodSync(join(f.dir, 'sticky'), 0o1777);
    const p = f.conf('BASE=.\nSTART=none\n', 'sticky/s/x.conf');
    f.mkdirs('sticky/s/live', 'sticky/s/root', 'sticky/s/work');
    expect(errors(await loadConfig(p))).toEqual([]);
  });

  itAsRoot('refuses a !command program owned by another user', async () => {
    const x = prog('evil', 65534);
    const p = f.conf(`BASE=.\nSTART=none\nLOWER=!${x} arg\n`);
    expect(errors(await loadConfig(p))).toEqual([
      `${p}:3: LOWER: command "${x} arg": the program ${x} is owned by uid 65534, not root: ${PROGRAM_RULE}`,
    ]);
  });

  it('refuses a !command program, relative to BASE, in a directory others may write', async () => {
    f.mkdirs('bin');
    prog('bin/tool');
    chmodSync(join(f.dir, 'bin'), 0o777);
    const p = f.conf('BASE=.\nSTART=none\nUPPER=!bin/tool\n');
    expect(errors(await loadConfig(p))).toEqual([
      `${p}:3: UPPER: command "bin/tool": the directory ${f.dir}/bin is writable by others (mode 777): ${PROGRAM_RULE}`,
    ]);
  });

  itAsRoot("refuses a !command reached through a symlink to another user's program", async () => {
    const evil = prog('evil', 65534);
    symlinkSync('evil', join(f.dir, 'nice'));
    const p = f.conf(`BASE=.\nSTART=none\nLOWER=!${f.dir}/nice\n`);
    expect(errors(await loadConfig(p))).toEqual([
      `${p}:3: LOWER: command "${f.dir}/nice": the program ${evil} is owned by uid 65534, not root: ${PROGRAM_RULE}`,
    ]);
  });

  it('runs exactly the program it checked, by the path it found', async () => {
    const x = prog('good');
    const p = f.conf(`BASE=.\nSTART=none\nLOWER=!${x}\n`);
    const seen: (string | undefined)[] = [];
    const r = await loadConfig(p, {
      evaluate: async (_c, ctx) => {
        seen.push(ctx.program);
        return '/';
      },
    });
    expect(errors(r)).toEqual([]);
    expect(seen).toEqual([x]);
    // A name is found in the evaluator's PATH, as execvp would.
    const q = f.conf('BASE=.\nSTART=none\nLOWER=!echo /\n', 'q.conf');
    seen.length = 0;
    await loadConfig(q, {
      evaluate: async (_c, ctx) => {
        seen.push(ctx.program);
        return '/';
      },
    });
    expect(seen[0]).toMatch(/^\/(usr\/)?bin\/echo$/);
  });

  itAsRoot('refuses a custom hook owned by another user, and one in a directory others may write', async () => {
    const h = prog('hook', 65534);
    const p = f.conf(`BASE=.\nSTART=none\nPOSTMOUNT=${h} x\n`);
    expect(errors(await loadConfig(p))).toEqual([`${p}:3: POSTMOUNT: the program ${h} is owned by uid 65534, not root: ${PROGRAM_RULE}`]);
    f.mkdirs('hooks');
    const i = prog('hooks/init');
    chmodSync(join(f.dir, 'hooks'), 0o757);
    const q = f.conf(`BASE=.\nSTART=none\nINIT=${i}\n`, 'q.conf');
    expect(errors(await loadConfig(q))).toEqual([
      `${q}:3: INIT: the directory ${f.dir}/hooks is writable by others (mode 757): ${PROGRAM_RULE}`,
    ]);
  });

  itAsRoot('the generator applies the same rule (it never runs the program)', async () => {
    const x = prog('evil', 65534);
    const p = f.conf(`BASE=.\nSTART=none\nLOWER=!${x}\n`);
    writeFileSync(join(f.dir, 'subhosts.conf'), `${p}\n`);
    const g = await generate(join(f.dir, 'subhosts.conf'), {
      subhost: join(UNITS, 'subhost@.service.in'),
      target: join(UNITS, 'subhosts.target'),
    });
    expect(g.errors).toEqual([
      `${p}:3: LOWER: command "${x}": the program ${x} is owned by uid 65534, not root: ${PROGRAM_RULE} (listed at ${f.dir}/subhosts.conf:1; skipped)`,
    ]);
    expect(g.subhosts.size).toBe(0);
  });
});

describe('symlinked configs: followed only when root made them, in directories root alone writes', () => {
  it('a root-owned link to a good config (as /run/overlay-boot/registry/NAME.conf) works', async () => {
    const p = f.conf(`BASE=${f.dir}\nSTART=none\n`, 'real.conf');
    f.mkdirs('registry');
    symlinkSync(p, join(f.dir, 'registry/real.conf'));
    const r = await loadConfig(join(f.dir, 'registry/real.conf'));
    expect(errors(r)).toEqual([]);
    expect(r.config?.NAME).toBe('real');
  });

  itAsRoot('refuses a link owned by another user (it could point anywhere tomorrow)', async () => {
    const p = f.conf('BASE=.\nSTART=none\n', 'real.conf');
    const l = join(f.dir, 'l.conf');
    symlinkSync(p, l);
    lchownSync(l, 65534, 65534);
    expect(errors(await loadConfig(l))).toEqual([`${l}: the symlink ${l} is owned by uid 65534, not root: ${RULE}`]);
  });
});

describe('hostile files: one line each, at once, nothing read', () => {
  const one = async (p: string, message: string) => {
    expect(errors(await loadConfig(p))).toEqual([`${p}: ${message}`]);
    // `overlay-boot check` says the same, in one line.
    const r = await execa('node', [BIN, 'check', p], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`${p}: ${message}`);
  };

  it('a FIFO (without O_NONBLOCK this would wait forever for a writer)', async () => {
    const p = join(f.dir, 'fifo.conf');
    await execa('mkfifo', [p]);
    await one(p, `the file ${p} is a FIFO, not a regular file`);
  });

  it('a symlink to /dev/null, and one to /dev/zero (which would never end)', async () => {
    for (const dev of ['null', 'zero']) {
      const p = join(f.dir, `${dev}.conf`);
      symlinkSync(`/dev/${dev}`, p);
      await one(p, `the file /dev/${dev} is a character device, not a regular file`);
    }
  });

  it('a directory', async () => {
    f.mkdirs('dir.conf');
    const p = join(f.dir, 'dir.conf');
    await one(p, `the file ${p} is a directory, not a regular file`);
  });

  it('a symlink loop', async () => {
    const a = join(f.dir, 'a.conf');
    symlinkSync('b.conf', a);
    symlinkSync('a.conf', join(f.dir, 'b.conf'));
    expect(errors(await loadConfig(a))[0]).toMatch(
      new RegExp(`^${a}: too many levels of symbolic links at ${f.dir}/[ab]\\.conf \\(a symlink loop\\?\\)$`),
    );
    const r = await execa('node', [BIN, 'check', a], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
  });

  it('a huge (sparse) file, refused by its size before a byte is read', async () => {
    const p = f.conf('', 'huge.conf');
    truncateSync(p, 4 * MAX_TEXT_BYTES);
    await one(p, `the file ${p} has ${4 * MAX_TEXT_BYTES} bytes, more than the ${MAX_TEXT_BYTES} (1 MiB) allowed`);
  });

  it('a file that says it is empty but is not (procfs) is still read whole: the buffer grows past the size fstat gave', () => {
    // /proc/self/status: fstat says 0 bytes, a read gives about 1.5 KiB.
    const r = readTextFile('/proc/self/status', { trust: false });
    expect(r.text.length).toBeGreaterThan(512);
    expect(r.text.split('\n')[0]).toMatch(/^Name:\t/);
    expect(r.text).toMatch(/\nPid:\t\d+\n/);
    expect(r.text.endsWith('\n')).toBe(true);
  });

  it('random bytes', async () => {
    const bytes = randomBytes(256 * 1024);
    bytes[1000] = 0; // random bytes hold a NUL about every 256 bytes: make sure of one
    const nul = bytes.indexOf(0);
    const p = join(f.dir, 'random.conf');
    writeFileSync(p, bytes, { mode: 0o644 });
    await one(p, `the file ${p} is not text (a NUL byte at offset ${nul})`);
  });

  it('a text file of garbage gives a few lines, then a count', async () => {
    const p = f.conf(Array.from({ length: 3000 }, (_, i) => `garbage line ${i}`).join('\n'));
    const r = await execa('node', [BIN, 'check', p], { reject: false });
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe(`${p}: BASE: missing BASE=... (required: the subhost directory, relative to the config file)`);
    expect(lines[1]).toBe(`warning: ${p}:1: not a VAR=value line; ignored (as 1.6 did)`);
    expect(lines[5]).toBe(`... and 2996 more problems in ${p}`);
  });

  it('/etc/subhosts.conf is read the same way: a FIFO there is refused at once', async () => {
    const s = join(f.dir, 'subhosts.conf');
    await execa('mkfifo', [s]);
    expect(() => readSubhostsConf(s)).toThrow(new Refused(`the file ${s} is a FIFO, not a regular file`));
    const g = await generate(s, { subhost: '/nonexistent', target: '/nonexistent' });
    expect(g.errors).toEqual([`${s}: cannot read: the file ${s} is a FIFO, not a regular file`]);
    // A config's NAME is read that way too (status, stop, findConf).
    expect(() => confName(s)).toThrow(/is a FIFO/);
  });

  it('the generator: one line per hostile file, the good config generated, lines capped per file', async () => {
    const good = f.conf('BASE=.\nSTART=none\n', 'good.conf');
    const fifo = join(f.dir, 'fifo.conf');
    await execa('mkfifo', [fifo]);
    const dev = join(f.dir, 'dev.conf');
    symlinkSync('/dev/zero', dev);
    const loop = join(f.dir, 'loop.conf');
    symlinkSync('loop.conf', loop);
    const huge = f.conf('', 'huge.conf');
    truncateSync(huge, 2 * MAX_TEXT_BYTES);
    const random = join(f.dir, 'random.conf');
    writeFileSync(random, Buffer.concat([randomBytes(4096), Buffer.from([0])]), { mode: 0o644 });
    const garbage = f.conf(Array.from({ length: 500 }, (_, i) => `junk ${i}`).join('\n'), 'garbage.conf');
    const list = join(f.dir, 'subhosts.conf');
    writeFileSync(list, `${[fifo, dev, loop, huge, random, garbage, good].join('\n')}\n`);
    const g = await generate(list, { subhost: join(UNITS, 'subhost@.service.in'), target: join(UNITS, 'subhosts.target') });
    for (const bad of [fifo, dev, loop, huge, random]) {
      expect(
        g.errors.filter((e) => e.includes(bad)),
        bad,
      ).toHaveLength(1);
    }
    expect(g.errors.filter((e) => e.includes(garbage))).toHaveLength(MAX_LINES_PER_FILE + 1);
    expect(g.errors).toContain(`... and ${500 + 1 - MAX_LINES_PER_FILE} more problems in ${garbage}`);
    expect([...g.subhosts.keys()]).toEqual(['good']);
  });
});

describe('the walk goes by descriptors: a directory swapped during the check cannot win', () => {
  // The layout: DIR/a/b/x.conf, all root's. An attacker's tree: DIR/evil/b/x.conf.
  const layout = () => {
    f.mkdirs('a/b', 'evil/b');
    const good = f.conf('BASE=.\nNAME=good\n', 'a/b/x.conf');
    f.conf('BASE=.\nNAME=evil\n', 'evil/b/x.conf');
    return good;
  };

  it('the ancestor replaced by a symlink right after it was checked: the walk reads the file it checked', () => {
    const good = layout();
    const steps: string[] = [];
    const { text } = readTextFile(good, {
      onStep: (dir) => {
        steps.push(dir);
        // Right after a/ was opened and found root's: swap it for a link
        // to the attacker's tree (as a rename(2) race would).
        if (dir === `${f.dir}/a`) {
          renameSync(`${f.dir}/a`, `${f.dir}/a.old`);
          symlinkSync(`${f.dir}/evil`, `${f.dir}/a`);
        }
      },
    });
    expect(steps).toContain(`${f.dir}/a`);
    expect(existsSync(`${f.dir}/a/b/x.conf`) && readTextFile(`${f.dir}/a/b/x.conf`).text).toContain('NAME=evil'); // by path: the attacker's
    // A check-by-path-then-read-by-path would now read NAME=evil.
    expect(text).toContain('NAME=good');
  });

  itAsRoot('the same for a program: the file checked is the attacker-free one', () => {
    layout();
    const good = prog('a/b/tool');
    const evil = prog('evil/b/tool', 65534);
    let swapped = false;
    const checked = checkProgram(good, (dir) => {
      if (dir === `${f.dir}/a` && !swapped) {
        swapped = true;
        renameSync(`${f.dir}/a`, `${f.dir}/a.old`);
        symlinkSync(`${f.dir}/evil`, `${f.dir}/a`);
      }
    });
    expect(swapped).toBe(true);
    expect(checked).toBe(good);
    // Checked again now, by a fresh walk, the link is followed and the attacker's program refused.
    expect(() => checkProgram(good)).toThrow(`the program ${evil} is owned by uid 65534, not root`);
  });

  it('an ancestor that is a symlink to a directory others may write is refused', async () => {
    f.mkdirs('open/b');
    chmodSync(join(f.dir, 'open'), 0o777);
    f.conf('BASE=.\nSTART=none\n', 'open/b/x.conf');
    symlinkSync(`${f.dir}/open`, `${f.dir}/link`);
    const p = `${f.dir}/link/b/x.conf`;
    expect(errors(await loadConfig(p))).toEqual([`${p}: the directory ${f.dir}/open is writable by others (mode 777): ${RULE}`]);
  });
});

describe('one run over many configs (the generator): directories found trusted are walked once', () => {
  const openFds = () => readdirSync('/proc/self/fd').length;

  it('a sibling config is reached from the directories already checked, and read the same', () => {
    f.mkdirs('a/b', 'a/c');
    const one = f.conf('BASE=.\nNAME=one\n', 'a/b/x.conf');
    const two = f.conf('BASE=.\nNAME=two\n', 'a/c/x.conf');
    const known = new TrustedDirs();
    const fds = openFds();
    try {
      const steps: string[][] = [[], [], []];
      expect(readTextFile(one, { known, onStep: (d) => steps[0]!.push(d) }).text).toContain('NAME=one');
      expect(readTextFile(two, { known, onStep: (d) => steps[1]!.push(d) }).text).toContain('NAME=two');
      expect(readTextFile(one, { known, onStep: (d) => steps[2]!.push(d) }).text).toContain('NAME=one');
      // The first walk checked every directory from /; the next ones only what was new.
      expect(steps[0]).toEqual([
        ...f.dir
          .split('/')
          .filter(Boolean)
          .map((_, i, a) => `/${a.slice(0, i + 1).join('/')}`),
        `${f.dir}/a`,
        `${f.dir}/a/b`,
      ]);
      expect(steps[1]).toEqual([`${f.dir}/a/c`]);
      expect(steps[2]).toEqual([]);
      // Without the run's directories, a walk checks them all again.
      const again: string[] = [];
      readTextFile(two, { onStep: (d) => again.push(d) });
      expect(again).toEqual([...steps[0]!.slice(0, -1), `${f.dir}/a/c`]);
      expect(openFds()).toBeGreaterThan(fds);
    } finally {
      known.close();
    }
    expect(openFds()).toBe(fds); // close() leaves nothing open
  });

  itAsRoot('what is below a known directory is still checked: an open directory, a file of another user', async () => {
    f.mkdirs('a/good', 'a/open', 'a/other');
    chmodSync(join(f.dir, 'a/open'), 0o777);
    const good = f.conf('BASE=.\nSTART=none\n', 'a/good/x.conf');
    const open = f.conf('BASE=.\nSTART=none\n', 'a/open/x.conf');
    const other = f.conf('BASE=.\nSTART=none\n', 'a/other/x.conf');
    chownSync(other, 65534, 65534);
    const trustedDirs = new TrustedDirs();
    try {
      expect(errors(await loadConfig(good, { checkFs: false, trustedDirs }))).toEqual([]);
      expect(errors(await loadConfig(open, { checkFs: false, trustedDirs }))).toEqual([
        `${open}: the directory ${f.dir}/a/open is writable by others (mode 777): ${RULE}`,
      ]);
      expect(errors(await loadConfig(other, { checkFs: false, trustedDirs }))).toEqual([
        `${other}: the file ${other} is owned by uid 65534, not root: ${RULE}`,
      ]);
      // Refused once, refused again (an untrusted directory is never kept).
      expect(errors(await loadConfig(open, { checkFs: false, trustedDirs }))).toHaveLength(1);
    } finally {
      trustedDirs.close();
    }
  });

  itAsRoot('a symlink below a known directory is followed as before, ".." too, and a link of another user refused', async () => {
    f.mkdirs('a/b', 'a/c');
    f.conf('BASE=.\nNAME=target\n', 'a/c/x.conf');
    symlinkSync('../c/x.conf', join(f.dir, 'a/b/rel.conf'));
    symlinkSync(`${f.dir}/a/c/x.conf`, join(f.dir, 'a/b/abs.conf'));
    symlinkSync('../c/x.conf', join(f.dir, 'a/b/theirs.conf'));
    lchownSync(join(f.dir, 'a/b/theirs.conf'), 65534, 65534);
    const known = new TrustedDirs();
    const fds = openFds();
    try {
      expect(readTextFile(`${f.dir}/a/b/rel.conf`, { known }).text).toContain('NAME=target');
      expect(readTextFile(`${f.dir}/a/b/abs.conf`, { known }).text).toContain('NAME=target');
      expect(readTextFile(`${f.dir}/a/b/rel.conf`, { known })).toEqual({ text: 'BASE=.\nNAME=target\n', path: `${f.dir}/a/c/x.conf` });
      expect(() => readTextFile(`${f.dir}/a/b/theirs.conf`, { known })).toThrow(
        `the symlink ${f.dir}/a/b/theirs.conf is owned by uid 65534, not root`,
      );
    } finally {
      known.close();
    }
    expect(openFds()).toBe(fds);
  });

  it('a walk that does not check (trust: false) neither uses nor fills it', () => {
    f.mkdirs('a/b');
    const p = f.conf('BASE=.\n', 'a/b/x.conf');
    const known = new TrustedDirs();
    try {
      readTextFile(p, { trust: false, known });
      const steps: string[] = [];
      readTextFile(p, { known, onStep: (d) => steps.push(d) });
      expect(steps).toContain(`${f.dir}/a/b`);
    } finally {
      known.close();
    }
  });
});
