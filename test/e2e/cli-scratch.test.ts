import { it } from 'vitest';
import { useSandbox } from '../sandbox/vitest.js';
import { installUnits, makeSubhost, register, mainPid } from './kit.js';

const sandbox = useSandbox({ files: { '/etc/systemd/system/subhost@.service.d/50-delegate.conf': '[Service]\nDelegate=yes\n' } });
it('experiment', async () => {
  const sb = sandbox();
  await installUnits(sb);
  const s = await makeSubhost(sb, 'x', 'BASE=.\nSTART=none\nCABLES==\n');
  await register(sb, s.conf);
  const t0 = Date.now() / 1000;
  console.log(await sb.startUnit('subhost@x.service'));
  const pid = await mainPid(sb, 'x');
  const r = await sb.run(['sh', '-c', `sleep 30 & p=$!; busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager AttachProcessesToUnit ssau subhost@x.service / 1 $p; cat /proc/$p/cgroup | grep 0::; cat /sys/fs/cgroup/system.slice/system-subhost.slice/subhost@x.service/cgroup.procs; kill $p; wait; cat /proc/${pid}/cgroup | grep 0::; systemctl show subhost@x.service -p Delegate -p Environment; journalctl -u subhost@x.service --since @${t0.toFixed(3)} -o cat --no-pager; echo ---; ip -j -n x addr; ip -o -n x addr`]);
  console.log(r.stdout, r.stderr);
  console.log(await sb.stopUnit('subhost@x.service'));
});
