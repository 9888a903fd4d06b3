// Bundle every installed entry point into one CommonJS file under dist/,
// so that each command starts by reading a single file (no module
// resolution across node_modules at run time: that is what makes Node
// start-up slow). dist/ is laid out like the installed libdir
// (/usr/lib/overlay-boot): bundles, shell helpers and, once
// `make -C native` ran, the native helpers side by side.
import { build } from 'esbuild';
import { readdirSync, copyFileSync, chmodSync, mkdirSync, existsSync, rmSync, symlinkSync } from 'node:fs';

const entries = {
  'overlay-boot': 'cli/overlay-boot.ts',
};
for (const f of readdirSync('cli')) {
  const m = /^(overlay-[a-z-]+)\.ts$/.exec(f);
  if (m) entries[m[1]] = `cli/${f}`;
}
for (const [dir, name] of [
  ['runtime', 'runtime'],
  ['generator', 'generator'],
]) {
  try {
    if (readdirSync(dir).includes('main.ts')) entries[`overlay-boot-${name}`] = `${dir}/main.ts`;
  } catch {
    /* not there yet */
  }
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
  // dbus-next requires x11 only to find a session bus through X11, never
  // for the system bus (the commands' D-Bus client): left out of bundles.
  external: ['x11'],
  // Nor xml2js (with xmlbuilder and sax, 100 KB of each bundle): dbus-next
  // uses it only for introspection, which nothing here uses (stubs/xml2js.cjs).
  alias: { xml2js: './scripts/stubs/xml2js.cjs' },
});
for (const f of readdirSync('dist')) if (f.endsWith('.cjs')) chmodSync(`dist/${f}`, 0o755);
// The user commands also under their 1.6 names (no extension), so that a
// `LOWER=!overlay-diskfile ...` finds them on the runtime's PATH (libdir).
for (const name of Object.keys(entries)) {
  if (!name.startsWith('overlay-') || name.startsWith('overlay-boot-')) continue;
  rmSync(`dist/${name}`, { force: true });
  symlinkSync(`${name}.cjs`, `dist/${name}`);
}

// Shell helpers (subhosts-service, the default hooks) and native helpers.
mkdirSync('dist', { recursive: true });
// The default hooks as programs, for 1.6 hooks that run them (runtime/overlay-premount).
for (const f of ['runtime/subhosts-service', 'runtime/overlay-premount', 'runtime/overlay-postmount', 'runtime/overlay-init']) {
  copyFileSync(f, `dist/${f.split('/').pop()}`);
  chmodSync(`dist/${f.split('/').pop()}`, 0o755);
}
for (const f of [
  'reaper',
  'subhost-relay',
  'subhost-enter',
  'subhost-netns',
  'subhost-bind',
  'subhost-go',
  'subhost-machine',
  'subhost-addrs',
]) {
  if (existsSync(`native/build/${f}`)) copyFileSync(`native/build/${f}`, `dist/${f}`);
}
