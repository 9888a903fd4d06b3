// CABLES: space-separated `[bridge]=[mac|.vlan]` entries (1.6 format).
//   `=`             a veth: host end NAMEi, subhost end ethi
//   `br0=`          the same, host end attached to bridge br0
//   `=02:00:..`     a veth whose subhost end has that MAC
//   `=.12` `br=.12` a VLAN with tag 12 on the previous cable's host end
//                   (host side only; takes no cable index)
// As in 1.6, the bridge is what comes before the LAST `=` and the MAC or
// VLAN what follows the FIRST `=`; an entry has exactly one `=` when valid.
import { z } from 'zod/v3';

export const IFNAMSIZ_MAX = 15; // kernel IFNAMSIZ (16) less the NUL

export const CableSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('veth'),
    index: z.number().int().nonnegative(),
    hostIf: z.string(),
    peerIf: z.string(),
    mac: z.string().optional(),
    bridge: z.string().optional(),
  }),
  z.object({
    kind: z.literal('vlan'),
    hostIf: z.string(),
    parent: z.string(),
    vlan: z.number().int().min(1).max(4094),
    bridge: z.string().optional(),
  }),
]);
export type Cable = z.infer<typeof CableSchema>;

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
// What the kernel accepts as an interface name (dev_valid_name), less
// characters that ip(8) or ifupdown would choke on.
const IFNAME = /^[A-Za-z0-9_.+@~-]+$/;

export function validIfName(s: string): string | undefined {
  if (s.length === 0) return 'is empty';
  if (s.length > IFNAMSIZ_MAX) return `"${s}" is longer than ${IFNAMSIZ_MAX} characters (kernel limit for interface names)`;
  if (s === '.' || s === '..' || !IFNAME.test(s)) return `"${s}" is not a valid interface name`;
  return undefined;
}

/** Parse CABLES for subhost NAME; throws Error(message) on the first bad entry. */
export function parseCables(spec: string, name: string): Cable[] {
  const cables: Cable[] = [];
  let index = 0;
  for (const entry of spec.split(/\s+/).filter(Boolean)) {
    const eq = entry.indexOf('=');
    if (eq < 0 || entry.indexOf('=', eq + 1) >= 0) {
      throw new Error(`entry "${entry}" is not of the form [bridge]=[mac|.vlan]`);
    }
    const bridge = entry.slice(0, eq) || undefined;
    const tail = entry.slice(eq + 1);
    if (bridge !== undefined) {
      const bad = validIfName(bridge);
      if (bad) throw new Error(`entry "${entry}": bridge ${bad}`);
    }
    if (tail.startsWith('.')) {
      const tag = tail.slice(1);
      if (!/^[0-9]+$/.test(tag) || +tag < 1 || +tag > 4094) {
        throw new Error(`entry "${entry}": VLAN tag must be a number from 1 to 4094`);
      }
      if (index === 0) throw new Error(`entry "${entry}": a VLAN needs a cable before it`);
      const parent = `${name}${index - 1}`;
      cables.push({ kind: 'vlan', hostIf: `${parent}.${+tag}`, parent, vlan: +tag, bridge });
      continue;
    }
    if (tail && !MAC.test(tail)) {
      throw new Error(`entry "${entry}": "${tail}" is neither a MAC address (xx:xx:xx:xx:xx:xx) nor .VLAN`);
    }
    if (tail && (parseInt(tail.slice(0, 2), 16) & 1) === 1) {
      throw new Error(`entry "${entry}": ${tail} is a multicast MAC address`);
    }
    cables.push({
      kind: 'veth',
      index,
      hostIf: `${name}${index}`,
      peerIf: `eth${index}`,
      mac: tail ? tail.toLowerCase() : undefined,
      bridge,
    });
    index++;
  }
  for (const c of cables) {
    const bad = validIfName(c.hostIf);
    // NAME is the prefix: say how long it may be with these cables.
    if (bad)
      throw new Error(`host-side interface ${bad}; use a NAME of at most ${IFNAMSIZ_MAX - (c.hostIf.length - name.length)} characters`);
  }
  return cables;
}
