// The Cockpit page in a real browser (issue 24). The .debs from
// debian/build-deb (overlay-boot and cockpit-overlay-boot) are installed
// with dpkg -i into a sandbox systemd that runs Debian's Cockpit; Debian's
// chromium, driven by playwright-core, logs in on Cockpit's login page as
// an administrator (group sudo: Cockpit's administrative access through
// pkexec, with the login password) and as a plain user. What the page does
// is checked against `overlay-boot status --json` and the commands' own
// output in the sandbox: the running subhost with its address, stop and
// start, a subhost made from the form (and the form's validation message,
// which is the command's), its journal lines, `hostname` in the page's
// terminal, remove (UPPER kept), the plain user's read-only view, and a
// member of the example polkit rule's group managing without
// administrative access.
// With OVERLAY_BOOT_SCREENSHOTS=DIR the main views are saved there as PNG
// (docs/cockpit/ holds the README's).
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Frame, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { useSandbox } from '../sandbox/vitest.js';
import { forwardToCockpit, launchBrowser, login, pageFrame, startCockpit } from './cockpit-kit.js';
import { ROOT, counts, makeSubhost, ok, state, stopSubhost, until, type Counts } from './kit.js';

const ADMIN = 'obtadmin';
const VIEWER = 'obtviewer';
/** A member of the group the shipped example polkit rule lets manage subhosts. */
const OPERATOR = 'obtop';
const RULE = '/usr/share/doc/overlay-boot/examples/50-overlay-boot.rules';
const PASSWORD = 'obt-Cockpit-1';
const NAME = 'web1';
const MADE = 'made1';
// TEST-NET-1 (RFC 5737), inside the subhost's own netns.
const ADDR = '192.0.2.2';
const SHOTS = process.env.OVERLAY_BOOT_SCREENSHOTS;

/** What a person sees of an element: its rendered text (playwright's innerText, not the DOM's). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is tested
const shown = (l: Locator): Promise<string> => l.innerText().catch(() => '');

interface Status {
  name: string;
  state: string;
  mainPid: number | null;
  config: string | null;
  configFrom: string | null;
  addresses: { address: string }[];
}

async function status(sb: Sandbox, name: string): Promise<Status> {
  const r = await sb.run(['overlay-boot', 'status', '--json', name]);
  return JSON.parse(r.stdout) as Status;
}

describe('the Cockpit page in a browser', () => {
  // PackageKit is bus-activated by Cockpit's shell (updates): not tested, and it would read apt's lists.
  const sandbox = useSandbox({ mask: ['packagekit.service'] });
  let clean: Counts;
  let fwd: Awaited<ReturnType<typeof forwardToCockpit>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let frame: Frame;
  let base: string;
  let web1Conf: string;

  /** Another user: a browser of its own (a fresh profile: nothing of the last session). */
  const freshBrowser = async (): Promise<Page> => {
    await browser.close();
    browser = await launchBrowser();
    return browser.context.newPage();
  };
  /** A screenshot for the README; `height` cuts off the empty part below a short view. */
  const shot = async (p: Page, file: string, height?: number) => {
    if (SHOTS) await p.screenshot({ path: join(SHOTS, file), ...(height ? { clip: { x: 0, y: 0, width: 1440, height } } : {}) });
  };
  const row = (name: string) => frame.locator(`tr[data-subhost="${name}"]`);
  const stateOf = (name: string) => row(name).locator('.obt-state').getAttribute('data-state');
  const untilState = async (name: string, want: string) => until(`${name} ${want} in the page`, async () => (await stateOf(name)) === want);

  beforeAll(async () => {
    const r = await execa(join(ROOT, 'debian/build-deb'), [], { reject: false });
    if (r.exitCode !== 0) throw new Error(`debian/build-deb: ${r.stderr}`);
    const deb = r.stdout.trim().split('\n').pop()!;
    const cockpitDeb = join(
      dirname(deb),
      deb
        .split('/')
        .pop()!
        .replace(/^overlay-boot_(.*)_[^_]+\.deb$/, 'cockpit-overlay-boot_$1_all.deb'),
    );
    const sb = sandbox();
    // As package.test.ts: this machine's policy-rc.d forbids service actions; man-db's index takes seconds.
    await sb.run(['rm', '-f', '/usr/sbin/policy-rc.d', '/var/lib/man-db/auto-update']);
    await sb.writeFile('/var/tmp/overlay-boot.deb', readFileSync(deb));
    await sb.writeFile('/var/tmp/cockpit-overlay-boot.deb', readFileSync(cockpitDeb));
    await ok(sb.run(['dpkg', '-i', '/var/tmp/overlay-boot.deb', '/var/tmp/cockpit-overlay-boot.deb'], { timeoutMs: 120_000 }), 'dpkg -i');
    await sb.run(['sh', '-c', 'ip netns add warmup && ip netns delete warmup']);
    clean = await counts(sb);

    // An administrator (Debian's polkit admin group: sudo) and a plain user, with real passwords.
    await ok(sb.run(['useradd', '--create-home', '--shell', '/bin/bash', '--groups', 'sudo', ADMIN]), 'useradd');
    await ok(sb.run(['useradd', '--create-home', '--shell', '/bin/bash', VIEWER]), 'useradd');
    // And a member of the group the shipped example polkit rule lets manage subhosts (the rule installed).
    await ok(sb.run(['groupadd', '--system', 'subhost-admin']), 'groupadd');
    await ok(sb.run(['useradd', '--create-home', '--shell', '/bin/bash', '--groups', 'subhost-admin', OPERATOR]), 'useradd');
    await ok(sb.run(['cp', RULE, '/etc/polkit-1/rules.d/']), 'cp rule');
    await ok(sb.run(['chpasswd'], { input: `${ADMIN}:${PASSWORD}\n${VIEWER}:${PASSWORD}\n${OPERATOR}:${PASSWORD}\n` }), 'chpasswd');

    // A running subhost with a cable and an address inside (its own
    // /etc/network/interfaces in UPPER, brought up by START=networking).
    const s = await makeSubhost(sb, NAME, 'BASE=.\nCABLES= =\nSTART=networking\n');
    web1Conf = s.conf;
    await sb.writeFile(
      `${s.base}/root/etc/network/interfaces`,
      `auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address ${ADDR}/24\n`,
      0o644,
    );
    await ok(sb.run(['overlay-boot', 'start', s.conf]), 'overlay-boot start');

    await startCockpit(sb);
    fwd = await forwardToCockpit(sb);
    base = `https://127.0.0.1:${fwd.port}`;
    browser = await launchBrowser();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await fwd?.close();
    const sb = sandbox();
    // The users' sessions (logind's /run/user mounts) end first.
    await sb.run(['loginctl', 'terminate-user', ADMIN, VIEWER, OPERATOR]);
    await until('no user session left', async () => !(await sb.run(['cat', '/proc/1/mountinfo'])).stdout.includes(' /run/user/'));
    for (const n of [NAME, MADE])
      if (['active', 'activating', 'failed'].includes(await state(sb, `subhost@${n}.service`))) await stopSubhost(sb, n);
    expect(await counts(sb)).toEqual(clean);
  });

  it('the administrator logs in, turns on administrative access and sees the running subhost with its address', async () => {
    page = await browser.context.newPage();
    await login(page, base, ADMIN, PASSWORD);
    // Cockpit's own "Limited access" button: the password again, then pkexec runs the privileged bridge.
    await page.getByRole('button', { name: 'Limited access' }).click();
    await page.locator('#switch-to-admin-access-password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Authenticate' }).click();
    // The top bar's button then says so (Cockpit's class for it: ct-unlocked).
    await page.locator('button.ct-unlocked', { hasText: 'Administrative access' }).waitFor({ timeout: 30_000 });

    await page.goto(`${base}/overlay-boot`, { waitUntil: 'domcontentloaded' });
    frame = await pageFrame(page);
    await row(NAME).waitFor();
    await until('the address in the page', async () => (await shown(row(NAME).locator('.obt-addresses'))).includes(ADDR));
    const st = await status(sandbox(), NAME);
    expect(st.state).toBe('active');
    expect(st.addresses.map((a) => a.address)).toContain(`${ADDR}/24`);
    expect(await stateOf(NAME)).toBe(st.state);
    expect(await shown(row(NAME).locator('.obt-addresses'))).toContain(`${ADDR}/24 (eth0)`);
    expect(await shown(row(NAME).locator('.obt-cables'))).toBe(`${NAME}0 ↔ eth0`);
    // The level overlay-boot check resolves the config to (the default one here).
    const checked = JSON.parse((await sandbox().run(['overlay-boot', 'check', '--json', web1Conf])).stdout) as {
      config: { CONTAINMENT: string };
    };
    expect(await shown(row(NAME).locator('.obt-containment'))).toBe(checked.config.CONTAINMENT);
    expect(await shown(row(NAME).locator('.obt-root'))).toBe(`/ → ${sandbox().dataDir}/${NAME}/root`);
    await until('UPPER size', async () => /\d/.test(await shown(row(NAME).locator('.obt-upper-size'))));
    await shot(page, 'list.png', 400);
  });

  it('stops and starts it: the page follows systemd, and the state is what overlay-boot status says', async () => {
    const sb = sandbox();
    const pid = (await status(sb, NAME)).mainPid;
    await row(NAME).locator('[data-action=stop]').click();
    await untilState(NAME, 'inactive');
    const stopped = await status(sb, NAME);
    expect(stopped.state).toBe('inactive');
    expect(stopped.addresses).toEqual([]);
    expect((await sb.run(['ip', 'netns', 'list'])).stdout).not.toContain(NAME);

    await row(NAME).locator('[data-action=start]').click();
    await untilState(NAME, 'active');
    await until('the address again', async () => (await shown(row(NAME).locator('.obt-addresses'))).includes(ADDR));
    const started = await status(sb, NAME);
    expect(started.state).toBe('active');
    expect(started.mainPid).not.toBe(pid);
    expect(started.config).toBe(web1Conf);
  });

  it('follows changes made elsewhere (systemd D-Bus signals), without a reload', async () => {
    const sb = sandbox();
    await ok(sb.run(['overlay-stop', NAME]), 'overlay-stop');
    await untilState(NAME, 'inactive');
    await ok(sb.run(['overlay-boot', 'start', web1Conf]), 'overlay-boot start');
    await untilState(NAME, 'active');
    await until('the address again', async () => (await shown(row(NAME).locator('.obt-addresses'))).includes(ADDR));
  });

  it("creates a subhost from the form: the command's own validation message first, then made and started", async () => {
    const sb = sandbox();
    const madeBase = `${sb.dataDir}/${MADE}`;
    await frame.locator('#obt-create').click();
    await frame.locator('#obt-create-name').fill(MADE);
    await frame.locator('#obt-create-base').fill(madeBase);
    await frame.locator('#obt-create-cable').fill('=');
    await frame.locator('#obt-create-start').fill('none');
    await frame.locator('#obt-create-ram-size').fill('lots');
    // The same lines as the command gives for the same options (nothing made).
    const cli = await sb.run([
      'overlay-boot',
      'create',
      '--dry-run',
      '--base',
      madeBase,
      '--cable',
      '=',
      '--start',
      'none',
      '--ram-size',
      'lots',
      MADE,
    ]);
    expect(cli.exitCode).toBe(1);
    await until('the validation message', async () => (await shown(frame.locator('#obt-create-problems'))) === cli.stderr.trim());
    expect(await frame.locator('#obt-create-submit').isDisabled()).toBe(true);
    await shot(page, 'create.png');
    expect((await sb.run(['test', '-e', madeBase])).exitCode).not.toBe(0);

    await frame.locator('#obt-create-ram-size').fill('');
    await frame.locator('#obt-create-preview').waitFor();
    expect(await shown(frame.locator('#obt-create-preview'))).toContain(`NAME=${MADE}\nCABLES==\nSTART=none`);
    await frame.locator('#obt-create-submit').click();
    // The subhost's own view: running, as overlay-boot status says.
    await frame.locator('#obt-overview').waitFor();
    await until(
      `${MADE} running in the page`,
      async () => (await frame.locator('.obt-header .obt-state').getAttribute('data-state')) === 'active',
    );
    const st = await status(sb, MADE);
    expect(st.state).toBe('active');
    expect(st.config).toBe(`${madeBase}/${MADE}.conf`);
    expect(await sb.readFile(`${madeBase}/${MADE}.conf`)).toContain(`NAME=${MADE}\nCABLES==\nSTART=none\n`);
  });

  it('enables it at boot, disables it and restarts it from its page, as the commands would', async () => {
    const sb = sandbox();
    await frame.locator('a', { hasText: 'Subhosts' }).first().click();
    await row(NAME).locator('a.obt-name').click();
    await frame.locator('#obt-overview').waitFor();
    await shot(page, 'subhost.png');
    await frame.locator('[data-action=enable]').click();
    await frame.locator('[data-action=disable]').waitFor();
    // overlay-boot enable's result: listed in /etc/subhosts.conf, found there after its daemon-reload.
    expect(await sb.readFile('/etc/subhosts.conf')).toContain(`${web1Conf}\n`);
    expect((await status(sb, NAME)).configFrom).toMatch(/^\/etc\/subhosts\.conf/);
    await frame.locator('[data-action=disable]').click();
    await frame.locator('[data-action=enable]').waitFor();
    expect(await sb.readFile('/etc/subhosts.conf')).not.toContain(web1Conf);

    const pid = (await status(sb, NAME)).mainPid;
    await frame.locator('[data-action=restart]').click();
    await until('a new PID 1 inside', async () => {
      const st = await status(sb, NAME);
      return st.state === 'active' && st.mainPid !== pid;
    });
    await until(
      'running again in the page',
      async () => (await frame.locator('.obt-header .obt-state').getAttribute('data-state')) === 'active',
    );
  });

  it("shows its journal lines and runs hostname in the page's terminal", async () => {
    const sb = sandbox();
    // A line of the subhost's start, as journalctl shows it.
    const journal = (await sb.run(['journalctl', '--no-pager', '-o', 'cat', '-u', `subhost@${NAME}.service`])).stdout;
    expect(journal).toContain(`Started subhost@${NAME}.service`);
    await until('journal lines in the page', async () =>
      (await shown(frame.locator('#obt-journal'))).includes(`Started subhost@${NAME}.service`),
    );

    await frame.locator('[data-action=terminal]').click();
    await frame.locator('#obt-terminal .xterm-helper-textarea').waitFor();
    await until('a prompt', async () => /[#$]\s*$/m.test(await shown(frame.locator('#obt-terminal .xterm-rows'))));
    await frame.locator('#obt-terminal .xterm-helper-textarea').pressSequentially('hostname');
    await frame.locator('#obt-terminal .xterm-helper-textarea').press('Enter');
    const inside = (await ok(sb.run(['overlay-go', NAME, '--', 'hostname']), 'overlay-go')).trim();
    expect(inside).toBe(NAME);
    await until('hostname in the terminal', async () =>
      (await shown(frame.locator('#obt-terminal .xterm-rows'))).split('\n').some((l) => l.trim() === inside),
    );
    await shot(page, 'terminal.png');
  });

  it("opens Cockpit's own log view filtered to the subhost's unit", async () => {
    await frame.locator('#obt-open-logs').click();
    await until('the log view', async () => page.url().includes(`service=subhost@${NAME}.service`));
    const logs = await pageFrame(page, 'system/logs');
    await until('its lines in the log view', async () => (await shown(logs.locator('body'))).includes(`Started subhost@${NAME}.service`));
    // Back through Cockpit's menu, to the list for the next step.
    await page.locator('nav a', { hasText: 'Subhosts' }).first().click();
    frame = await pageFrame(page);
    await frame.locator('#obt-subhosts, #obt-overview').first().waitFor();
    if (await frame.locator('#obt-overview').count()) await frame.locator('.obt-breadcrumb a').click();
    await row(NAME).waitFor();
  });

  it('removes the made subhost from its page, keeping its UPPER', async () => {
    const sb = sandbox();
    // What the subhost wrote (its UPPER is not empty): kept without --purge.
    await sb.writeFile(`${sb.dataDir}/${MADE}/root/written-inside`, 'data\n');
    await row(MADE).locator('a.obt-name').click();
    await frame.locator('[data-action=remove]').click();
    await frame.locator('[data-action=remove-confirm]').click();
    await row(NAME).waitFor();
    await until(`${MADE} gone from the page`, async () => (await row(MADE).count()) === 0);
    expect(await state(sb, `subhost@${MADE}.service`)).toBe('inactive');
    const list = JSON.parse((await sb.run(['overlay-boot', 'list', '--json'])).stdout) as Status[];
    expect(list.map((s) => s.name)).not.toContain(MADE);
    // The config went, its UPPER did not (no --purge).
    expect((await sb.run(['test', '-e', `${sb.dataDir}/${MADE}/${MADE}.conf`])).exitCode).not.toBe(0);
    expect(await sb.readFile(`${sb.dataDir}/${MADE}/root/written-inside`)).toBe('data\n');
  });

  it('a user without administrative access sees the list read-only, and one line saying why', async () => {
    // The administrator's browser closes; the plain user logs in on another.
    const p = await freshBrowser();
    await login(p, base, VIEWER, PASSWORD);
    await p.goto(`${base}/overlay-boot#/`, { waitUntil: 'domcontentloaded' });
    const f = await pageFrame(p);
    await f.locator(`tr[data-subhost="${NAME}"]`).waitFor();
    await f.locator('#obt-read-only').waitFor();
    expect(await shown(f.locator('#obt-read-only'))).toMatch(/^Read-only: .* needs administrative access; .*$/);
    expect(await shown(f.locator('#obt-read-only'))).not.toContain('\n');
    expect(await f.locator('button').count()).toBe(0);
    expect(await f.locator(`tr[data-subhost="${NAME}"] .obt-state`).getAttribute('data-state')).toBe((await status(sandbox(), NAME)).state);
    await shot(p, 'read-only.png', 420);
  });
  it("a member of the polkit rule's group starts, stops, restarts, enables, disables and enters subhosts as themselves, without administrative access", async () => {
    const sb = sandbox();
    const p = await freshBrowser();
    await login(p, base, OPERATOR, PASSWORD);
    await p.goto(`${base}/overlay-boot#/`, { waitUntil: 'domcontentloaded' });
    const f = await pageFrame(p);
    await f.locator('#obt-polkit-only').waitFor();
    expect(await f.locator('#obt-create').count()).toBe(0);
    const r = f.locator(`tr[data-subhost="${NAME}"]`);
    const pid = (await status(sb, NAME)).mainPid;
    await r.locator('[data-action=stop]').click();
    await until('stopped by the operator', async () => (await r.locator('.obt-state').getAttribute('data-state')) === 'inactive');
    expect((await status(sb, NAME)).state).toBe('inactive');
    await r.locator('[data-action=start]').click();
    await until('started by the operator', async () => (await r.locator('.obt-state').getAttribute('data-state')) === 'active');
    const st = await status(sb, NAME);
    expect(st.state).toBe('active');
    expect(st.mainPid).not.toBe(pid);
    // Not root: the subhost's page has no Remove; the rest goes through polkit.
    await r.locator('a.obt-name').click();
    await f.locator('#obt-overview').waitFor();
    expect(await f.locator('[data-action=remove]').count()).toBe(0);
    await f.locator('[data-action=enable]').click();
    await f.locator('[data-action=disable]').waitFor();
    expect(await sb.readFile('/etc/subhosts.conf')).toContain(`${web1Conf}\n`);
    await f.locator('[data-action=disable]').click();
    await f.locator('[data-action=enable]').waitFor();
    expect(await sb.readFile('/etc/subhosts.conf')).not.toContain(web1Conf);
    await f.locator('[data-action=restart]').click();
    await until('restarted by the operator', async () => {
      const now = await status(sb, NAME);
      return now.state === 'active' && now.mainPid !== st.mainPid;
    });
    await until('running in the page', async () => (await f.locator('.obt-header .obt-state').getAttribute('data-state')) === 'active');
    await f.locator('[data-action=terminal]').click();
    await until('a prompt', async () => /[#$]\s*$/m.test(await shown(f.locator('#obt-terminal .xterm-rows'))));
    await f.locator('#obt-terminal .xterm-helper-textarea').pressSequentially('hostname');
    await f.locator('#obt-terminal .xterm-helper-textarea').press('Enter');
    await until('hostname in the terminal', async () =>
      (await shown(f.locator('#obt-terminal .xterm-rows'))).split('\n').some((l) => l.trim() === NAME),
    );
  });
});
