// Small fixtures for config tests: a fresh directory per test (mkdtemp,
// never a fixed /tmp name) holding a subhost dir and its .conf.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { tmpdir } from 'node:os';

export interface Fixture {
  dir: string;
  /** Write NAME.conf (default: sub.conf) in the fixture dir, return its path. */
  conf(text: string, name?: string, mode?: number): string;
  mkdirs(...rel: string[]): void;
  cleanup(): void;
}

export function fixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'ob-unit-'));
  chmodSync(dir, 0o755);
  return {
    dir,
    conf(text, name = 'sub.conf', mode = 0o644) {
      const p = join(dir, name);
      writeFileSync(p, text, { mode });
      chmodSync(p, mode);
      return p;
    },
    mkdirs(...rel) {
      for (const r of rel) mkdirSync(join(dir, r), { recursive: true });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A test that needs root: it makes files owned by another user (chown),
 * which a normal user cannot. Skipped, and shown as skipped, otherwise.
 */
export const itAsRoot = it.skipIf(process.geteuid?.() !== 0);
