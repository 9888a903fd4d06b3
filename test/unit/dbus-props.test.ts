// The hand-laid Properties.Get calls of lib/dbus-props.ts are the bytes
// dbus-next's own marshaller makes for the same message.
import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { methodCallBytes } from '../../lib/dbus-props.js';

const require = createRequire(import.meta.url);
const { marshall } = require('dbus-next/lib/message.js') as {
  marshall: (m: Record<string, unknown>) => [Buffer, number[]];
};

describe('methodCallBytes', () => {
  const cases: [number, string, string, string, string, string[]][] = [
    [
      7,
      'org.freedesktop.systemd1',
      '/org/freedesktop/systemd1/unit/subhost_40cl000_2eservice',
      'org.freedesktop.DBus.Properties',
      'Get',
      ['org.freedesktop.systemd1.Service', 'MainPID'],
    ],
    [
      123456,
      'org.freedesktop.systemd1',
      '/org/freedesktop/systemd1/unit/a',
      'org.freedesktop.DBus.Properties',
      'Get',
      ['org.freedesktop.systemd1.Unit', 'ActiveEnterTimestamp'],
    ],
    [9, 'x.y', '/', 'a.b', 'M', []],
    [10, 'x.y', '/p/q', 'a.b', 'Three', ['', 'é', 'abc']],
  ];
  for (const [serial, destination, path, iface, member, args] of cases) {
    it(`${member}(${args.join(', ')}) on ${path}`, () => {
      const ours = methodCallBytes(serial, destination, path, iface, member, args);
      const msg: Record<string, unknown> = { serial, type: 1, destination, path, interface: iface, member };
      if (args.length) Object.assign(msg, { signature: 's'.repeat(args.length), body: args });
      const [theirs] = marshall(msg);
      expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    });
  }
});
