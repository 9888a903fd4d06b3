#!/bin/bash
# Install what building overlay-boot 2 and running its demo need, then
# build it; with --test (scripts/test.sh, CI), also what the test suite
# needs. Idempotent and quiet when everything is already there; safe to
# run as root on a fresh Debian 12 machine (what CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=
case "${1-}" in
  --test) for_tests=1 ;;
  '') ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

# The build (debian/control's Build-Depends and debian/build-deb), and what
# scripts/demo.sh uses: the real systemd it boots, netns and veth, ssh in
# the subhost it makes with `create --start ssh`.
APT_PACKAGES=(
  systemd dbus iproute2 util-linux kmod   # the real systemd the demo and tests boot, netns, veth (module autoload)
  gcc libc6-dev make                      # the static C helpers (native/)
  musl-tools                              # the reaper: static musl, a small PID 1 for every subhost
  libseccomp-dev                          # subhost-enter's user namespace filter (libseccomp.a)
  libsystemd-dev                          # subhost-machine: sd-bus, to register subhosts with systemd-machined
  asciidoctor man-db                      # man pages (asciidoctor -b manpage, as 1.6), man -l in tests
  dpkg-dev debhelper lintian              # the Debian package (debian/build-deb) and its lintian check
)
# Only for the test suite (and bench/).
TEST_PACKAGES=(
  libcap2-bin                             # capsh: a process without a capability, in tests
  busybox-static                          # tiny LOWER trees in tests
  ifupdown                                # the ifup path for host-side cable ends
  bash-completion                         # the completion's helpers, for its test
  fdisk attr                              # sfdisk --json (overlay-diskfile), getfattr (overlay-clean-root)
  systemd-container strace                # bench/: systemd-nspawn to compare with; profiling the start; machined
  keyutils                                # keyctl: overlay-go's copy of the subhost's seccomp filter, in tests
  polkitd pkexec                          # non-root use: polkit rules and pkexec, in the e2e test
  ansible-core                            # examples/ansible, run against a sandbox
  zstd xz-utils                           # export/import: the stream's compression (and machinectl's xz)
)
[ -z "$for_tests" ] || APT_PACKAGES+=("${TEST_PACKAGES[@]}")
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Services that run inside subhosts only, never on this machine (see
# below). The demo's: ssh. The test suite's: 1.6's typical set
# (test/e2e/services.test.ts). rsyslog has no init script in Debian 12:
# orphan-sysvinit-scripts puts one in /etc/init.d, so that `service
# rsyslog start` (1.6's START) works. prometheus-node-exporter: its
# systemd collector is scraped once, run as a transient unit in a sandbox
# (test/e2e/fleet.test.ts).
SERVICE_PACKAGES=(openssh-server openssh-client)
[ -z "$for_tests" ] || SERVICE_PACKAGES+=(
  postgresql postgresql-client postfix rsyslog cron
  orphan-sysvinit-scripts prometheus-node-exporter
)
new_services=()
for p in "${SERVICE_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || new_services+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ ${#new_services[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} ${new_services[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # postfix asks what kind of mail system this is: local delivery only, so
  # the installed main.cf never relays anything anywhere.
  debconf-set-selections <<'SEL'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string localhost
SEL
  # The maintainer scripts start what they install (invoke-rc.d): an sshd,
  # a postfix master and an rsyslogd on the host are not wanted. A
  # policy-rc.d that says 101 ("action forbidden") stops that; one that is
  # already there (container images ship one) is the machine's own policy.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from overlay-boot scripts/setup.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" "${new_services[@]}" >/dev/null
  # Nor started at this machine's next boot (a systemd host): enabled by
  # their postinst, disabled again when this script installed them.
  for p in "${new_services[@]}"; do
    case $p in
      openssh-server) units=(ssh.service) ;;
      postfix) units=(postfix.service) ;;
      rsyslog) units=(rsyslog.service) ;;
      cron) units=(cron.service) ;;
      prometheus-node-exporter) units=(prometheus-node-exporter.service) ;;
      *) units=() ;;
    esac
    [ ${#units[@]} -eq 0 ] || systemctl disable --quiet --no-reload "${units[@]}" 2>/dev/null || true
  done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
make -s -C native
npm run --silent build
make -s -C man

# The Debian package, into build-deb/ (reused by the package tests while
# the sources are unchanged). Also built on demand by those tests.
if [ "${OVERLAY_BOOT_BUILD_DEB:-}" = 1 ]; then
  echo "setup: building the .deb"
  debian/build-deb >/dev/null
fi
