// What the generator's output costs systemd at daemon-reload, with N
// subhosts registered (like the bench's: BASE=., CABLES==, START=none),
// in a sandbox systemd. Each variant is timed RUNS times (medians):
//   none         nothing registered (systemd and the other generators)
//   generated    N registered: the generator runs at each reload
//   static       the generator masked, its output (from one run) in /etc/systemd/system:
//                what loading the units costs, without running the generator
//   static-no-netns-dropins   the same without the subhost-netns@NAME.service.d drop-ins
//   static-wants-only         the same without any drop-in: the template instances alone
//   wants-only, no machine@   diagnostics: subhost@.service without its Wants=subhost-machine@
//   same, no SystemCallFilter and without its system call filter (not the package's units)
//   static-no-wants           the same without the subhosts.target.wants links (no unit loaded)
// Run: scripts/run-with-sandbox.sh bench/reload-scale.ts [N] [RUNS] (as root, built tree).
import { bootSandbox, type Sandbox } from '../test/sandbox/sandbox.js';
import { installUnits, register } from '../test/e2e/kit.js';

const N = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 5);
const GENERATOR = '/usr/lib/systemd/system-generators/overlay-boot-generator';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function sh(sb: Sandbox, script: string): Promise<string> {
  const r = await sb.run(['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${script}: ${r.stderr}`);
  return r.stdout.trim();
}

async function timeReloads(sb: Sandbox, label: string): Promise<void> {
  await sb.daemonReload(); // the transition itself is not timed
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await sb.daemonReload();
    ms.push(performance.now() - t0);
  }
  const names = await sb.getManagerProperty('NNames');
  if (label === 'generated') {
    // Which units one subhost brings.
    process.stdout.write(
      `${await sh(sb, "systemctl list-units --all --no-legend --plain | awk '{print $1}' | grep -e 'g0001' -e 'g0002' | tr '\\n' ' '")}\n`,
    );
  }
  process.stdout.write(
    `${label.padEnd(26)} median ${median(ms).toFixed(0).padStart(5)} ms (${ms.map((x) => x.toFixed(0)).join(' ')}), units known: ${String(names)}\n`,
  );
}

const sb = await bootSandbox();
try {
  await installUnits(sb);
  const d = sb.dataDir;
  await sh(
    sb,
    `for i in $(seq -w 1 ${N}); do mkdir -p ${d}/g$i/root ${d}/g$i/work ${d}/g$i/live; printf 'BASE=.\\nCABLES==\\nSTART=none\\n' >${d}/g$i/g$i.conf; done`,
  );
  const confs = (await sh(sb, `ls -d ${d}/g*/g*.conf`)).split('\n');
  process.stdout.write(`sandbox systemd ${String(await sb.getManagerProperty('Version'))}, ${confs.length} configs\n`);

  await register(sb);
  await timeReloads(sb, 'none');
  await register(sb, ...confs);
  await timeReloads(sb, 'generated');
  const out = await sh(
    sb,
    `t=$(mktemp -d); mkdir $t/n $t/e $t/l; s=$(date +%s%N); ${GENERATOR} $t/n $t/e $t/l; e=$(date +%s%N)
     echo "generator alone: $(( (e - s) / 1000000 )) ms, $(find $t/n -type f | wc -l) files, $(find $t/n -type l | wc -l) links, $(find $t/n -type d | wc -l) dirs"
     rm -rf $t`,
  );
  process.stdout.write(`${out}\n`);

  // The same output, static: the generator masked.
  await sh(
    sb,
    `mkdir -p /etc/systemd/system-generators && ln -sf /dev/null /etc/systemd/system-generators/overlay-boot-generator
     t=$(mktemp -d); mkdir $t/n $t/e $t/l; ${GENERATOR} $t/n $t/e $t/l; cp -a $t/n/. /etc/systemd/system/; rm -rf $t`,
  );
  await timeReloads(sb, 'static');
  await sh(sb, 'rm -rf /etc/systemd/system/subhost-netns@*.service.d');
  await timeReloads(sb, 'static-no-netns-dropins');
  await sh(sb, 'rm -rf /etc/systemd/system/subhost@*.service.d');
  await timeReloads(sb, 'static-wants-only');
  // Diagnostics (not the package's units): what the templates' own lines
  // cost per loaded instance, with the wants links only.
  await sh(sb, "sed '/^Wants=subhost-machine@/d' /usr/lib/systemd/system/subhost@.service >/etc/systemd/system/subhost@.service");
  await timeReloads(sb, 'wants-only, no machine@');
  await sh(
    sb,
    "sed -e '/^Wants=subhost-machine@/d' -e '/^SystemCallFilter=/d' -e '/^SystemCallErrorNumber=/d' /usr/lib/systemd/system/subhost@.service >/etc/systemd/system/subhost@.service",
  );
  await timeReloads(sb, 'same, no SystemCallFilter');
  await sh(sb, 'rm -f /etc/systemd/system/subhost@.service');
  await sh(sb, 'rm -rf /etc/systemd/system/subhosts.target.wants');
  await timeReloads(sb, 'static-no-wants');
} finally {
  await sb.stop();
}
