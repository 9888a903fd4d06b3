#!/bin/bash
# The benchmark: overlay-boot 2 against systemd-nspawn in the same run, in a
# throwaway sandbox systemd. Installs what it needs (scripts/setup.sh),
# bundles bench/*.ts and runs it (scripts/run-with-sandbox.sh). See bench/README.md.
#   sudo bench/run.sh            full run: writes bench/RESULTS.md, bench/results.json
#   sudo bench/run.sh --quick    3 runs, 5 at once: writes bench/out/
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root (it boots systemd, makes mounts and namespaces)" >&2; exit 1; }
command="bench/run.sh${*:+ $*}"
# What is measured: this tree, as built by setup.sh.
if [ -z "${BENCH_TREE:-}" ]; then
  if rev=$(git rev-parse --short HEAD 2>/dev/null); then
    changed=$(git status --porcelain --untracked-files=no -- . ':!bench' | wc -l)
    BENCH_TREE="commit $rev$([ "$changed" = 0 ] || echo ", plus uncommitted changes in $changed file(s)")"
  else
    BENCH_TREE="unknown (not a git checkout)"
  fi
fi
scripts/setup.sh --test   # with systemd-nspawn (systemd-container) and strace
BENCH_DIR="$PWD/bench" BENCH_COMMAND="$command" BENCH_TREE="$BENCH_TREE" exec scripts/run-with-sandbox.sh bench/bench.ts "$@"
