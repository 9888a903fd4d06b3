#!/bin/bash
# The host's scheduling latency while a subhost spins at SCHED_OTHER and
# SCHED_FIFO on one CPU, at each CONTAINMENT level (bench/rt-latency.ts),
# in one throwaway sandbox systemd. A few seconds of one CPU per row.
#   sudo bench/rt-latency.sh          (RT_SECONDS=N: seconds per spinner)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/rt-latency.sh: run as root (it boots systemd)" >&2; exit 1; }
exec scripts/run-with-sandbox.sh bench/rt-latency.ts "$@"
