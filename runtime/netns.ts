// The subhost's network namespace and its cables (1.6's `ip netns add`
// and setup_veth_cables), run by subhost-netns@NAME.service on the host.
// Everything it creates is written to a state file as it goes, so that
// subhost-netns-down (ExecStopPost) removes exactly that, also after a
// failed or killed start.
import { execa } from 'execa';
import { appendFileSync, existsSync } from 'node:fs';
import type { Cable } from '../lib/config/cables.js';
import { RuntimeError } from './load.js';

async function ip(args: string[], input?: string): Promise<void> {
  const r = await execa('ip', args, { input, reject: false, stdin: input === undefined ? 'ignore' : 'pipe' });
  if (r.exitCode !== 0) throw new RuntimeError(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit status ${r.exitCode}`}`);
}

/** True when ifupdown knows a stanza for this interface (then ifup configures it, as in 1.6). */
async function hasIfupStanza(ifname: string): Promise<boolean> {
  if (!existsSync('/sbin/ifquery') && !existsSync('/usr/sbin/ifquery')) return false;
  const r = await execa('ifquery', [ifname], { reject: false, stdin: 'ignore' });
  return r.exitCode === 0;
}

/** The `ip` arguments that create the host side of one cable (pure). */
export function cableArgs(name: string, c: Cable): string[] {
  if (c.kind === 'veth') {
    const peer = ['peer', 'name', c.peerIf, ...(c.mac ? ['address', c.mac] : []), 'netns', name];
    return ['link', 'add', c.hostIf, 'type', 'veth', ...peer];
  }
  return ['link', 'add', 'link', c.parent, 'name', c.hostIf, 'type', 'vlan', 'id', String(c.vlan)];
}

export async function netnsUp(name: string, cables: Cable[], stateFile: string): Promise<void> {
  const record = (line: string) => appendFileSync(stateFile, line + '\n');
  if (existsSync(`/run/netns/${name}`)) {
    throw new RuntimeError(`network namespace ${name} already exists (not made by this unit): remove it with "ip netns delete ${name}" if it is stale`);
  }
  for (const c of cables) {
    if (existsSync(`/sys/class/net/${c.hostIf}`)) {
      throw new RuntimeError(`host interface ${c.hostIf} already exists: another subhost or a leftover uses that name`);
    }
    if (c.bridge && !existsSync(`/sys/class/net/${c.bridge}/bridge`)) {
      throw new RuntimeError(`CABLES: bridge ${c.bridge} for ${c.hostIf} does not exist (or is not a bridge)`);
    }
  }
  record('netns');
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  if (cables.length === 0) return;
  for (const c of cables) {
    record(`link ${c.hostIf}`);
    try {
      await ip(cableArgs(name, c));
    } catch (e) {
      const hint = c.kind === 'vlan' && /Unknown device type/.test((e as Error).message)
        ? ' (this kernel has no 802.1Q VLAN support: CONFIG_VLAN_8021Q)' : '';
      throw new RuntimeError(`CABLES: cannot create ${c.hostIf}: ${(e as Error).message}${hint}`);
    }
  }
  for (const c of cables) {
    if (c.bridge) {
      await ip(['link', 'set', c.hostIf, 'master', c.bridge, 'up']);
    } else if (await hasIfupStanza(c.hostIf)) {
      record(`ifup ${c.hostIf}`);
      const r = await execa('ifup', [c.hostIf], { reject: false, stdin: 'ignore', stdout: 'inherit', stderr: 'inherit' });
      if (r.exitCode !== 0) throw new RuntimeError(`ifup ${c.hostIf} failed (exit status ${r.exitCode})`);
    } else {
      await ip(['link', 'set', c.hostIf, 'up']);
    }
  }
}
