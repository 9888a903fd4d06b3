// Bundle every installed entry point into one CommonJS file under dist/,
// so that each command starts by reading a single file (no module
// resolution across node_modules at run time: that is what makes Node
// start-up slow). The C parts are built by reaper/Makefile.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

const entries = {
  'overlay-boot': 'cli/overlay-boot.ts',
};
for (const f of readdirSync('cli')) {
  const m = /^(overlay-[a-z-]+)\.ts$/.exec(f);
  if (m) entries[m[1]] = `cli/${f}`;
}
for (const [dir, name] of [['runtime', 'runtime'], ['generator', 'generator']]) {
  try {
    if (readdirSync(dir).includes('main.ts')) entries[`overlay-boot-${name}`] = `${dir}/main.ts`;
  } catch { /* not there yet */ }
}

await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node18.19',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/node' },
  logLevel: 'warning',
});
