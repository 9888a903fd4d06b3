#!/bin/bash
# The security table (SECURITY.md): the escape probe run inside a contained
# subhost, an opt-out one (CONTAINMENT=none), overlay-go shells in both, and
# a systemd-nspawn container with default options, all in one throwaway
# sandbox systemd. Installs what it needs (scripts/setup.sh).
#   sudo bench/security.sh           prints the table and every probe line
#   sudo bench/security.sh --write   also writes the table into SECURITY.md
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/security.sh: run as root (it boots systemd, makes mounts and namespaces)" >&2; exit 1; }
command="bench/security.sh${*:+ $*}"
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
  changed=$(git status --porcelain --untracked-files=no -- . ':!SECURITY.md' | wc -l)
  tree="commit $rev$([ "$changed" = 0 ] || echo ", plus uncommitted changes in $changed file(s)")"
else
  tree="unknown tree (not a git checkout)"
fi
scripts/setup.sh --test   # with systemd-nspawn (systemd-container) and strace
SECURITY_COMMAND="$command" SECURITY_TREE="$tree" exec scripts/run-with-sandbox.sh bench/security.ts "$@"
