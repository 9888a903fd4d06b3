#!/bin/bash
# The generator at scale, outside any sandbox: N configs like the bench's
# (BASE=., CABLES==, START=none, each in its own dir), on tmpfs, listed in
# a subhosts.conf that OVERLAY_BOOT_SUBHOSTS_CONF points the generator at;
# the generator run directly (as systemd runs it: three fresh output dirs,
# on tmpfs too), timed with bash's `time` (no extra process): wall clock
# and CPU time (user + system, less disturbed by other load), RUNS runs
# per N, medians.
#   bench/gen-scale.sh [GENERATOR] [RUNS] [N...]
# GENERATOR defaults to dist/overlay-boot-generator.cjs (scripts/setup.sh
# builds it); as root (configs and their dirs must be root's). Each run is
# made a real-time process (chrt -f 10) so that other work on the machine
# disturbs it less; GEN_SCALE_RT=0 runs it as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=$(realpath "${1:-dist/overlay-boot-generator.cjs}")
rt=()
[ "${GEN_SCALE_RT:-1}" = 1 ] && command -v chrt >/dev/null && rt=(chrt -f 10)
runs=${2:-10}
shift 2 2>/dev/null || shift $#
ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(1 10 50 200 1000)
max=0
for n in "${ns[@]}"; do [ "$n" -gt "$max" ] && max=$n; done

top=$(mktemp -d /dev/shm/ob-gen-scale.XXXXXX)
chmod 755 "$top"
trap 'rm -rf "$top"' EXIT
for i in $(seq -w 1 "$max"); do
  d="$top/srv/s$i"
  mkdir -p "$d/root" "$d/work" "$d/live"
  printf 'BASE=.\nCABLES==\nSTART=none\n' >"$d/s$i.conf"
done
for n in "${ns[@]}"; do
  {
    echo '# gen-scale'
    for i in $(seq -w 1 "$max" | head -n "$n"); do echo "$top/srv/s$i/s$i.conf"; done
  } >"$top/subhosts-$n.conf"
  walls=() cpus=()
  for r in $(seq "$runs"); do
    o="$top/out"
    mkdir -p "$o/normal" "$o/early" "$o/late"
    t=$( { TIMEFORMAT='%R %U %S'; time OVERLAY_BOOT_SUBHOSTS_CONF="$top/subhosts-$n.conf" "${rt[@]}" "$gen" "$o/normal" "$o/early" "$o/late" 2>/dev/null; } 2>&1)
    read -r wall user sys <<<"$t"
    walls+=("$(echo "$wall * 1000" | bc -l)")
    cpus+=("$(echo "($user + $sys) * 1000" | bc -l)")
    if [ "$r" = 1 ]; then
      files=$(find "$o/normal" -type f | wc -l)
      links=$(find "$o/normal" -type l | wc -l)
    fi
    rm -rf "$o"
  done
  median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f", m}'; }
  printf 'N=%-5s wall median %5s ms (min %5.0f)  CPU median %5s ms  (%d runs; %s files, %s links)\n' "$n" \
    "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${walls[@]}" | sort -g | head -1)" \
    "$(printf '%s\n' "${cpus[@]}" | median)" "$runs" "$files" "$links"
done
