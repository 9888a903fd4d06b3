// The one module that talks to systemd over the system bus (dbus-next's
// public API only), used by the commands and by the tests (which point it
// at a sandbox systemd): the names of its objects and interfaces, method
// calls, property reads (one, or many at once for `list`), and the one
// job API (a StartUnit, StopUnit... and the wait for its JobRemoved).
//
// Low-level bus.call() instead of getProxyObject(): no introspection round trip
// per object, and full control over match rules. dbus-next never sends
// RemoveMatch when a listener is removed, so exactly one JobRemoved match and
// one listener are installed per connection; waiters are dispatched by job path.
import dbus, { type MessageBus, type Message } from 'dbus-next';

export type Variant = InstanceType<typeof dbus.Variant>;

export const SYSTEMD = 'org.freedesktop.systemd1';
export const MANAGER_PATH = '/org/freedesktop/systemd1';
export const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager';
export const UNIT_IFACE = 'org.freedesktop.systemd1.Unit';
export const SERVICE_IFACE = 'org.freedesktop.systemd1.Service';
const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
/** Header flag: do not start the destination service just for this call (a D-Bus activatable one, e.g. machined). */
export const NO_AUTO_START = 0x2;
/** Lets polkit ask the user (through an agent, if one runs) instead of refusing outright. */
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
/**
 * At most this many property reads wait for replies at once (getProperties):
 * dbus-daemon refuses more than 128 pending replies per connection (its
 * default limit), and a caller may have a few other calls out meanwhile.
 */
export const IN_FLIGHT = 64;

export interface PropRequest {
  path: string;
  iface: string;
  name: string;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
export const DEFAULT_JOB_TIMEOUT_MS = 60_000;

/** Job results as in JobRemoved (systemd 252). */
export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped' | string;

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Connects to `busAddress` and resolves once the Hello round trip is done.
 * An 'error' listener stays installed: an EventEmitter 'error' without one
 * would crash the test process when the sandbox powers off under the bus.
 */
export async function connectBus(busAddress: string, timeoutMs = 10_000): Promise<MessageBus> {
  const bus = dbus.sessionBus({ busAddress });
  const errors: unknown[] = [];
  bus.on('error', (err) => errors.push(err));
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        bus.once('connect', () => resolve());
        bus.once('error', (err) => reject(err instanceof Error ? err : new Error(String(err))));
      }),
      timeoutMs,
      `connecting to ${busAddress}`,
    );
  } catch (err) {
    bus.disconnect();
    throw err;
  }
  return bus;
}

/** Reads a value out of a Variant, recursively for nested variants. */
export function unwrap(v: unknown): unknown {
  return v instanceof dbus.Variant ? unwrap(v.value) : v;
}

export class SystemdManager {
  /** Results of jobs nobody waited for yet (a JobRemoved can beat the StartUnit reply's continuation). */
  private readonly finished = new Map<string, JobResult>();
  // Several callers may wait for one job: systemd merges a second start of
  // a unit into the job already queued and returns its path again.
  private readonly waiters = new Map<string, { resolve: (r: JobResult) => void; reject: (e: Error) => void }[]>();
  private static readonly FINISHED_CAP = 1024;
  /** Unit object paths already asked for: a unit's path never changes (it is its escaped name). */
  private readonly paths = new Map<string, Promise<string>>();
  /** False when made without the JobRemoved subscription: waitJob would never see a result. */
  private jobs = true;

  private constructor(readonly bus: MessageBus) {}

  /**
   * Installs the single JobRemoved match/listener and subscribes to
   * signals; with `jobs: false` neither (two round trips less, and systemd
   * sends this client no signals): for callers that only read properties.
   */
  static async create(bus: MessageBus, opts: { jobs?: boolean } = {}): Promise<SystemdManager> {
    const m = new SystemdManager(bus);
    if (opts.jobs === false) {
      m.jobs = false;
      return m;
    }
    bus.on('message', (msg: Message) => m.onMessage(msg));
    await m.call(
      '/org/freedesktop/DBus',
      'org.freedesktop.DBus',
      'AddMatch',
      's',
      [`type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER_IFACE}',member='JobRemoved'`],
      'org.freedesktop.DBus',
    );
    // systemd emits JobRemoved only to subscribed clients.
    await m.callManager('Subscribe');
    return m;
  }

  private onMessage(msg: Message): void {
    if (msg.interface !== MANAGER_IFACE || msg.member !== 'JobRemoved' || msg.path !== MANAGER_PATH) return;
    const [, job, , result] = msg.body as [number, string, string, string];
    const waiting = this.waiters.get(job);
    if (waiting) {
      this.waiters.delete(job);
      for (const w of waiting) w.resolve(result);
      return;
    }
    this.finished.set(job, result);
    if (this.finished.size > SystemdManager.FINISHED_CAP) {
      this.finished.delete(this.finished.keys().next().value!);
    }
  }

  /** Fails pending job waits and closes the connection. */
  close(): void {
    for (const [job, ws] of this.waiters) for (const w of ws) w.reject(new Error(`bus closed while waiting for ${job}`));
    this.waiters.clear();
    this.bus.disconnect();
  }

  /**
   * One method call; returns the reply body. `flags`: D-Bus header flags
   * (dbus.MessageFlag, or ALLOW_INTERACTIVE_AUTHORIZATION through job()).
   */
  async call(
    path: string,
    iface: string,
    member: string,
    signature = '',
    body: unknown[] = [],
    destination = SYSTEMD,
    timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
    flags = 0,
  ): Promise<unknown[]> {
    const msg = new dbus.Message({ destination, path, interface: iface, member, signature, body, flags });
    const reply = await withTimeout(this.bus.call(msg), timeoutMs, `${iface}.${member} on ${path}`);
    return reply?.body ?? [];
  }

  callManager(member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    return this.call(MANAGER_PATH, MANAGER_IFACE, member, signature, body);
  }

  async getProperty(path: string, iface: string, name: string): Promise<unknown> {
    const [v] = await this.call(path, PROPS_IFACE, 'Get', 'ss', [iface, name]);
    return unwrap(v);
  }

  /** All properties of one interface of an object, in one round trip. 64-bit ints are BigInt. */
  async getAll(path: string, iface: string): Promise<Record<string, unknown>> {
    const [dict] = await this.call(path, PROPS_IFACE, 'GetAll', 's', [iface]);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries((dict ?? {}) as Record<string, unknown>)) out[k] = unwrap(v);
    return out;
  }

  /**
   * Properties.Get of each request, at most IN_FLIGHT at once, in order: the
   * value (unwrapped), or an Error in place of a value the call failed for
   * (e.g. a unit unloaded meanwhile). One deadline for all (a busy systemd
   * answers thousands in a second or two): a bus that stops answering is an
   * error, not a command that hangs.
   */
  getProperties(requests: PropRequest[], timeoutMs = DEFAULT_JOB_TIMEOUT_MS): Promise<unknown[]> {
    const out: unknown[] = new Array(requests.length);
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const i = next++;
        const r = requests[i]!;
        const msg = new dbus.Message({
          destination: SYSTEMD,
          path: r.path,
          interface: PROPS_IFACE,
          member: 'Get',
          signature: 'ss',
          body: [r.iface, r.name],
        });
        out[i] = await this.bus.call(msg).then(
          (reply) => unwrap(reply?.body?.[0]),
          (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
        );
      }
    };
    const all = Promise.all(Array.from({ length: Math.min(IN_FLIGHT, requests.length) }, worker)).then(() => out);
    return withTimeout(all, timeoutMs, `${requests.length} property reads from ${SYSTEMD}`);
  }

  /** A property of org.freedesktop.systemd1.Manager (e.g. Version, SystemState). 64-bit ints are BigInt. */
  managerProperty(name: string): Promise<unknown> {
    return this.getProperty(MANAGER_PATH, MANAGER_IFACE, name);
  }

  /** Object path of a unit, loading it if needed (LoadUnit, unlike GetUnit, works for inactive units). */
  unitPath(unit: string): Promise<string> {
    let p = this.paths.get(unit);
    if (!p) {
      p = this.callManager('LoadUnit', 's', [unit]).then(([path]) => path as string);
      // A failed LoadUnit (no such unit name, a denial) is asked again next time.
      p.catch(() => this.paths.delete(unit));
      this.paths.set(unit, p);
    }
    return p;
  }

  /** e.g. unitProperty('x.service', 'org.freedesktop.systemd1.Service', 'Result'). */
  async unitProperty(unit: string, iface: string, name: string): Promise<unknown> {
    return this.getProperty(await this.unitPath(unit), iface, name);
  }

  /** Waits for the JobRemoved of `job` and returns its result. */
  waitJob(job: string, timeoutMs = DEFAULT_JOB_TIMEOUT_MS): Promise<JobResult> {
    if (!this.jobs) return Promise.reject(new Error(`cannot wait for ${job}: connected without job signals`));
    // Kept, not consumed: another caller may wait for the same (merged)
    // job; job paths are never reused, and the map is capped.
    const done = this.finished.get(job);
    if (done !== undefined) return Promise.resolve(done);
    let me: { resolve: (r: JobResult) => void; reject: (e: Error) => void } | undefined;
    return withTimeout(
      new Promise<JobResult>((resolve, reject) => {
        me = { resolve, reject };
        this.waiters.set(job, [...(this.waiters.get(job) ?? []), me]);
      }),
      timeoutMs,
      `job ${job}`,
    ).finally(() => {
      const left = (this.waiters.get(job) ?? []).filter((w) => w !== me);
      if (left.length) this.waiters.set(job, left);
      else this.waiters.delete(job);
    });
  }

  /**
   * The one job API: queues a job (StartUnit, StopUnit, RestartUnit on
   * `unit` with `mode`) and waits for its JobRemoved; resolves to the
   * result. `interactive`: polkit may ask the user for a password (the
   * call then waits up to 120 s for its reply).
   */
  async unitJob(
    member: 'StartUnit' | 'StopUnit' | 'RestartUnit',
    unit: string,
    opts: { mode?: string; timeoutMs?: number; interactive?: boolean } = {},
  ): Promise<JobResult> {
    return this.job(member, 'ss', [unit, opts.mode ?? 'replace'], opts);
  }

  /**
   * StartTransientUnit and wait for its job. `props` are (name, Variant) pairs
   * (signature a(sv)), e.g. ['ExecStart', new dbus.Variant('a(sasb)', [[path, argv, false]])].
   * Pass ['AddRef', new Variant('b', true)] to keep the unit loaded after it
   * ends until this connection closes, so its Result can still be read.
   */
  startTransientUnit(unit: string, props: Array<[string, Variant]>, mode = 'fail', timeoutMs?: number): Promise<JobResult> {
    return this.job('StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, mode, props, []], { timeoutMs });
  }

  private async job(
    member: string,
    signature: string,
    body: unknown[],
    opts: { timeoutMs?: number; interactive?: boolean },
  ): Promise<JobResult> {
    const [job] = opts.interactive
      ? await this.call(MANAGER_PATH, MANAGER_IFACE, member, signature, body, SYSTEMD, 120_000, ALLOW_INTERACTIVE_AUTHORIZATION)
      : await this.callManager(member, signature, body);
    return this.waitJob(job as string, opts.timeoutMs);
  }

  /** daemon-reload; systemd replies once the reload is complete. */
  async daemonReload(): Promise<void> {
    await this.call(MANAGER_PATH, MANAGER_IFACE, 'Reload', '', [], SYSTEMD, 120_000);
  }
}

/** Shorthand for dbus.Variant, so callers need not import dbus-next themselves. */
export function variant(signature: string, value: unknown): Variant {
  return new dbus.Variant(signature, value);
}

/**
 * The system bus: $DBUS_SYSTEM_BUS_ADDRESS or the standard socket. (dbus-next's
 * systemBus() takes no address option; sessionBus({busAddress}) does.)
 */
export async function systemd(opts: { jobs?: boolean } = {}): Promise<SystemdManager> {
  return SystemdManager.create(await connectBus(systemBusAddress()), opts);
}

export function systemBusAddress(): string {
  return process.env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/run/dbus/system_bus_socket';
}
