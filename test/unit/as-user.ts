// Setup file (vitest.config.ts): as a normal user, the fixtures the unit
// tests make are that user's, and the config loader would refuse every
// one of them ("owned by uid N, not root"). OVERLAY_BOOT_TRUST_OWN_FILES
// makes a non-root process trust its own files as root's (lib/config/
// open.ts; the commands the tests run inherit it); the tests of the
// ownership rule itself need root (they chown) and run only as root
// (helpers.ts itAsRoot). As root it is not set, and would be ignored.
if ((process.geteuid?.() ?? 0) !== 0) process.env.OVERLAY_BOOT_TRUST_OWN_FILES = '1';
