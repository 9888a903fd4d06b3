// Vitest glue: one sandbox per test file, booted in beforeAll and stopped in
// afterAll (even if tests fail). Kept apart from sandbox.ts so the sandbox can
// be used outside vitest (benchmarks, scripts).
import { beforeAll, afterAll } from 'vitest';
import { bootSandbox, type Sandbox, type SandboxOptions } from './sandbox.js';

export interface SandboxHandle {
  /** The current sandbox; throws before beforeAll has booted it. */
  (): Sandbox;
  /** Reboots on the same scratch; later calls of the handle return the new sandbox. */
  reboot(): Promise<Sandbox>;
}

export function useSandbox(opts?: SandboxOptions): SandboxHandle {
  let current: Sandbox | undefined;
  beforeAll(async () => {
    current = await bootSandbox(opts);
  });
  afterAll(async () => {
    await current?.stop();
  });
  const handle = (() => {
    if (!current) throw new Error('sandbox not booted (useSandbox() must be called at file or describe level)');
    return current;
  }) as SandboxHandle;
  handle.reboot = async () => {
    if (!current) throw new Error('sandbox not booted');
    const old = current;
    current = undefined;
    current = await old.reboot();
    return current;
  };
  return handle;
}
