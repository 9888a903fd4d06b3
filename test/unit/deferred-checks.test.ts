// Checks of paths that a `!command` mounts wait for the start (issue 13):
// overlay-diskfile(8)'s example with UPPER and WORK inside the image is
// accepted by check/start/enable, and checked once the commands have run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { fixture, type Fixture } from './helpers.js';

describe('directory checks under a !command mount', () => {
  let f: Fixture;
  afterEach(() => f.cleanup());

  it('wait for the start under an overlay-diskfile mount point, and only there', async () => {
    f = fixture();
    f.mkdirs('live', 'mnt');
    // Named as the package's command: its arguments say where it mounts.
    const prog = join(f.dir, 'overlay-diskfile');
    writeFileSync(prog, '#!/bin/sh\necho "$1"\n', { mode: 0o755 });
    const text = (work: string) => `BASE=.\nUPPER=!${prog} mnt/some/upper disk.img 2\nWORK=${work}\n`;

    const r = await loadConfig(f.conf(text('mnt/some/work')));
    expect(r.problems).toEqual([]);
    expect(r.deferred).toEqual(['UPPER']);
    expect(r.resolved.WORK).toMatchObject({
      value: join(f.dir, 'mnt/some/work'),
      checkedAtStart: `under ${f.dir}/mnt/some, which UPPER's !command may mount`,
    });

    const outside = await loadConfig(f.conf(text('elsewhere')));
    expect(outside.problems.map((p) => p.message)).toEqual([`${f.dir}/elsewhere is not a directory`]);

    // With the commands run (the runtime, at start), nothing waits any more.
    const atStart = await loadConfig(f.conf(text('mnt/some/work')), { evaluate: async () => 'mnt/some/upper' });
    expect(atStart.problems.map((p) => `${p.key}: ${p.message}`)).toEqual([
      `UPPER: ${f.dir}/mnt/some/upper is not a directory`,
      `WORK: ${f.dir}/mnt/some/work is not a directory`,
    ]);
  });

  it('wait for the start under BASE for any other command, whose mounts are unknown', async () => {
    f = fixture();
    f.mkdirs('root', 'work');
    const prog = join(f.dir, 'mount-it');
    writeFileSync(prog, '#!/bin/sh\necho tree\n', { mode: 0o755 });
    const r = await loadConfig(f.conf(`BASE=.\nLOWER=!${prog}\nLIVE=live\n`));
    expect(r.problems).toEqual([]);
    expect(r.resolved.LIVE!.checkedAtStart).toBe(`under ${f.dir}, which LOWER's !command may mount`);
    const abs = await loadConfig(f.conf(`BASE=.\nLOWER=!${prog}\nLIVE=/nonexistent/live\n`));
    expect(abs.problems.map((p) => p.message)).toEqual(['/nonexistent/live is not a directory']);
  });
});
