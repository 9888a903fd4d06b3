#!/bin/bash
# overlay-boot export/import of a ~1 GiB UPPER against tar by hand, in one
# throwaway sandbox systemd (bench/transfer.ts); writes bench/TRANSFER.md.
# Not part of the test suite.
#   sudo bench/transfer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/transfer.sh: run as root (it boots systemd, makes mounts and namespaces)" >&2; exit 1; }
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
  changed=$(git status --porcelain --untracked-files=no -- . ':!bench' | wc -l)
  BENCH_TREE="commit $rev$([ "$changed" = 0 ] || echo ", plus uncommitted changes in $changed file(s)")"
else
  BENCH_TREE="unknown tree (not a git checkout)"
fi
scripts/setup.sh
BENCH_DIR="$PWD/bench" BENCH_TREE="$BENCH_TREE" exec scripts/run-with-sandbox.sh bench/transfer.ts "$@"
