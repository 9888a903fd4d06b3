// Many org.freedesktop.DBus.Properties.Get calls at once, for `overlay-boot
// list` at hundreds of subhosts. Measured (200 units, 7 properties each):
// dbus-next's generic marshaller and one socket write per message cost
// about 2/3 of its client time; a Get call is always the same shape, so
// its bytes are laid out here directly, written in batches, and the
// replies go through dbus-next's parser and reply dispatch as any call's.
// At most IN_FLIGHT calls wait for replies at once: dbus-daemon refuses
// more than max_replies_per_connection (128 by default) per connection,
// and a caller may have a few other calls out meanwhile.
import dbus, { type MessageBus } from 'dbus-next';
import { withTimeout } from './systemd.js';

const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
export const IN_FLIGHT = 64;
const CALLS_TIMEOUT_MS = 60_000;

export interface PropRequest {
  path: string;
  iface: string;
  name: string;
}

/** A method call whose arguments are all strings (Get, LoadUnit...). */
export interface StringCall {
  path: string;
  iface: string;
  member: string;
  args: string[];
}

/** A little-endian D-Bus message writer (only what a method call with string arguments needs). */
class Writer {
  private buf: Buffer;
  len = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
  byte(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.align(4);
    this.room(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
  }
  /** s or o: length, bytes, NUL. */
  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.room(n + 1);
    this.buf.write(s, this.len);
    this.buf[this.len + n] = 0;
    this.len += n + 1;
  }
  /** g: one-byte length, bytes, NUL. */
  signature(s: string): void {
    this.byte(s.length);
    this.room(s.length + 1);
    this.buf.write(s, this.len, 'latin1');
    this.buf[this.len + s.length] = 0;
    this.len += s.length + 1;
  }
  setU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * The wire bytes of a METHOD_CALL whose arguments are all strings
 * (signature s...), laid out as the D-Bus specification says (and
 * byte for byte as dbus-next's own marshaller does: a unit test compares).
 */
export function methodCallBytes(serial: number, destination: string, path: string, iface: string, member: string, args: string[]): Buffer {
  // Header and body in one buffer, sized from above (every string with its
  // length, NUL and worst padding): no copy, no growing.
  let size = 16 + 5 * 16 + args.length + 8;
  for (const x of [destination, path, iface, member, ...args]) size += Buffer.byteLength(x) + 8;
  const w = new Writer(size);
  w.byte(0x6c); // 'l': little endian
  w.byte(1); // METHOD_CALL
  w.byte(0); // flags
  w.byte(1); // protocol version
  w.u32(0); // body length, set below
  w.u32(serial);
  w.u32(0); // header fields' length, set below
  const start = w.len;
  // Header fields a(yv), in the order of their codes.
  const field = (code: number, sig: string, put: () => void) => {
    w.align(8);
    w.byte(code);
    w.signature(sig);
    put();
  };
  field(1, 'o', () => w.string(path));
  field(2, 's', () => w.string(iface));
  field(3, 's', () => w.string(member));
  field(6, 's', () => w.string(destination));
  if (args.length) field(8, 'g', () => w.signature('s'.repeat(args.length)));
  w.setU32(12, w.len - start);
  // The body starts 8-aligned: its own alignment is the buffer's.
  w.align(8);
  const body = w.len;
  for (const a of args) w.string(a);
  w.setU32(4, w.len - body);
  return w.bytes();
}

// The parts of dbus-next 0.10 this relies on (package.json's ^0.10.2 stays
// within 0.10; the lock file pins it): its serial counter, its table of
// reply handlers and its socket. Without them, callMany falls back to
// dbus-next's own calls (the same results, slower).
interface BusInternals {
  newSerial(): number;
  _methodReturnHandlers: Record<number, (reply: { type: number; body?: unknown[]; errorName?: string }) => void>;
  _connection: { state?: string; stream: { writable: boolean; write(b: Buffer): boolean } };
}

function internals(bus: MessageBus): BusInternals | undefined {
  const b = bus as unknown as Partial<BusInternals>;
  const ok =
    typeof b.newSerial === 'function' &&
    typeof b._methodReturnHandlers === 'object' &&
    b._connection?.state === 'connected' &&
    typeof b._connection.stream?.write === 'function';
  return ok ? (b as BusInternals) : undefined;
}

function unwrap(v: unknown): unknown {
  return v instanceof dbus.Variant ? unwrap(v.value) : v;
}

const ERROR = 3;

/** Properties.Get of each request (callMany). */
export function getProperties(bus: MessageBus, requests: PropRequest[], destination: string): Promise<unknown[]> {
  return callMany(
    bus,
    requests.map((r) => ({ path: r.path, iface: PROPS_IFACE, member: 'Get', args: [r.iface, r.name] })),
    destination,
  );
}

/**
 * The first value of each call's reply (variants unwrapped), in order; an
 * Error in place of a value the call failed for (e.g. a unit unloaded
 * meanwhile). 64-bit integers are BigInt, as with dbus-next.
 */
export function callMany(bus: MessageBus, calls: StringCall[], destination: string, timeoutMs = CALLS_TIMEOUT_MS): Promise<unknown[]> {
  // One deadline for all (a busy systemd answers thousands of calls in a
  // second or two): a bus or service that stops answering is an error,
  // not a command that hangs.
  return withTimeout(pipelined(bus, calls, destination), timeoutMs, `${calls.length} D-Bus calls to ${destination}`);
}

async function pipelined(bus: MessageBus, calls: StringCall[], destination: string): Promise<unknown[]> {
  const out: unknown[] = new Array(calls.length);
  const b = internals(bus);
  if (!b) {
    // Some other dbus-next: the same calls through its API.
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const i = next++;
        const c = calls[i]!;
        const msg = new dbus.Message({
          destination,
          path: c.path,
          interface: c.iface,
          member: c.member,
          signature: 's'.repeat(c.args.length),
          body: c.args,
        });
        out[i] = await bus.call(msg).then(
          (reply) => unwrap(reply?.body?.[0]),
          (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, calls.length) }, worker));
    return out;
  }
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let pending: Buffer[] = [];
    let flushing = false;
    // One socket write for all the calls queued in the same tick.
    const flush = () => {
      flushing = false;
      const bufs = pending;
      pending = [];
      if (!b._connection.stream.writable) return reject(new Error('D-Bus connection closed'));
      b._connection.stream.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
    };
    const send = () => {
      const i = next++;
      const c = calls[i]!;
      const serial = b.newSerial();
      b._methodReturnHandlers[serial] = (reply) => {
        out[i] = reply.type === ERROR ? new Error(`${reply.errorName}: ${String(reply.body?.[0] ?? '')}`) : unwrap(reply.body?.[0]);
        if (++done === calls.length) return resolve(out);
        if (next < calls.length) send();
      };
      pending.push(methodCallBytes(serial, destination, c.path, c.iface, c.member, c.args));
      if (!flushing) {
        flushing = true;
        queueMicrotask(flush);
      }
    };
    if (calls.length === 0) return resolve(out);
    while (next < calls.length && next < IN_FLIGHT) send();
  });
}
