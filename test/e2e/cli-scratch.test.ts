import { it } from 'vitest';
import { useSandbox } from '../sandbox/vitest.js';
import { installUnits, makeSubhost, register, mainPid } from './kit.js';

const sandbox = useSandbox();
it('experiment', async () => {
  const sb = sandbox();
  await installUnits(sb);
  const s = await makeSubhost(sb, 'x', 'BASE=.\nSTART=none\n');
  await register(sb, s.conf);
  console.log(await sb.startUnit('subhost@x.service'));
  const pid = await mainPid(sb, 'x');
  const r = await sb.run(['sh', '-c', `sleep 30 & p=$!; busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager AttachProcessesToUnit ssau subhost@x.service / 1 $p; cat /proc/$p/cgroup; kill $p; wait; cat /proc/${pid}/cgroup; systemctl show subhost@x.service -p Delegate -p ControlGroup -p TasksCurrent -p MemoryCurrent -p CPUUsageNSec`]);
  console.log(r);
  console.log(await sb.stopUnit('subhost@x.service'));
});
