#!/bin/bash
# Install a built tree (after scripts/setup.sh) into DESTDIR (default /),
# laid out as the Debian package does:
#   /usr/lib/overlay-boot/            bundles, native helpers, shell helpers,
#                                     the default hooks (overlay-premount ...)
#   /usr/lib/systemd/system/          subhost@.service, subhost-netns@.service, subhosts.target,
#                                     subhosts.service; subhosts@.service, overlay-boot@.service (aliases)
#   /etc/init.d/subhosts              1.6's init script name (to subhosts.service)
#   /usr/lib/systemd/system-generators/overlay-boot-generator
#   /usr/sbin/overlay-*               the commands, under their 1.6 names, and the generator (--dry-run)
#   /etc/subhosts.conf                (only when missing)
#   /usr/share/man/man[578]/          man pages (when built: make -C man)
#   /usr/share/bash-completion/completions/overlay-*
#   /usr/share/overlay-boot/subhost-scripts/   devnodes, wait-online
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
# 1.6's unit names as aliases of subhost@.service: systemd loads a unit
# file symlink in its search path as another name of the same unit (for
# templates too, without enabling), so subhosts@NAME and overlay-boot@NAME
# start, stop and show subhost@NAME itself.
for a in subhosts@.service overlay-boot@.service; do
  ln -sfn subhost@.service "$DESTDIR/usr/lib/systemd/system/$a"
done
# 1.6's init script name: hands start, stop and status to subhosts.service.
install -d "$DESTDIR/etc/init.d"
install -m 0755 scripts/subhosts.init "$DESTDIR/etc/init.d/subhosts"
ln -sfn "$LIBDIR/overlay-boot-generator.cjs" "$DESTDIR/usr/lib/systemd/system-generators/overlay-boot-generator"
# and on PATH for its dry run (overlay-boot-generator(8)).
ln -sfn "$LIBDIR/overlay-boot-generator.cjs" "$DESTDIR/usr/sbin/overlay-boot-generator"
for f in dist/overlay-*; do
  n=$(basename "$f")
  # the default hooks (overlay-premount, ...) are programs for hooks, not commands
  case "$n" in *.cjs|overlay-boot-*|overlay-premount|overlay-postmount|overlay-init) continue ;; esac
  ln -sfn "$LIBDIR/$n.cjs" "$DESTDIR/usr/sbin/$n"
done
[ -e "$DESTDIR/etc/subhosts.conf" ] || install -m 0644 scripts/subhosts.conf "$DESTDIR/etc/subhosts.conf"

# Man pages, when built (`make -C man`: scripts/setup.sh and the package
# build run it). asciidoctor's alias pages (".so PAGE") become links.
if [ -f man/build/.stamp ]; then
  for f in man/build/*.[1-9]; do
    n=$(basename "$f")
    d="$DESTDIR/usr/share/man/man${n##*.}"
    install -d "$d"
    if [ "$(head -c 4 "$f")" = ".so " ]; then
      ln -sfn "$(basename "$(sed -n '1s/^\.so //p' "$f")")" "$d/$n"
    else
      install -m 0644 "$f" "$d/$n"
    fi
  done
fi
# Bash completion: one file, loaded under each command's name.
install -d "$DESTDIR/usr/share/bash-completion/completions"
install -m 0644 completion/overlay-boot "$DESTDIR/usr/share/bash-completion/completions/overlay-boot"
for n in overlay-stop overlay-go overlay-share overlay-clean-root overlay-diskfile; do
  ln -sfn overlay-boot "$DESTDIR/usr/share/bash-completion/completions/$n"
done
# Init scripts for inside subhosts (overlay-boot-subhost-scripts(7)).
install -d "$DESTDIR/usr/share/overlay-boot/subhost-scripts"
install -m 0755 subhost-scripts/devnodes subhost-scripts/wait-online "$DESTDIR/usr/share/overlay-boot/subhost-scripts/"
# polkit: the actions of non-root use (pkexec of the commands' privileged
# part), and an example rule for a group, shipped inactive.
install -d "$DESTDIR/usr/share/polkit-1/actions" "$DESTDIR/usr/share/doc/overlay-boot/examples"
install -m 0644 polkit/org.overlay-boot.policy "$DESTDIR/usr/share/polkit-1/actions/"
install -m 0644 polkit/50-overlay-boot.rules "$DESTDIR/usr/share/doc/overlay-boot/examples/"
