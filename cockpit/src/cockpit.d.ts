// The part of Cockpit's JavaScript API (base1/cockpit.js, a global) this
// page uses, as documented in Cockpit's developer guide.

interface CockpitProcess extends Promise<string> {
  stream(cb: (data: string) => void): CockpitProcess;
  input(data?: string, stream?: boolean): CockpitProcess;
  close(problem?: string): void;
}

interface CockpitSpawnError {
  problem: string | null;
  exit_status: number | null;
  exit_signal: string | null;
  message: string;
}

interface CockpitSpawnOptions {
  superuser?: 'require' | 'try';
  err?: 'out' | 'message' | 'ignore';
  environ?: string[];
  pty?: boolean;
  directory?: string;
}

interface CockpitDBusClient {
  call(path: string, iface: string, method: string, args: unknown[], options?: { type?: string }): Promise<unknown[]>;
  subscribe(
    match: { path?: string; path_namespace?: string; interface?: string; member?: string },
    cb: (path: string, iface: string, signal: string, args: unknown[]) => void,
  ): { remove(): void };
  close(problem?: string): void;
  addEventListener(ev: 'close', cb: (ev: unknown, options: { problem?: string }) => void): void;
}

interface CockpitChannel {
  send(data: string): void;
  control(options: Record<string, unknown>): void;
  close(problem?: string): void;
  addEventListener(ev: 'message', cb: (ev: unknown, data: string) => void): void;
  addEventListener(ev: 'close', cb: (ev: unknown, options: { problem?: string; message?: string }) => void): void;
}

interface CockpitPermission {
  allowed: boolean | null;
  addEventListener(ev: 'changed', cb: () => void): void;
}

interface CockpitLocation {
  path: string[];
  options: Record<string, string>;
  go(path: string[] | string, options?: Record<string, string>): void;
}

interface Cockpit {
  spawn(args: string[], options?: CockpitSpawnOptions): CockpitProcess;
  dbus(name: string, options?: { superuser?: 'require' | 'try'; bus?: string }): CockpitDBusClient;
  channel(options: Record<string, unknown>): CockpitChannel;
  permission(options: { admin: boolean }): CockpitPermission;
  location: CockpitLocation;
  jump(path: string, host?: string): void;
  addEventListener(ev: 'locationchanged' | 'visibilitychange', cb: () => void): void;
  transport: { host: string };
  info: { version: string };
}

declare const cockpit: Cockpit;
