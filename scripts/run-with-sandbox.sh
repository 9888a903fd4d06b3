#!/bin/bash
# run-with-sandbox.sh FILE.ts [ARG...]: run a TypeScript script that uses
# the test sandbox (test/sandbox) outside vitest, as scripts/demo.sh and
# bench/run.sh do. The sandbox finds its stage script beside itself, so
# the bundle goes into a temporary directory with a copy of it.
# Expects a built tree (scripts/setup.sh); the environment passes through.
set -euo pipefail
cd "$(dirname "$0")/.."
script=$1
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx esbuild "$script" --bundle --platform=node --format=esm --packages=external \
  --outfile="$out/main.mjs" --log-level=warning
cp test/sandbox/stage.sh "$out/"
ln -s "$PWD/node_modules" "$out/node_modules"
OVERLAY_BOOT_SRC="$PWD" node "$out/main.mjs" "$@"
