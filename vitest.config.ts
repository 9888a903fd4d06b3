import { defineConfig } from 'vitest/config';

// Unit tests are fast and pure; e2e tests boot real systemd sandboxes,
// make real mounts and network namespaces, and must not run in parallel
// (2 cores, and each sandbox is a whole booted systemd).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // As a normal user: the built tree the CLI and native tests run (made
    // when missing or older than its sources), and the unit tests' trust
    // of their own fixtures. Both do nothing more as root after a build.
    globalSetup: ['test/build-once.ts'],
    setupFiles: ['test/unit/as-user.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
