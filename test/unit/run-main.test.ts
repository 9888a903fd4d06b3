// One way to fail for every program (lib/errors.ts, lib/run-main.ts): what
// each kind of error prints and its exit status; and `overlay-boot check`
// parsing its options like every other command.
import { describe, it, expect } from 'vitest';
import { UsageError, Failure, report, EXIT_USAGE, EXIT_NOT_RUNNING } from '../../lib/errors.js';
import { run as check, usage as checkUsage } from '../../cli/commands/check.js';

describe('report', () => {
  it("a usage error: the message, then the usage (a subcommand's when it carries one), exit 2", () => {
    expect(report('p', 'Usage: p X\n', new UsageError('missing X'))).toEqual({ text: 'p: missing X\nUsage: p X\n', exitCode: EXIT_USAGE });
    const e = new UsageError('bad');
    e.usage = 'Usage: p sub\n';
    expect(report('p', 'Usage: p X\n', e).text).toBe('p: bad\nUsage: p sub\n');
  });
  it('a failure: one prefixed line, details as they are, its exit status; an empty one prints nothing', () => {
    expect(report('p', '', new Failure('x is not running'))).toEqual({ text: 'p: x is not running\n', exitCode: 1 });
    expect(report('p', '', new Failure('failed\n  detail\n'))).toEqual({ text: 'p: failed\n  detail\n', exitCode: 1 });
    expect(report('p', '', new Failure('not running', EXIT_NOT_RUNNING)).exitCode).toBe(3);
    expect(report('p', '', new Failure(''))).toEqual({ text: '', exitCode: 1 });
  });
  it('anything else: its message (or errno code), or an internal error with its stack for a bug', () => {
    expect(report('p', '', new Error('Access denied'))).toEqual({ text: 'p: Access denied\n', exitCode: 1 });
    expect(report('p', '', Object.assign(new Error(''), { code: 'EACCES' })).text).toBe('p: EACCES\n');
    const bug = report('p', '', new TypeError('x is undefined'));
    expect(bug.exitCode).toBe(1);
    expect(bug.text).toMatch(/^p: internal error: TypeError: x is undefined\n {4}at /);
  });
});

describe('overlay-boot check arguments', () => {
  it('an unknown option is a usage error, not a missing file', async () => {
    await expect(check(['--jsno', 'x.conf'])).rejects.toThrow(new UsageError('unknown option --jsno'));
    await expect(check([])).rejects.toThrow(UsageError);
    expect(checkUsage).toMatch(/^Usage: overlay-boot check \[--json\] CONF\.\.\.\n/);
  });
});

describe('runMain', () => {
  it('exits once everything written reached the pipe (no cut at 64 KiB)', async () => {
    const { execa } = await import('execa');
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'run-main-'));
    try {
      const main = new URL('../../lib/run-main.ts', import.meta.url).pathname;
      const entry = join(dir, 'big.ts');
      writeFileSync(
        entry,
        `import { runMain } from ${JSON.stringify(main)};\n` +
          "runMain('big', { usage: '', run: async () => { process.stdout.write('x'.repeat(1 << 20) + '\\n'); return 3; } });\n",
      );
      const bundle = join(dir, 'big.cjs');
      await execa('npx', ['esbuild', entry, '--bundle', '--platform=node', '--format=cjs', `--outfile=${bundle}`, '--log-level=warning']);
      // A slow reader: the pipe fills up long before the program returns.
      const r = await execa('sh', ['-c', `node ${bundle} | (sleep 0.2; wc -c)`], { reject: false });
      expect(r.stdout.trim()).toBe(String((1 << 20) + 1));
      const code = await execa('node', [bundle], { reject: false, stdout: 'ignore' });
      expect(code.exitCode).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
