// The Cockpit page's browser test kit (test/e2e/cockpit.test.ts): Cockpit
// (Debian's cockpit-ws, cockpit-bridge, cockpit-system) run by a sandbox's
// systemd, reached from this machine's Debian chromium driven by
// playwright-core. The sandbox has a network namespace of its own, so
// cockpit.socket gets one more listener, a unix socket, and a TCP port on
// this machine's loopback forwards each connection to it: the browser talks
// TLS to cockpit-tls as it would to https://HOST:9090.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Sandbox } from '../sandbox/sandbox.js';

/** The extra listener inside the sandbox (short: a unix socket path has 108 bytes at most). */
export const COCKPIT_SOCKET = '/run/obt-cockpit.sock';

/** cockpit.socket's drop-in: 9090 as shipped, and the unix socket the forwarder reaches. */
const SOCKET_DROPIN = `[Socket]
# test/e2e/cockpit-kit.ts: reached from outside the sandbox's netns through /proc/PID/root
ListenStream=${COCKPIT_SOCKET}
SocketMode=0600
`;

/** Enable Cockpit in the sandbox: the socket with its extra listener, started now. */
export async function startCockpit(sb: Sandbox): Promise<void> {
  await sb.writeFile('/etc/systemd/system/cockpit.socket.d/obt-test.conf', SOCKET_DROPIN, 0o644);
  await sb.daemonReload();
  // The sandbox boots no multi-user.target: without this, /run/nologin says "booting" to every login but root's.
  const u = await sb.startUnit('systemd-user-sessions.service');
  if (u !== 'done') throw new Error(`systemd-user-sessions.service: ${u}`);
  const r = await sb.startUnit('cockpit.socket');
  if (r !== 'done') throw new Error(`cockpit.socket: ${r}\n${await sb.journal('cockpit.socket')}`);
}

/** A loopback TCP port whose connections go to the sandbox's cockpit socket; close() ends them all. */
export async function forwardToCockpit(sb: Sandbox): Promise<{ port: number; close: () => Promise<void> }> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(`${sb.root}${COCKPIT_SOCKET}`);
    open.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return {
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Debian's chromium (never a downloaded browser), headless, with a fresh
 * profile, and the switches it needs here: as root (no sandbox), without
 * a GPU, and without trying the network (QUIC, background requests,
 * component and sync updates) that this machine does not have.
 */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync('/tmp/obt-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ignoreHTTPSErrors: true, // cockpit's own self-signed certificate
    viewport: { width: 1440, height: 860 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Log in on Cockpit's own login page; resolves once the shell is there. */
export async function login(page: Page, base: string, user: string, password: string): Promise<void> {
  // A busy machine sometimes leaves a first request of a new session unanswered: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 20_000 });
      break;
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
  await page.fill('#login-user-input', user);
  await page.fill('#login-password-input', password);
  await page.click('#login-button');
  // The shell, or the login page's own message (wrong password, ...).
  const shell = page.locator('iframe.container-frame').first();
  const refused = page.locator('#login-error-message:visible, #login-fatal-message:visible').first();
  await shell
    .or(refused)
    .waitFor({ timeout: 30_000 })
    .catch(async (e) => {
      throw new Error(`login as ${user}: ${e}\n${(await page.content()).slice(0, 3000)}`);
    });
  if (await refused.isVisible()) throw new Error(`login as ${user}: ${await refused.textContent()}`);
}

/** The page's frame inside the shell (Cockpit loads each package page in an iframe). */
export async function pageFrame(page: Page, path = 'overlay-boot') {
  const handle = await page.waitForSelector(`iframe[name="cockpit1:localhost/${path}"]`, { timeout: 30_000 });
  const frame = await handle.contentFrame();
  if (!frame) throw new Error(`no frame for ${path}`);
  return frame;
}
