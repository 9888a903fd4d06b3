// What the page knows about the subhosts, and how it stays current:
// - `overlay-boot list --json` (every subhost: loaded units,
//   /etc/subhosts.conf, the /run registry), one `overlay-boot check --json`
//   for all their configs (LOWER, UPPER, cables, containment) and one `du`
//   for the UPPER sizes: read again only when systemd signals a change;
// - systemd's D-Bus signals (after Manager.Subscribe): PropertiesChanged of
//   a subhost@ unit updates its state at once and reads the rest again;
//   UnitNew/UnitRemoved and Reloading (a daemon-reload: enable, disable)
//   read the list again;
// - the accounting counters (memory, CPU, tasks), which systemd sends no
//   signal for: read over D-Bus every ACCOUNTING_MS for the running ones.

export const OVERLAY_BOOT = '/usr/sbin/overlay-boot';
export const OVERLAY_GO = '/usr/sbin/overlay-go';
/** The boot list: a subhost whose config was found through it starts at boot. */
const SUBHOSTS_CONF = '/etc/subhosts.conf';
const ACCOUNTING_MS = 10_000;
const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UNIT_PREFIX = '/org/freedesktop/systemd1/unit/';

export interface Address {
  ifname: string;
  family: string;
  address: string;
}

/** One record of `overlay-boot list --json` (cli/commands/status.ts FIELDS). */
export interface Status {
  name: string;
  unit: string;
  load: string;
  state: string;
  subState: string;
  result: string;
  since: string | null;
  mainPid: number | null;
  tasks: number | string | null;
  memory: number | string | null;
  cpuNsec: number | string | null;
  config: string | null;
  configFrom: string | null;
  addresses: Address[];
}

export interface Cable {
  kind: string;
  hostIf?: string;
  peerIf?: string;
  bridge?: string;
  mac?: string;
  vlan?: number;
}

/** The part of `overlay-boot check --json` the page shows. */
export interface Checked {
  file: string;
  valid: boolean;
  config: { BASE: string; LOWER: string; UPPER: string; CONTAINMENT: string; CABLES: Cable[]; START: string[]; RAM_SIZE: string } | null;
  problems: string[];
}

export interface Subhost extends Status {
  checked?: Checked;
  /** Bytes in UPPER (du), null when unknown. */
  upperBytes?: number | null;
}

export const enabledAtBoot = (s: Status): boolean => s.configFrom?.startsWith(SUBHOSTS_CONF) ?? false;
export const isRunning = (s: Status): boolean => ['active', 'reloading', 'deactivating'].includes(s.state);

/** systemd's object path of a unit (sd_bus_path_encode: each byte but [A-Za-z0-9] as _XX). */
export function unitPath(unit: string): string {
  return (
    UNIT_PREFIX +
    [...new TextEncoder().encode(unit)]
      .map((b) => (/[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`))
      .join('')
  );
}

/** The subhost NAME of a unit path, if it is subhost@NAME.service. */
function nameOfPath(path: string): string | undefined {
  if (!path.startsWith(UNIT_PREFIX)) return undefined;
  const unit = path.slice(UNIT_PREFIX.length).replace(/_([0-9a-f]{2})/g, (_m, x: string) => String.fromCharCode(Number.parseInt(x, 16)));
  const m = /^subhost@(.+)\.service$/.exec(unit);
  return m?.[1];
}

/**
 * A command's standard output, also when it exits non-zero (check and du
 * say what they can and exit 1 for the rest): cockpit hands the output to
 * the failure callback then.
 */
export function outputOf(argv: string[], superuser: 'try' | 'require' = 'try'): Promise<string> {
  return new Promise((resolve) => {
    cockpit
      .spawn(argv, { superuser, err: 'message' })
      .then(resolve, ((_ex: unknown, data: string | undefined) => resolve(data ?? '')) as (e: unknown) => void);
  });
}

/** Concatenated pretty-printed JSON objects (check --json of several files): split at each top-level "{". */
export function splitObjects(text: string): unknown[] {
  return text
    .split(/\n(?=\{)/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => JSON.parse(t));
}

type Variant = { t: string; v: unknown };

export class Model {
  subhosts = new Map<string, Subhost>();
  /** The last failure of reading the list (shown instead of the table). */
  error: string | null = null;
  loaded = false;
  private listeners = new Set<() => void>();
  private client: CockpitDBusClient | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private reading: Promise<void> | null = null;
  private again = false;

  onChange(cb: () => void): void {
    this.listeners.add(cb);
  }
  private changed(): void {
    for (const cb of this.listeners) cb();
  }

  start(): void {
    const client = cockpit.dbus(SYSTEMD, { superuser: 'try' });
    this.client = client;
    client.subscribe(
      { interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', path_namespace: UNIT_PREFIX.slice(0, -1) },
      (path, _i, _s, args) => {
        const name = nameOfPath(path);
        if (!name || args[0] !== 'org.freedesktop.systemd1.Unit') return;
        const props = args[1] as Record<string, Variant>;
        const s = this.subhosts.get(name);
        if (s && props.ActiveState) {
          s.state = String(props.ActiveState.v);
          if (props.SubState) s.subState = String(props.SubState.v);
          this.changed();
        }
        this.schedule();
      },
    );
    client.subscribe({ interface: MANAGER, path: MANAGER_PATH }, (_p, _i, signal, args) => {
      if (signal === 'UnitNew' || signal === 'UnitRemoved') {
        if (/^subhost@/.test(String(args[0]))) this.schedule();
      } else if (signal === 'Reloading' && args[0] === false) this.schedule();
    });
    // Signals flow only to subscribed clients; the states come first from one call.
    client.call(MANAGER_PATH, MANAGER, 'Subscribe', []).catch(() => {});
    client
      .call(MANAGER_PATH, MANAGER, 'ListUnitsByPatterns', [[], ['subhost@*.service']])
      .then(([units]) => {
        if (this.loaded) return;
        for (const u of units as unknown[][]) {
          const name = /^subhost@(.+)\.service$/.exec(String(u[0]))?.[1];
          if (name) this.subhosts.set(name, { ...emptyStatus(name), load: String(u[2]), state: String(u[3]), subState: String(u[4]) });
        }
        this.changed();
      })
      .catch(() => {});
    void this.refresh();
    setInterval(() => {
      if (!document.hidden) void this.readAccounting();
    }, ACCOUNTING_MS);
  }

  /** Read everything again soon (signals come in bursts: one read for a burst). */
  schedule(ms = 250): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, ms);
  }

  /** Read the list, the configs and the UPPER sizes; one read at a time, one more if asked meanwhile. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.read().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    let list: Status[];
    try {
      list = JSON.parse(await cockpit.spawn([OVERLAY_BOOT, 'list', '--json'], { superuser: 'try', err: 'message' })) as Status[];
    } catch (e) {
      this.error = (e as { message?: string }).message ?? String(e);
      this.loaded = true;
      this.changed();
      return;
    }
    this.error = null;
    const old = this.subhosts;
    const next = new Map<string, Subhost>();
    for (const s of list) next.set(s.name, { ...s, checked: old.get(s.name)?.checked, upperBytes: old.get(s.name)?.upperBytes });
    this.subhosts = next;
    this.loaded = true;
    this.changed();

    const confs = list.map((s) => s.config).filter((c): c is string => !!c);
    if (!confs.length) return;
    const checks = splitObjects(await outputOf([OVERLAY_BOOT, 'check', '--json', ...confs])) as Checked[];
    const byFile = new Map(checks.map((c) => [c.file, c]));
    for (const s of this.subhosts.values()) if (s.config) s.checked = byFile.get(s.config);
    this.changed();
    const uppers = [...this.subhosts.values()].map((s) => s.checked?.config?.UPPER).filter((u): u is string => !!u);
    if (!uppers.length) return;
    const sizes = new Map<string, number>();
    for (const line of (await outputOf(['du', '-s', '-x', '--block-size=1', '--', ...uppers])).split('\n')) {
      const m = /^(\d+)\t(.*)$/.exec(line);
      if (m) sizes.set(m[2]!, Number(m[1]));
    }
    for (const s of this.subhosts.values()) {
      const u = s.checked?.config?.UPPER;
      if (u) s.upperBytes = sizes.get(u) ?? null;
    }
    this.changed();
  }

  /** Memory, CPU time and tasks of the running ones (no change signals for these). */
  private async readAccounting(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const get = async (unit: string, prop: string): Promise<number | null> => {
      const [v] = await client.call(unitPath(unit), 'org.freedesktop.DBus.Properties', 'Get', ['org.freedesktop.systemd1.Service', prop]);
      const n = Number((v as Variant).v);
      // 2^64-1: unknown (no accounting)
      return Number.isFinite(n) && n < 2 ** 63 ? n : null;
    };
    const running = [...this.subhosts.values()].filter(isRunning);
    await Promise.all(
      running.map(async (s) => {
        try {
          [s.memory, s.cpuNsec, s.tasks] = await Promise.all([
            get(s.unit, 'MemoryCurrent'),
            get(s.unit, 'CPUUsageNSec'),
            get(s.unit, 'TasksCurrent'),
          ]);
        } catch {
          /* gone meanwhile: the next signal reads the list again */
        }
      }),
    );
    if (running.length) this.changed();
  }
}

function emptyStatus(name: string): Status {
  return {
    name,
    unit: `subhost@${name}.service`,
    load: '',
    state: 'unknown',
    subState: '',
    result: '',
    since: null,
    mainPid: null,
    tasks: null,
    memory: null,
    cpuNsec: null,
    config: null,
    configFrom: null,
    addresses: [],
  };
}
