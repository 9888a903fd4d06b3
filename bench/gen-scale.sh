#!/bin/bash
# The generator at scale, outside any sandbox: N configs like the bench's
# (BASE=., CABLES==, START=none, each in its own dir), on tmpfs, listed in
# a subhosts.conf that OVERLAY_BOOT_SUBHOSTS_CONF points the generator at;
# the generator run directly (as systemd runs it: three fresh output dirs,
# on tmpfs too), timed with bash's $EPOCHREALTIME, RUNS runs per N, median.
#   bench/gen-scale.sh [GENERATOR] [RUNS] [N...]
# GENERATOR defaults to dist/overlay-boot-generator.cjs (scripts/setup.sh
# builds it); as root (configs and their dirs must be root's).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=$(realpath "${1:-dist/overlay-boot-generator.cjs}")
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
  times=()
  for r in $(seq "$runs"); do
    o="$top/out"
    mkdir -p "$o/normal" "$o/early" "$o/late"
    s=$EPOCHREALTIME
    OVERLAY_BOOT_SUBHOSTS_CONF="$top/subhosts-$n.conf" "$gen" "$o/normal" "$o/early" "$o/late"
    e=$EPOCHREALTIME
    times+=("$(echo "($e - $s) * 1000" | bc -l)")
    if [ "$r" = 1 ]; then
      files=$(find "$o/normal" -type f | wc -l)
      links=$(find "$o/normal" -type l | wc -l)
    fi
    rm -rf "$o"
  done
  med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}')
  mn=$(printf '%s\n' "${times[@]}" | sort -g | head -1)
  mx=$(printf '%s\n' "${times[@]}" | sort -g | tail -1)
  printf 'N=%-5s median %7s ms  (min %.1f, max %.1f; %d runs)  %s files, %s links\n' "$n" "$med" "$mn" "$mx" "$runs" "$files" "$links"
done
