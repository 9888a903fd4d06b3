// The sandbox boots every time (issue 22: the first demo on a fresh clone
// failed once in twelve: "cannot create .../kmsg.fifo: Directory
// nonexistent", then the boot timed out). The stage forked the kernel-log
// drain with its redirections still to do; when the child ran them after
// the stage's pivot_root, the scratch path was gone, nothing drained the
// FIFO, and systemd blocked opening /dev/kmsg. Twenty boots in a row, each
// with a working drain: what PID 1 and a process inside write to /dev/kmsg
// arrives in the scratch's kmsg file.
import { describe, it, expect } from 'vitest';
import { bootSandbox } from '../sandbox/sandbox.js';

const BOOTS = 20;

describe('the sandbox boot', () => {
  it(`boots ${BOOTS} times in a row, each with its kernel log drained`, async () => {
    for (let i = 0; i < BOOTS; i++) {
      const sb = await bootSandbox();
      try {
        const marker = `obt-boot-${i}-${process.pid}`;
        const r = await sb.run(['sh', '-c', `echo ${marker} > /dev/kmsg`]);
        expect(r.exitCode, r.stderr).toBe(0);
        let log = '';
        for (let t = 0; t < 100 && !log.includes(marker); t++) {
          await new Promise((res) => setTimeout(res, 50));
          log = await sb.kmsg();
        }
        expect(log, `boot ${i}`).toContain(marker);
        // systemd's own lines (it logs to /dev/kmsg until journald runs).
        expect(log, `boot ${i}`).toMatch(/systemd/);
        expect(await sb.consoleLog(), `boot ${i}`).not.toMatch(/cannot create|Directory nonexistent/);
      } finally {
        await sb.stop();
      }
    }
  }, 600_000);
});
