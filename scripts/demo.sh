#!/bin/bash
# The README's main-job command: install what is needed, build, then boot
# a throwaway systemd and run a subhost in it, showing each step.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/demo.sh: run as root" >&2; exit 1; }
scripts/setup.sh
# The demo uses the test sandbox, which is TypeScript: bundle it next to
# the sandbox's stage script, which it finds beside itself.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx esbuild scripts/demo.ts --bundle --platform=node --format=esm --packages=external \
  --outfile="$out/demo.mjs" --log-level=warning
cp test/sandbox/stage.sh "$out/"
ln -s "$PWD/node_modules" "$out/node_modules"
OVERLAY_BOOT_SRC="$PWD" node "$out/demo.mjs"
