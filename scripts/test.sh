#!/bin/bash
# The test command: installs what it needs, builds, runs the whole suite
# (unit tests, native tests, and e2e tests against real systemd
# sandboxes). Must run as root. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/test.sh: run as root (the e2e tests boot systemd and make mounts)" >&2; exit 1; }
scripts/setup.sh --test
npx tsc --noEmit
npx biome ci --error-on-warnings .   # lint and format (biome.jsonc)
scripts/audit.sh                     # npm audit --audit-level=low of the lockfile
exec npx vitest run "$@"
