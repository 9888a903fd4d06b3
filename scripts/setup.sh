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
  asciidoctor man-db                      # man pages (asciidoctor -b manpage, as 1.6), man -l in tests
  dpkg-dev debhelper lintian              # the Debian package (debian/build-deb) and its lintian check
  bash-completion                         # the completion's helpers, for its test
  fdisk attr                              # sfdisk --json (overlay-diskfile), getfattr (overlay-clean-root)
  systemd-container strace                # bench/: systemd-nspawn to compare with; profiling the start
  keyutils                                # keyctl: overlay-go's copy of the subhost's seccomp filter, in tests
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
make -s -C man

# The Debian package, into build-deb/ (reused by the package tests while
# the sources are unchanged). Also built on demand by those tests.
if [ "${OVERLAY_BOOT_BUILD_DEB:-}" = 1 ]; then
  echo "setup: building the .deb"
  debian/build-deb >/dev/null
fi
