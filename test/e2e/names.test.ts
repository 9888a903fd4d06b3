// Names and the newcomer's first commands (issue 22): a long NAME names
// its netns (1.6 made them), check names the cables' limit; a 1.6-style
// instance (subhosts@ESCAPED-PATH.conf) fails on subhost@ itself with the
// reason and the NAME to start; an unknown command that is a subhost's
// NAME suggests `start NAME`; list leaves out the failed unit of a NAME
// without a config; status says why a figure is missing.
import { describe, it, expect } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useInstalledSandbox, makeSubhost, register, state, counts, waitGone, journalOf, startOk, stopSubhost } from './kit.js';

const run = (sb: Sandbox, argv: string[]) => sb.run(argv, { timeoutMs: 60_000 });

describe('names', () => {
  const { sandbox, clean } = useInstalledSandbox();

  it('a NAME of 19 characters without cables starts; with a cable, check says how long NAME may be', async () => {
    const sb = sandbox();
    const long = await makeSubhost(sb, 't16c-averylongname', 'BASE=.\nSTART=none\n');
    let r = await run(sb, ['overlay-boot', 'check', long.conf]);
    expect(r.exitCode, r.stderr).toBe(0);
    r = await run(sb, ['overlay-boot', 'start', long.conf]);
    expect(r.exitCode, `${r.stderr}\n${await journalOf(sb, 'subhost-netns@t16c-averylongname.service')}`).toBe(0);
    expect((await run(sb, ['ip', 'netns', 'list'])).stdout).toContain('t16c-averylongname');
    await stopSubhost(sb, 't16c-averylongname');

    const cabled = await makeSubhost(sb, 't16c-cabled-long', 'BASE=.\nSTART=none\nCABLES= =\n');
    r = await run(sb, ['overlay-boot', 'check', cabled.conf]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `${cabled.conf}:3: CABLES: host-side interface "t16c-cabled-long0" is longer than 15 characters (kernel limit for interface names); use a NAME of at most 14 characters`,
    );
    expect(await counts(sb)).toEqual(clean());
  });

  it('a 1.6-style instance fails on subhost@ itself, saying the NAME to start', async () => {
    const sb = sandbox();
    const web = await makeSubhost(sb, 't16web', 'BASE=.\nSTART=none\n');
    await register(sb, web.conf);
    await sb.daemonReload();
    // /srv/subhosts/t16web/t16web.conf, escaped as 1.6's admins did.
    const instance = web.conf.slice(1).replaceAll('/', '-');
    const r = await run(sb, ['systemctl', 'start', `subhosts@${instance}.service`]);
    expect(r.exitCode).not.toBe(0);
    await waitGone(sb, instance);
    // The subhost unit itself failed (not "a dependency job failed"), and its own journal says why.
    expect(await state(sb, `subhost@${instance}.service`)).toBe('failed');
    const j = await journalOf(sb, `subhost@${instance}.service`);
    expect(j).toContain(
      `"${instance}" looks like 1.6's escaped config path: the instance is now the subhost's NAME: systemctl start subhost@t16web`,
    );
    const status = await run(sb, ['systemctl', 'status', '--no-pager', '-n', '20', `subhost@${instance}.service`]);
    expect(status.stdout).toContain('systemctl start subhost@t16web');
    // A path with a "-" (escaped \x2d): no subhost NAME at all; the same, on subhost@ itself.
    const dashed = await makeSubhost(sb, 't16-dash', 'BASE=.\nSTART=none\n');
    const escaped = (await run(sb, ['systemd-escape', '--path', dashed.conf])).stdout.trim();
    expect(escaped).toContain('\\x2d');
    expect((await run(sb, ['systemctl', 'start', `subhosts@${escaped}.service`])).exitCode).not.toBe(0);
    await waitGone(sb, escaped);
    expect(await state(sb, `subhost@${escaped}.service`)).toBe('failed');
    expect(await journalOf(sb, `subhost@${escaped}.service`)).toContain(
      `is not a subhost NAME: use subhost@NAME with NAME exactly as in its config (no systemd-escape); "${escaped}" looks like 1.6's escaped config path: the instance is now the subhost's NAME: systemctl start subhost@t16-dash`,
    );
    await run(sb, ['systemctl', 'reset-failed']);
    expect(await counts(sb)).toEqual(clean());
  });

  it('an unknown command naming a subhost suggests start; list leaves out a failed NAME without config; status says why a figure is missing', async () => {
    const sb = sandbox();
    const dw = await makeSubhost(sb, 't16dw', 'BASE=.\nSTART=none\n');
    await register(sb, dw.conf);
    let r = await run(sb, ['overlay-boot', 't16dw']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^overlay-boot: unknown command "t16dw"; subhost t16dw \(\/srv\/subhosts\/t16dw\/t16dw\.conf\) starts with: overlay-boot start t16dw\n/,
    );
    r = await run(sb, ['overlay-boot', 'frobnicate']);
    expect(r.stderr).toMatch(/^overlay-boot: unknown command "frobnicate"\n/);

    // A mistyped NAME started through systemd: its unit fails (no config) and stays loaded.
    r = await run(sb, ['systemctl', 'start', 'subhost@t16wd.service']);
    expect(r.exitCode).not.toBe(0);
    await waitGone(sb, 't16wd');
    expect(await state(sb, 'subhost@t16wd.service')).toBe('failed');
    await startOk(sb, 't16dw');
    const list = (await run(sb, ['overlay-boot', 'list'])).stdout;
    expect(list).toMatch(/^t16dw +active/m);
    expect(list).not.toContain('t16wd');

    // Stopped: no PID, no tasks, and it says why.
    await stopSubhost(sb, 't16dw');
    const st = (await run(sb, ['overlay-boot', 'status', 't16dw'])).stdout;
    expect(st).toContain('Main PID:  - (not running)\n');
    expect(st).toContain('Tasks:     - (not running)\n');
    await run(sb, ['systemctl', 'reset-failed']);
    expect(await counts(sb)).toEqual(clean());
  });
});
