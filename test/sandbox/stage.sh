#!/bin/sh
# Stage script of the test sandbox. It runs as PID 1 of a fresh pid namespace
# (and in fresh mount, net, uts, ipc and cgroup namespaces) made by
#   unshare -fpmnuiC --propagation private sh stage.sh SCRATCH DATADIR UNIT LOG
# and turns that namespace set into a booted systemd on an overlay of the host's
# root. Everything it mounts lives in the private mount namespace, so it all
# goes away when the last process of the sandbox dies.
#
# Arguments (positional, never spliced into a command line):
#   $1 SCRATCH  host dir holding upper/, work/ and root/ (a tmpfs, see scratch.ts)
#   $2 DATADIR  absolute path inside the sandbox that gets its own tmpfs
#               (overlayfs refuses an upper dir that itself lives on overlayfs)
#   $3 UNIT     the unit systemd boots (--unit=)
#   $4 LOG      host file for the stage's and systemd's console output: a pipe
#               nobody drains would block PID 1, and this survives a failed boot
set -eu

scratch=$1
data=$2
unit=$3
exec </dev/null >>"$4" 2>&1
root=$scratch/root

# Nothing mounted below may propagate back to the host (unshare already asks
# for this; repeat it so the stage is safe on its own).
mount --make-rprivate /

# The sandbox's / : host root read-only underneath, writes go to the scratch.
# The host root is a layer by a path of its own (a read-only bind of just
# the root mount), reachable inside at the same path (below): an overlay
# cannot be seen through an id map, and subhost-enter at
# CONTAINMENT=private-users stacks the layers of a LOWER on overlayfs
# instead, found by the paths in its mount options.
mkdir -p "$scratch/lower"
mount --bind / "$scratch/lower"
mount -o remount,bind,ro "$scratch/lower"
mount -t overlay overlay \
	-o "lowerdir=$scratch/lower,upperdir=$scratch/upper,workdir=$scratch/work" "$root"

# proc of the new pid namespace (also needed by umount after pivot_root, which
# reads /proc/self/mountinfo).
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"

# Host devices, but a private /dev/shm and a private devpts instance so that
# shared memory and ptys made inside do not land on the host.
mount --rbind /dev "$root/dev"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/dev/shm"
mount -t devpts -o newinstance,nosuid,noexec,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
mount --bind "$root/dev/pts/ptmx" "$root/dev/ptmx"
# systemd as PID 1 writes to /dev/console and, like journald, to /dev/kmsg:
# through the rbind those are the host's console and kernel log.
mount --bind /dev/null "$root/dev/console"
# The kernel log inside is a FIFO drained into a file of the scratch: what
# systemd and generators log there can be read by tests (sandbox.kmsg()),
# and nothing reaches the host's kernel log. A FIFO keeps the writers'
# records in order (a plain file would let each writer's offset overwrite
# the others'); the drain opens it read-write so it never sees EOF and
# writers never block. It ends with the sandbox's pid namespace.
# (journald does not read it: ReadKMsg=no.)
# Both ends are opened here, before the drain is forked: a background
# job's own redirections run in the child whenever it gets the CPU, and
# if that is after the pivot_root below (which moves every process of
# this mount namespace) the scratch path is gone ("cannot create
# .../kmsg.fifo: Directory nonexistent"), nothing drains the FIFO, and
# systemd blocks opening /dev/kmsg: the boot times out.
rm -f "$scratch/kmsg.fifo"  # left by a previous boot (reboot())
mkfifo "$scratch/kmsg.fifo"
exec 3<>"$scratch/kmsg.fifo" 4>>"$scratch/kmsg"
cat <&3 >&4 3<&- 4>&- &
exec 3<&- 4>&-
mount --bind "$scratch/kmsg.fifo" "$root/dev/kmsg"

# sysfs of the new net namespace, and the cgroup2 hierarchy seen through the
# new cgroup namespace: its root is the sandbox's own host cgroup, so the
# sandbox's systemd cannot touch the host's (or another sandbox's) cgroups.
mount -t sysfs -o nosuid,nodev,noexec sysfs "$root/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"

# Volatile dirs systemd expects empty at boot.
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs "$root/run"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/tmp"

# A non-overlay place for tests' own overlay upper dirs: a directory of the
# scratch tmpfs, so that it survives a reboot() of the sandbox like upper/.
mkdir -p "$root$data" "$scratch/data"
mount --bind "$scratch/data" "$root$data"

# The layers of the sandbox's /, inside at the paths its overlay names
# (see above), read-only.
for layer in lower upper; do
	mkdir -p "$root$scratch/$layer"
	mount --bind "$scratch/$layer" "$root$scratch/$layer"
	mount -o remount,bind,ro "$root$scratch/$layer"
done

# Switch root and drop the old one. If the old root stayed mounted (at
# /.oldroot), the whole host would be reachable from inside: fail hard instead.
cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot

export container=overlay-boot-test
exec /lib/systemd/systemd --system --unit="$unit"
