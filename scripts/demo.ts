// The README's main-job command: on a machine whose PID 1 may not be
// systemd, build the Debian package, boot a throwaway real systemd, install
// the package into it with dpkg, and start, inspect, use and stop a
// subhost with a cable through the overlay-boot commands, then make one
// with overlay-boot create, read its services' logs in the journal and
// remove it, showing each step.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { bootSandbox, type Sandbox } from '../test/sandbox/sandbox.js';
import { ROOT, makeSubhost, counts } from '../test/e2e/kit.js';

const step = (s: string) => process.stdout.write(`\n==> ${s}\n`);
const show = (s: string) => process.stdout.write(`${s.trimEnd().replace(/^/gm, '    ')}\n`);

/**
 * lintian's findings as counts by kind, with the error and warning tags
 * themselves; its explanations (the N: lines, most of lintian.txt) stay
 * in the file.
 */
function lintianSummary(text: string): string {
  const kinds: [string, string][] = [
    ['E', 'errors'],
    ['W', 'warnings'],
    ['I', 'info'],
    ['P', 'pedantic'],
    ['O', 'overridden'],
  ];
  const tags = text.split('\n').filter((l) => /^[EWIPO]: /.test(l));
  const counts = kinds.map(([k, what]) => `${tags.filter((l) => l.startsWith(`${k}: `)).length} ${what}`);
  const serious = tags.filter((l) => /^[EW]: /.test(l));
  return [`lintian: ${counts.join(', ')} (build-deb/lintian.txt has the explanations)`, ...serious].join('\n');
}

async function run(sb: Sandbox, argv: string[]): Promise<void> {
  process.stdout.write(`    # ${argv.join(' ')}\n`);
  const r = await sb.run(argv, { timeoutMs: 120_000 });
  show(r.stdout + r.stderr);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} exited with ${r.exitCode}`);
}

async function main(): Promise<void> {
  step('build the Debian package (debian/build-deb: dpkg-buildpackage, then lintian)');
  const built = await execa(`${ROOT}/debian/build-deb`, [], { cwd: ROOT, reject: false });
  if (built.exitCode !== 0) throw new Error(built.stderr);
  const deb = built.stdout.trim().split('\n').pop()!;
  show(`${deb}\n${lintianSummary(readFileSync(`${deb.slice(0, deb.lastIndexOf('/'))}/lintian.txt`, 'utf8'))}`);

  step('boot a throwaway systemd (PID 1 of fresh namespaces, on an overlay of this machine)');
  const sb: Sandbox = await bootSandbox();
  try {
    show(
      `systemd ${String(await sb.getManagerProperty('Version'))}, ${String(await sb.getManagerProperty('SystemState'))}, booted in ${sb.bootMs} ms`,
    );

    step('install the package into it');
    await sb.writeFile('/var/tmp/overlay-boot.deb', readFileSync(deb));
    await run(sb, ['dpkg', '-i', '/var/tmp/overlay-boot.deb']);

    step('a subhost with one cable: /srv/subhosts/demo/demo.conf');
    const s = await makeSubhost(sb, 'demo', readFileSync(`${ROOT}/examples/demo.conf`, 'utf8'));
    await run(sb, ['cat', s.conf]);
    await run(sb, ['overlay-boot', 'check', s.conf]);

    step('start it (overlay-boot CONF, the 1.6 form: StartUnit over D-Bus, waits for the job)');
    const t0 = Date.now();
    await run(sb, ['overlay-boot', s.conf]);
    show(`started in ${Date.now() - t0} ms (including the command's own start-up)`);

    step('overlay-boot status demo');
    await run(sb, ['overlay-boot', 'status', 'demo']);
    step('the host end of its cable');
    await run(sb, ['ip', '-br', 'link', 'show', 'demo0']);

    step('run a command inside with overlay-go');
    await run(sb, ['overlay-go', 'demo', '--', 'sh', '-c', 'hostname; readlink /proc/1/exe; ip -br link']);

    step('overlay-stop demo');
    await run(sb, ['overlay-stop', 'demo']);
    const c = await counts(sb);
    show(`left behind: netns [${c.netns}], interfaces [${c.links}], subhost processes ${c.subhostProcs}`);

    step('make a subhost in one step: directories, config (checked first), listed, started');
    const web = `${sb.dataDir}/web`;
    await run(sb, ['overlay-boot', 'create', '--base', web, '--cable', '=', '--start', 'ssh', '--enable', '--now', 'web']);
    await run(sb, ['cat', `${web}/web.conf`]);

    step("its services' syslog lines are in the host's journal, under its unit");
    await run(sb, ['overlay-go', 'web', '--', 'logger', '-t', 'demo', 'hello from inside web']);
    for (let i = 0; i < 50 && !(await sb.run(['journalctl', '-u', 'subhost@web', '-t', 'demo', '-q'])).stdout; i++) {
      await new Promise((r) => setTimeout(r, 100)); // journald writes it asynchronously
    }
    await run(sb, ['journalctl', '--no-pager', '-o', 'short', '-u', 'subhost@web', '-t', 'sshd', '-t', 'demo']);

    step('overlay-boot remove web: stopped, unlisted, config gone; UPPER kept (it holds what the subhost wrote)');
    await run(sb, ['overlay-boot', 'remove', 'web']);
    await run(sb, ['ls', '-A', web]);
  } finally {
    step('power off the throwaway systemd');
    await sb.stop();
    show('done');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(
    `demo failed: ${(e as Error).message}\n` +
      'demo: the step above says what failed (its command and output); nothing of the throwaway systemd is left ' +
      '(ip netns list, grep overlay /proc/mounts show none). scripts/test.sh test/e2e/sandbox.test.ts checks the sandbox itself.\n',
  );
  process.exit(1);
});
