// subhost-netns up/down on their own, in a throwaway network and mount
// namespace (a tmpfs /run, a sysfs of that netns): what `up` makes from a
// plan, what it refuses, and that `down` leaves nothing, also when a
// process still holds the netns (the links are then deleted, not waited for).
import { execa } from 'execa';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILD, REPO } from './harness.js';

const NETNS = join(BUILD, 'subhost-netns');

beforeAll(async () => {
  await execa('make', ['-C', join(REPO, 'native')]);
});

/** SCRIPT (sh -e) in fresh namespaces; $B is subhost-netns, plans are written with printf. */
async function scenario(script: string) {
  const prelude = [
    'mount -t tmpfs none /run',
    'mount -t sysfs none /sys',
    'mkdir /run/t',
    `B=${NETNS}`,
    // A plan: one tab-separated line per argument.
    'plan() { f=$1; shift; : >"$f"; for l in "$@"; do printf "%s\\n" "$l" | tr " " "\\t" >>"$f"; done; }',
    'links() { ip -o link show | grep -v ": lo:" | sed "s/^[0-9]*: \\([^:@]*\\).*/\\1/" | tr "\\n" " "; }',
  ].join('\n');
  return execa('unshare', ['-n', '-m', '--propagation', 'private', 'sh', '-ec', `${prelude}\n${script}`], { reject: false });
}

describe('subhost-netns', () => {
  it('up: veth pairs (plain, fixed MAC, on a bridge) with the peers in the named netns; down: nothing left, twice', async () => {
    const r = await scenario(`
      ip link add obr0 type bridge
      plan /run/t/plan 'netns cab' 'veth cab0 eth0 - -' 'veth cab1 eth1 02:00:00:00:00:42 -' 'veth cab2 eth2 - obr0'
      $B up --run cab /run/t/state /run/t/plan
      echo "state=$(tr '\\n' , </run/t/state)"
      echo "host=$(links)"
      echo "up0=$(ip -o link show cab0 | grep -c ',UP')"
      echo "master2=$(ip -o link show cab2 | grep -o 'master obr0')"
      echo "inner=$(ip -n cab -o link show | grep -v ': lo:' | sed 's/^[0-9]*: \\([^:@]*\\).*/\\1/' | tr '\\n' ' ')"
      echo "mac1=$(ip -n cab -o link show eth1 | grep -o 'ether [0-9a-f:]*')"
      echo "dir=$(awk '$5 == "/run/netns"' /proc/self/mountinfo | grep -c ' shared:')"
      echo "file=$(awk '$5 == "/run/netns/cab"' /proc/self/mountinfo | grep -c ' - nsfs ')"
      $B down cab /run/t/state
      echo "after=$(links)"
      echo "netns=$(ls /run/netns | tr '\\n' ' ')"
      $B down cab /run/t/state
      $B down cab /run/t/no-state
      echo done
    `);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const kv = Object.fromEntries(r.stdout.split('\n').map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]));
    expect(kv.state).toBe('netns cab,link cab0,link cab1,link cab2,');
    expect(kv.host).toBe('obr0 cab0 cab1 cab2 ');
    expect(kv.up0).toBe('1');
    expect(kv.master2).toBe('master obr0');
    expect(kv.inner).toBe('eth0 eth1 eth2 ');
    expect(kv.mac1).toBe('ether 02:00:00:00:00:42');
    // As `ip netns add` leaves it: /run/netns a shared mount, the netns bound on a file in it.
    expect(kv.dir).toBe('1');
    expect(kv.file).toBe('1');
    expect(kv.after).toBe('obr0 ');
    expect(kv.netns).toBe('');
    expect(r.stdout).toMatch(/\ndone$/);
  });

  it('refuses before making anything: the netns name in use, a host interface in use, a missing bridge, an interface that is no bridge', async () => {
    const r = await scenario(`
      ip netns add taken
      plan /run/t/p1 'netns taken' 'veth t0 eth0 - -'
      $B up --run taken /run/t/s1 /run/t/p1 2>&1 || echo "exit=$?"
      ip link add used0 type bridge
      plan /run/t/p2 'netns n2' 'veth used0 eth0 - -'
      $B up --run n2 /run/t/s2 /run/t/p2 2>&1 || echo "exit=$?"
      plan /run/t/p3 'netns n3' 'veth n30 eth0 - -' 'veth n31 eth1 - nobr0'
      $B up --run n3 /run/t/s3 /run/t/p3 2>&1 || echo "exit=$?"
      plan /run/t/p4 'netns n4' 'veth n41 eth0 - lo'
      $B up --run n4 /run/t/s4 /run/t/p4 2>&1 || echo "exit=$?"
      echo "states=$(ls /run/t | grep -c '^s' || true)"
      echo "links=$(links)"
      echo "netns=$(ls /run/netns | tr '\\n' ' ')"
    `);
    expect(r.stdout.split('\n')).toEqual([
      'network namespace taken already exists (not made by this unit): a subhost taken still running under overlay-boot 1.6? stop it with its overlay-stop; else remove it with "ip netns delete taken" if it is stale',
      'exit=1',
      'host interface used0 already exists: another subhost or a leftover uses that name',
      'exit=1',
      'CABLES: bridge nobr0 for n31 does not exist',
      'exit=1',
      'CABLES: lo is not a bridge (the host end n41 can only join a bridge)',
      'exit=1',
      'states=0',
      'links=used0 ',
      'netns=taken ',
    ]);
  });

  it('a step that fails half way: one line naming the cable and the step; down removes what was made', async () => {
    const r = await scenario(`
      plan /run/t/p 'netns vl' 'veth vl0 eth0 - -' 'vlan vl0.12 vl0 12 -'
      if $B up --run vl /run/t/s /run/t/p 2>/run/t/err; then echo made; else echo "exit=$?"; cat /run/t/err; fi
      echo "state=$(tr '\\n' , </run/t/s)"
      $B down vl /run/t/s
      echo "links=$(links)"
      echo "netns=$(ls /run/netns | tr '\\n' ' ')"
    `);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    if (lines[0] === 'made') {
      expect(lines[1]).toBe('state=netns vl,link vl0,link vl0.12,');
    } else {
      expect(lines.slice(0, 3)).toEqual([
        'exit=1',
        'CABLES: cannot create vl0.12: ip link add link vl0 name vl0.12 type vlan id 12: Error: Unknown device type. (this kernel has no 802.1Q VLAN support: CONFIG_VLAN_8021Q)',
        'state=netns vl,link vl0,link vl0.12,',
      ]);
    }
    expect(lines.slice(-2)).toEqual(['links=', 'netns=']);
  });

  it("down reads a state file of the sh version (a bare netns line: the unit's NAME)", async () => {
    const r = await scenario(`
      plan /run/t/p 'netns old' 'veth old0 eth0 - -'
      $B up --run old /run/t/s /run/t/p
      printf 'netns\\nlink old0\\n' >/run/t/s
      $B down old /run/t/s
      echo "links=$(links)"
      echo "netns=$(ls /run/netns | tr '\\n' ' ')"
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['links=', 'netns=']);
  });

  it('down while a process still holds the netns: the host ends are deleted, the name removed', async () => {
    const r = await scenario(`
      plan /run/t/p 'netns held' 'veth held0 eth0 - -'
      $B up --run held /run/t/s /run/t/p
      ip netns exec held sleep 60 & holder=$!
      sleep 0.2
      $B down held /run/t/s
      echo "links=$(links)"
      echo "netns=$(ls /run/netns | tr '\\n' ' ')"
      echo "holder=$(ip netns identify $holder 2>/dev/null || true)"
      kill $holder
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['links=', 'netns=', 'holder=']);
  });

  it("down with an undo journal: the failed start's UPPER entries go (subhost-enter --undo), with none nothing runs", async () => {
    // A journal as a killed start leaves it (native/journal.c: NUL-separated "u UPPER", "c REL").
    const r = await scenario(`
      plan /run/t/p 'netns un' 'veth un0 eth0 - -'
      $B up --run un /run/t/s /run/t/p
      mkdir -p /run/t/upper/keep /run/t/upper/made/deep
      printf 'u\\0/run/t/upper\\0c\\0made\\0c\\0made/deep\\0' >/run/t/undo
      $B down un /run/t/s /run/t/undo
      echo "upper=$(ls /run/t/upper | tr '\\n' ' ')"
      echo "journal=$(ls /run/t | grep -c '^undo$' || true)"
      echo "links=$(links)"
      $B down un /run/t/s /run/t/undo
      echo done
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['upper=keep ', 'journal=0', 'links=', 'done']);
  });
});
