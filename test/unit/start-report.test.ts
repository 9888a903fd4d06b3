// The START results the default init script logs, as `overlay-boot start`
// reads them back; and the drop-in a config started by its path gets.
import { describe, it, expect } from 'vitest';
import { parseStartLines } from '../../cli/support/start-report.js';
import { START_LINE } from '../../lib/plan/init-script.js';
import { runtimeDropinText } from '../../cli/support/fence.js';
import { loadConfig } from '../../lib/config/load.js';

describe('START results from the journal', () => {
  const start = ['/bin/false', 'nosuch', '/usr/local/bin/hang', 'ssh'];
  it('names each failed or stopped entry of the config, in order, and sees the last line', () => {
    const r = parseStartLines(
      [
        'overlay-boot: running /bin/false',
        START_LINE.failed('/bin/false', 1),
        START_LINE.failed('nosuch', 1),
        START_LINE.timedOut('/usr/local/bin/hang', 30),
        START_LINE.started('ssh'),
        START_LINE.done(3),
      ],
      start,
    );
    expect(r).toEqual({
      complete: true,
      failures: [
        { entry: '/bin/false', why: 'exit status 1' },
        { entry: 'nosuch', why: 'exit status 1' },
        { entry: '/usr/local/bin/hang', why: 'did not finish within 30s (START_TIMEOUT); it was stopped' },
      ],
    });
  });
  it('ignores lines for entries the config does not have, and anything not exactly in the format', () => {
    const r = parseStartLines(
      [
        START_LINE.failed('rm -rf', 1),
        START_LINE.failed('other', 2),
        `${START_LINE.failed('ssh', 1)} `,
        'overlay-boot: ssh failed (exit status 99999)',
        'overlay-boot: \u001b[2Jssh failed (exit status 1)',
      ],
      start,
    );
    expect(r).toEqual({ complete: false, failures: [] });
  });
});

describe('settings of a config started by its path', () => {
  it('become the same directives as the generator writes, in a runtime drop-in', async () => {
    const text = 'BASE=/tmp\nSTART=none\nMEMORY_MAX=1G\nTASKS_MAX=50\nTIMEOUT_START=2min\nREQUIRES=db\nSTART_TIMEOUT=10s\n';
    const r = await loadConfig('/etc/x.conf', { text, checkFs: false });
    expect(r.problems).toEqual([]);
    expect(r.partial.START_TIMEOUT).toBe(10);
    expect(runtimeDropinText(r)).toBe(
      [
        '# Written by overlay-boot start for /etc/x.conf (this boot only).',
        '[Unit]',
        'Requires=subhost@db.service',
        'After=subhost@db.service',
        '',
        '[Service]',
        'MemoryMax=1G',
        'TasksMax=50',
        'TimeoutStartSec=2min',
        '',
      ].join('\n'),
    );
  });
  it('START_TIMEOUT: 30 s by default, "infinity" or 0 for none; other forms are refused', async () => {
    const load = (v: string) => loadConfig('/etc/x.conf', { text: `BASE=/tmp\nSTART=none\n${v}`, checkFs: false });
    expect((await load('')).partial.START_TIMEOUT).toBe(30);
    expect((await load('START_TIMEOUT=infinity\n')).partial.START_TIMEOUT).toBe(0);
    expect((await load('START_TIMEOUT=2min\n')).partial.START_TIMEOUT).toBe(120);
    expect((await load('START_TIMEOUT=soon\n')).problems.map((p) => p.message)).toEqual([
      '"soon" must be a time span in seconds, minutes or hours such as 30s or 2min, or "infinity"',
    ]);
  });
});
