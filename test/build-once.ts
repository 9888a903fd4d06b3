// vitest globalSetup: the built tree (dist/: the bundles and the native
// helpers) that the CLI, generator and native tests run, made when it is
// missing or older than its sources. So a fresh clone after `npm ci` runs
// `npx vitest run test/unit` as any user, with no separate build step;
// after scripts/setup.sh (or a build) this only compares times.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;

/** Newest modification time under the given dirs (files whose name passes `keep`). */
function newest(dirs: string[], keep: (name: string) => boolean): number {
  let t = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (keep(e.name)) t = Math.max(t, statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return t;
}

export default function setup(): void {
  const run = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(
        `test setup: ${cmd} ${args.join(' ')} failed (scripts/setup.sh installs what it needs): ${err.stderr?.toString().trim() || err.message}`,
      );
    }
  };
  // make knows what is stale in native/.
  run('make', ['-s', '-C', 'native']);
  const bundle = join(ROOT, 'dist', 'overlay-boot.cjs');
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  const sources = Math.max(
    newest(['cli', 'lib', 'generator', 'runtime'], (n) => n.endsWith('.ts') || !n.includes('.')),
    newest(['native/build'], () => true),
    statSync(join(ROOT, 'scripts', 'build.mjs')).mtimeMs,
  );
  if (sources > built) run(process.execPath, ['scripts/build.mjs']);
}
