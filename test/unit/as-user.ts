// Setup file (vitest.config.ts): as a normal user, the fixtures the unit
// tests make are that user's, and the config loader would refuse every
// one of them ("owned by uid N, not root"). The user's uid is trusted as
// root's then (lib/config/open.ts trustFixtureOwner); the tests of the
// ownership rule itself need root (they chown) and run only as root
// (helpers.ts itAsRoot). As root, nothing changes.
import { trustFixtureOwner } from '../../lib/config/open.js';

const uid = process.geteuid?.() ?? 0;
if (uid !== 0) trustFixtureOwner(uid);
