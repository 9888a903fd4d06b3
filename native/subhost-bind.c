/*
 * subhost-bind - bind mount a host directory into a running subhost
 * (what overlay-share does; like `machinectl bind`).
 *
 *  1. open_tree(SRC, OPEN_TREE_CLONE|AT_RECURSIVE) in the caller's (host)
 *     mount namespace: a detached copy of the directory tree, submounts
 *     included, that no path of the host can name any more;
 *  2. /proc/PID/ns/mnt and /proc/PID/root are opened BEFORE setns: once in
 *     the subhost's mount namespace, /proc is the subhost's own (another
 *     pid namespace: PID there is some other process, or none);
 *  3. setns(CLONE_NEWNS) resets root and cwd to the namespace's root
 *     mount; fchdir+chroot to PID's root makes them what PID sees;
 *  4. DST is resolved (and with --mkdir created, one component at a time)
 *     with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) relative to that
 *     root: "/", ".." and absolute symlinks stay inside the subhost, so a
 *     symlink planted in the subhost can never send the mount elsewhere
 *     (1.6's `mount --bind DIR /proc/PID/root/DST` followed it on the host);
 *  5. move_mount() attaches the tree onto the resolved directory (its fd,
 *     not a path: nothing can be swapped in between).
 *
 * Static like the other helpers; single-threaded (setns of a mount
 * namespace refuses multi-threaded callers).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <linux/securebits.h>

#include "common.h"

#define PROG "subhost-bind"

/* Kernel ABI values (linux/mount.h, linux/fcntl.h), for libc headers that
 * predate the new mount API. */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/* struct mount_attr, under our own name (newer libcs declare it). */
struct bind_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

const char prog_name[] = PROG;

const char usage_text[] =
"Usage: " PROG " PID SRC DST [--mkdir] [--ro]\n"
"\n"
"Bind mounts directory SRC (a path of the caller's mount namespace,\n"
"submounts included) onto DST inside the mount namespace and root of\n"
"process PID (a subhost's PID 1). DST is an absolute path inside; it is\n"
"resolved within PID's root: symlinks there never lead outside it.\n"
"  --mkdir   create DST (and missing parents, mode 0755) if needed\n"
"  --ro      make the mount (and its submounts) read-only\n"
"\n"
"Exit status: 0 mounted, 1 failure, 2 bad usage.\n";

/* A failure errno does not explain (or not alone): one line, exit 1. */
#define fail(...) failf(1, __VA_ARGS__)

static int resolve_in(int rootfd, const char *path)
{
	return openat2_resolve(rootfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC,
			       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/*
 * The directory DST inside rootfd, created component by component with
 * --mkdir. Each prefix is resolved from the root again (not from the
 * previous component's fd): an absolute symlink in the middle must mean
 * the subhost's "/", which only a lookup from its root gets right.
 */
static int open_target(int rootfd, const char *dst, int mkdirs)
{
	char path[PATH_MAX];
	size_t len = strlen(dst);
	int fd;

	if (len >= sizeof(path))
		fail("DST too long: %s", dst);
	fd = resolve_in(rootfd, dst);
	if (fd >= 0 || !mkdirs || errno != ENOENT)
		goto out;

	memcpy(path, dst, len + 1);
	for (char *p = path + 1; ; p++) {
		char c = *p;
		char *slash;
		int parent;

		if (c != '/' && c != '\0')
			continue;
		if (p[-1] == '/') {	/* "//" or a trailing "/" */
			if (c == '\0')
				break;
			continue;
		}
		*p = '\0';
		fd = resolve_in(rootfd, path);
		if (fd < 0 && errno == ENOENT) {
			slash = strrchr(path, '/');
			*slash = '\0';
			parent = resolve_in(rootfd, slash == path ? "/" : path);
			*slash = '/';
			if (parent < 0)
				die("cannot open", path);
			if (mkdirat(parent, slash + 1, 0755) != 0 && errno != EEXIST)
				die("cannot create", path);
			close(parent);
			fd = resolve_in(rootfd, path);
			/* EEXIST above, yet nothing to open: a dangling
			 * symlink (it is not followed out of the subhost). */
			if (fd < 0 && errno == ENOENT)
				fail("cannot create %s: a dangling symlink is in the way", path);
		}
		if (fd < 0)
			goto out_path;
		*p = c;
		if (c == '\0')
			return fd;
		close(fd);
	}
	fd = resolve_in(rootfd, dst);
out:
	if (fd >= 0)
		return fd;
	memcpy(path, dst, len + 1);
out_path:
	if (errno == ENOTDIR)
		fail("%s inside the subhost is not a directory", path);
	if (errno == ELOOP || errno == EXDEV)
		fail("%s inside the subhost goes through a /proc magic link", path);
	if (errno == ENOENT)
		fail("%s does not exist inside the subhost (use --mkdir)", path);
	die("cannot open inside the subhost", path);
	return -1;
}

int main(int argc, char **argv)
{
	const char *pos[3];
	int npos = 0, mkdirs = 0, ro = 0;
	char proc[64];
	struct stat st;
	unsigned long pid;
	char *end;
	int procfd, nsfd, rootfd, tree, dstfd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(a, "--mkdir") == 0) {
			mkdirs = 1;
		} else if (strcmp(a, "--ro") == 0) {
			ro = 1;
		} else if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
			usage_error("unknown option %s", a);
		} else if (npos == 3) {
			usage_error("too many arguments: %s", a);
		} else {
			pos[npos++] = a;
		}
	}
	if (npos != 3)
		usage_error("expected PID SRC DST");
	errno = 0;
	pid = strtoul(pos[0], &end, 10);
	if (pos[0][0] < '1' || pos[0][0] > '9' || *end != '\0' || errno || pid > INT_MAX)
		usage_error("bad PID '%s'", pos[0]);
	if (pos[2][0] != '/')
		usage_error("DST must be an absolute path: %s", pos[2]);

	if (stat(pos[1], &st) != 0)
		die("cannot use", pos[1]);
	if (!S_ISDIR(st.st_mode))
		fail("not a directory: %s", pos[1]);

	snprintf(proc, sizeof(proc), "/proc/%lu", pid);
	procfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		if (errno == ENOENT)
			fail("no process %s (is the subhost running?)", pos[0]);
		die("cannot open", proc);
	}
	nsfd = openat(procfd, "ns/mnt", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		die("cannot open mount namespace of", proc);
	rootfd = openat(procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die("cannot open root of", proc);

	/* CONTAINMENT=private-users: the subhost's root is an id range of
	 * the host (its user namespace maps 0 to BASE). The tree is seen
	 * through that map (on-disk owners stay), and directories made for
	 * DST belong to root inside (see userns.c in subhost-enter). */
	struct stat theirs, mine;
	unsigned long base = 0;
	int userns = -1;

	if (fstatat(procfd, "ns/user", &theirs, 0) == 0 && stat("/proc/self/ns/user", &mine) == 0 &&
	    (theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev)) {
		int mapfd = openat(procfd, "uid_map", O_RDONLY | O_CLOEXEC);
		char map[64] = "";
		unsigned long inside;

		if (mapfd < 0 || read(mapfd, map, sizeof(map) - 1) <= 0 ||
		    sscanf(map, "%lu %lu", &inside, &base) != 2 || inside != 0)
			fail("cannot read the id map of process %s", pos[0]);
		close(mapfd);
		if ((userns = openat(procfd, "ns/user", O_RDONLY | O_CLOEXEC)) < 0)
			die("cannot open user namespace of", proc);
	}

	tree = (int)syscall(SYS_open_tree, AT_FDCWD, pos[1],
			    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		die("open_tree", pos[1]);
	if (userns >= 0) {
		struct bind_mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };

		/* A file system without idmapped mounts (EINVAL: an overlayfs,
		 * say): bound as it is, its files then show as owned by nobody
		 * inside and root inside writes none of the host root's. */
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE,
			    &attr, sizeof(attr)) != 0) {
			if (errno != EINVAL)
				die("cannot see through the subhost's id map:", pos[1]);
			fprintf(stderr, PROG ": %s: its file system has no idmapped mounts: bound as it is "
				"(its owners show as nobody in the subhost)\n", pos[1]);
		}
		if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP) != 0)
			die("securebits", NULL);
		setfsgid((gid_t)base);
		setfsuid((uid_t)base);
	}
	if (ro) {
		struct bind_mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE,
			    &attr, sizeof(attr)) != 0)
			die("cannot make read-only:", pos[1]);
	}

	if (setns(nsfd, CLONE_NEWNS) != 0)
		die("cannot enter mount namespace of", proc);
	if (fchdir(rootfd) != 0 || chroot(".") != 0 || chdir("/") != 0)
		die("cannot enter root of", proc);

	dstfd = open_target(rootfd, pos[2], mkdirs);
	if (syscall(SYS_move_mount, tree, "", dstfd, "",
		    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
		die("cannot mount onto", pos[2]);
	return 0;
}
