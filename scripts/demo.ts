// The README's main-job command: on a machine whose PID 1 may not be
// systemd, boot a throwaway real systemd, install overlay-boot 2 from the
// build tree into it, and start, use and stop a subhost, showing each step.
import { bootSandbox, type Sandbox } from '../test/sandbox/sandbox.js';
import { installUnits, makeSubhost, register, inside, counts, stopSubhost, journalOf } from '../test/e2e/kit.js';

const step = (s: string) => process.stdout.write(`\n==> ${s}\n`);
const show = (s: string) => process.stdout.write(s.trimEnd().replace(/^/gm, '    ') + '\n');

async function main(): Promise<void> {
  step('boot a throwaway systemd (PID 1 of fresh namespaces, on an overlay of this machine)');
  const sb: Sandbox = await bootSandbox();
  try {
    show(`systemd ${String(await sb.getManagerProperty('Version'))}, ${String(await sb.getManagerProperty('SystemState'))}, booted in ${sb.bootMs} ms`);

    step('install the units (subhost@.service, subhost-netns@.service, subhosts.target)');
    await installUnits(sb);
    show((await sb.systemctl('list-unit-files', 'subhost*', '--no-pager')).stdout);

    step('create /srv/subhosts/demo and register it in /etc/subhosts.conf, as in 1.6');
    const s = await makeSubhost(sb, 'demo', (await import('node:fs')).readFileSync('examples/demo.conf', 'utf8'));
    await register(sb, s.conf);
    show((await sb.run(['cat', '/etc/subhosts.conf', s.conf])).stdout);

    step(`overlay-boot check ${s.conf} (resolve and validate the config; runs nothing)`);
    const check = await sb.run(["/usr/sbin/overlay-boot", "check", s.conf]);
    show(check.stdout + check.stderr);

    step('systemctl start subhost@demo (StartUnit over D-Bus)');
    const t0 = Date.now();
    const r = await sb.startUnit('subhost@demo.service');
    show(`job result: ${r} in ${Date.now() - t0} ms`);
    if (r !== 'done') throw new Error(await journalOf(sb, 'subhost@demo.service'));
    show((await sb.systemctl('status', '--no-pager', '--lines=5', 'subhost@demo.service')).stdout);

    step('the host end of its cable');
    show((await sb.run(['ip', '-br', 'link', 'show', 'demo0'])).stdout);

    step('inside the subhost: hostname, PID 1, processes, its own network');
    show((await inside(sb, 'demo', ['sh', '-c', 'hostname; readlink /proc/1/exe; ps -e 2>/dev/null || ls /proc | grep -c "^[0-9]"; ip -br link'])).stdout);

    step('systemctl stop subhost@demo');
    show(`job result: ${await stopSubhost(sb, 'demo')}`);
    const c = await counts(sb);
    show(`left behind: netns [${c.netns}], interfaces [${c.links}], subhost processes ${c.subhostProcs}`);
  } finally {
    step('power off the throwaway systemd');
    await sb.stop();
    show('done');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
});
