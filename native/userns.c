/*
 * userns.c - CONTAINMENT=private-users in subhost-enter: root inside is
 * an unprivileged id range on the host (idrange.h).
 *
 * subhost-netns made the user namespace and, inside it, the netns that
 * systemd put this unit in (NetworkNamespacePath=): NS_GET_USERNS on it
 * finds the user namespace again, nothing else records it. The overlay is
 * still mounted from the host's (initial) user namespace, so overlayfs
 * keeps its trusted.overlay.* xattrs and an UPPER is byte-compatible with
 * 1.6's; its layers are idmapped clones, so on-disk uid 0 is BASE for the
 * subhost and what it writes lands on disk with the owners it would have
 * without a user namespace. overlayfs copies up and creates with the
 * mounter's credentials: the mount is made with fsuid/fsgid BASE, kept
 * for the ops after it (the subhost's /dev, /run, dirs under LIVE), with
 * SECBIT_NO_SETUID_FIXUP so that the change keeps the capabilities.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <linux/securebits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "idrange.h"
#include "userns.h"

static int ns_fd = -1;
static unsigned long base;
static int old_securebits = -1;

int userns_fd(void) { return ns_fd; }
unsigned long userns_base(void) { return base; }

int userns_open(const char *name)
{
	struct stat mine, owner;
	int net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd;

	if (net < 0 || (fd = ioctl(net, NS_GET_USERNS)) < 0 ||
	    stat("/proc/self/ns/user", &mine) != 0 || fstat(fd, &owner) != 0) {
		fprintf(stderr, "%s: CONTAINMENT=private-users: cannot find the user "
			"namespace of the network namespace: %s\n", prog_name, strerror(errno));
		return -1;
	}
	close(net);
	if (owner.st_ino == mine.st_ino && owner.st_dev == mine.st_dev) {
		fprintf(stderr, "%s: CONTAINMENT=private-users: the network namespace "
			"/run/netns/%s is not owned by a user namespace of its own (made "
			"before the level changed?): stop subhost-netns@%s.service and start again\n",
			prog_name, name, name);
		return -1;
	}
	if (idrange_read(name, &base) != 0) {
		fprintf(stderr, "%s: CONTAINMENT=private-users: no id range recorded "
			"for %s in " IDS_DIR ": %s\n", prog_name, name, strerror(errno));
		return -1;
	}
	ns_fd = fd;
	return 0;
}

int userns_idmapped_tree(int dirfd, const char *path, int recursive)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (__u64)ns_fd };
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) |
			 (*path ? 0 : AT_EMPTY_PATH);
	int tree = (int)syscall(SYS_open_tree, dirfd, path, flags), err;

	if (tree < 0)
		return -1;
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
		    &attr, sizeof(attr)) != 0) {
		err = errno;
		close(tree);
		errno = err;
		return -1;
	}
	return tree;
}

int userns_fsuid_enter(void)
{
	if (old_securebits < 0) {
		if ((old_securebits = prctl(PR_GET_SECUREBITS)) < 0 ||
		    prctl(PR_SET_SECUREBITS, old_securebits | SECBIT_NO_SETUID_FIXUP) != 0) {
			old_securebits = -1;
			return -1;
		}
	}
	setfsgid((gid_t)base);
	setfsuid((uid_t)base);
	/* setfsuid() reports nothing; ask. */
	if ((unsigned long)setfsuid((uid_t)-1) != base) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

void userns_fsuid_leave(void)
{
	setfsuid(0);
	setfsgid(0);
	if (old_securebits >= 0)
		prctl(PR_SET_SECUREBITS, old_securebits);
	old_securebits = -1;
}

int userns_join(void)
{
	/* Before: the host's groups of this process have no names inside,
	 * and setgroups() needs the host's CAP_SETGID. */
	if (setgroups(0, NULL) != 0 || setns(ns_fd, CLONE_NEWUSER) != 0 ||
	    setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) {
		fprintf(stderr, "%s: CONTAINMENT=private-users: cannot enter the user "
			"namespace: %s\n", prog_name, strerror(errno));
		return -1;
	}
	close(ns_fd);
	return 0;
}
