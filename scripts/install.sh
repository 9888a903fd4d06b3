#!/bin/bash
# Install a built tree (after scripts/setup.sh) into DESTDIR (default /),
# laid out as the Debian package does:
#   /usr/lib/overlay-boot/            bundles, native helpers, shell helpers
#   /usr/lib/systemd/system/          subhost@.service, subhost-netns@.service, subhosts.target
#   /usr/lib/systemd/system-generators/overlay-boot-generator
#   /usr/sbin/overlay-*               the commands, under their 1.6 names
#   /etc/subhosts.conf                (only when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
DESTDIR="${DESTDIR:-}"
LIBDIR=/usr/lib/overlay-boot
[ -x dist/subhost-enter ] || { echo "install.sh: build first (scripts/setup.sh)" >&2; exit 1; }

install -d "$DESTDIR$LIBDIR" "$DESTDIR/usr/lib/systemd/system" \
  "$DESTDIR/usr/lib/systemd/system-generators" "$DESTDIR/usr/sbin" "$DESTDIR/etc"
for f in dist/*; do
  n=$(basename "$f")
  if [ -L "$f" ]; then
    ln -sfn "$(readlink "$f")" "$DESTDIR$LIBDIR/$n"
  else
    install -m 0755 "$f" "$DESTDIR$LIBDIR/$n"
  fi
done
for f in units/*; do
  n=$(basename "$f" .in)
  sed "s#@LIBDIR@#$LIBDIR#g" "$f" > "$DESTDIR/usr/lib/systemd/system/$n"
  chmod 0644 "$DESTDIR/usr/lib/systemd/system/$n"
done
ln -sfn "$LIBDIR/overlay-boot-generator.cjs" "$DESTDIR/usr/lib/systemd/system-generators/overlay-boot-generator"
for f in dist/overlay-*; do
  n=$(basename "$f")
  case "$n" in *.cjs|overlay-boot-*) continue ;; esac
  ln -sfn "$LIBDIR/$n.cjs" "$DESTDIR/usr/sbin/$n"
done
[ -e "$DESTDIR/etc/subhosts.conf" ] || install -m 0644 scripts/subhosts.conf "$DESTDIR/etc/subhosts.conf"
