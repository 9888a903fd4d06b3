#!/bin/bash
# Install what building and testing overlay-boot 2 needs, then build it.
# Idempotent and quiet when everything is already there; safe to run as
# root on a fresh Debian 12 machine (what CI does).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  systemd dbus iproute2 util-linux kmod   # the real systemd the tests boot, netns, veth
  gcc libc6-dev make                      # the static C reaper and start helper
  busybox-static                          # tiny LOWER trees in tests
  ifupdown                                # the ifup path for host-side cable ends
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
make -s -C reaper
npm run --silent build
