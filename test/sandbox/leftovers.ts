// Counts of host-side things a sandbox could leave behind, so a suite can
// assert "after == before". The first three are the ones asked for; the last
// two are specific to this sandbox implementation.
//
// Note: these are host-wide counts. Another sandbox (another engineer's run on
// the same machine) booting or stopping in between changes them too.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { SCRATCH_PREFIX, unescapeMountPath } from './scratch.js';
import { CGROUP_PREFIX, hostCgroup2Mount } from './cgroup.js';

export interface HostLeftovers {
  /** overlay mounts in the host's /proc/self/mountinfo */
  overlayMounts: number;
  /** entries of `ip netns list` on the host */
  netns: number;
  /** processes whose comm is "systemd" */
  systemdProcesses: number;
  /** scratch tmpfs mounts of sandboxes (mount point named obt-sandbox-*) */
  scratchMounts: number;
  /** sandbox cgroups (obt-sandbox-*) in the host's cgroup2 hierarchy */
  sandboxCgroups: number;
}

export async function hostLeftovers(): Promise<HostLeftovers> {
  const mountinfo = (await fs.readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter(Boolean);
  const overlayMounts = mountinfo.filter((l) => l.split(' - ')[1]?.startsWith('overlay ')).length;
  const scratchMounts = mountinfo.filter((l) => path.basename(unescapeMountPath(l.split(' ')[4] ?? '')).startsWith(SCRATCH_PREFIX)).length;

  const ipNetns = await execa('ip', ['netns', 'list']);
  const netns = ipNetns.stdout.split('\n').filter((l) => l.trim() !== '').length;

  let systemdProcesses = 0;
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await fs.readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'systemd') systemdProcesses++;
  }

  const cgBase = await hostCgroup2Mount();
  const sandboxCgroups = (await fs.readdir(cgBase)).filter((n) => n.startsWith(CGROUP_PREFIX)).length;

  return { overlayMounts, netns, systemdProcesses, scratchMounts, sandboxCgroups };
}
