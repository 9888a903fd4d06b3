#!/bin/bash
# The README's main-job command: install what is needed, build, then boot
# a throwaway systemd and run a subhost in it, showing each step.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/demo.sh: run as root" >&2; exit 1; }
scripts/setup.sh
exec scripts/run-with-sandbox.sh scripts/demo.ts
