#!/bin/bash
# The newcomer's path, N times (default 10): each run clones this
# repository afresh (the current commit, nothing else from this tree:
# no node_modules, no builds), runs scripts/demo.sh in the clone as the
# README says, and removes the clone. Prints one line per run and a
# summary; a failed run's output is kept. Not part of scripts/test.sh (a
# run builds everything from scratch: minutes each). As root.
#   scripts/demo-repeat.sh [N] [LOGDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/demo-repeat.sh: run as root" >&2; exit 1; }
runs=${1:-10}
logs=${2:-$(mktemp -d /tmp/demo-repeat.XXXXXX)}
mkdir -p "$logs"
repo=$(pwd)
commit=$(git rev-parse HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || echo "demo-repeat: note: uncommitted changes are not in the clones (commit $commit is)" >&2
failed=0
for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d /tmp/demo-clone.XXXXXX)
  start=$(date +%s)
  if git clone -q --no-hardlinks "$repo" "$dir/overlay-boot" && git -C "$dir/overlay-boot" checkout -q "$commit" &&
     (cd "$dir/overlay-boot" && scripts/demo.sh) >"$logs/run-$i.log" 2>&1; then
    result=passed
    rm -f "$logs/run-$i.log"
  else
    result="FAILED (log: $logs/run-$i.log)"
    failed=$((failed + 1))
  fi
  echo "demo-repeat: run $i/$runs: $result in $(( $(date +%s) - start )) s"
  rm -rf "$dir"
done
echo "demo-repeat: $((runs - failed)) of $runs runs passed (commit $commit)"
[ "$failed" = 0 ]
