/*
 * subhost-enter - the native last step of starting an overlay-boot subhost.
 *
 * Node computes the plan and execs this once, inside the mount namespace
 * systemd made for ExecStart (PrivateMounts=yes) and inside the subhost's
 * network namespace (NetworkNamespacePath=). It runs the mount/mknod/...
 * ops of the plan, then starts the subhost's init in fresh namespaces with
 * the subhost root pivoted to /, waits until the reaper says "ready" and
 * exits, leaving the subhost to the service manager (Type=forking with
 * PIDFile=).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "contain.h"

#define PROG "subhost-enter"

static const char usage_text[] =
"Usage: " PROG " [OP ...] [enter [OPTIONS] ROOT -- PROGRAM [ARG ...]]\n"
"\n"
"OPs run in order in the current mount namespace:\n"
"  mount FSTYPE SOURCE TARGET FLAGS DATA\n"
"        FLAGS: comma list of ro,nosuid,nodev,noexec,bind,rec,remount,\n"
"        private,slave,shared,unbindable,relatime,noatime,nodiratime,\n"
"        strictatime, or \"-\". FSTYPE, SOURCE, DATA: \"-\" for none.\n"
"        bind with ro/nosuid/nodev/noexec also remounts the bind so.\n"
"  mkdir PATH MODE\n"
"  mknod PATH MODE TYPE MAJOR MINOR UID GID     (TYPE c or b)\n"
"  symlink TARGET PATH                         (like ln -sTf)\n"
"  chmod PATH MODE\n"
"  install-if-missing SRC DST MODE\n"
"  bind-file-ro SRC DST\n"
"  bind-if-exists SRC DST                      (bind when both exist)\n"
"  bind-ro-if-exists SRC DST                   (the same, read-only)\n"
"  bind-nofollow SRC DST   recursive bind; no component of SRC may be a\n"
"                          symlink (RESOLVE_NO_SYMLINKS)\n"
"  check-containment contained|none            (the unit's fence matches)\n"
"  write-if-missing PATH MODE CONTENT          (parents made as needed)\n"
"  require-dir PATH MESSAGE                    (else print MESSAGE, fail)\n"
"  refuse-mountpoint PATH MESSAGE              (fail if PATH is a mount point)\n"
"  check-env VAR VALUE                         (\"-\": unset; else exit 75)\n"
"  check-stat PATH SIG                         (lstat signature; else exit 75)\n"
"  link-up IFNAME                              (in the current netns)\n"
"  guard ROOT       later paths under ROOT are resolved inside it: a symlink\n"
"                   there cannot lead a step out of ROOT (RESOLVE_IN_ROOT)\n"
"MODE is octal, UID/GID/MAJOR/MINOR decimal.\n"
"What mkdir, install-if-missing and write-if-missing create is removed\n"
"again when a later step fails (a failed start leaves UPPER as it was).\n"
"\n"
"  " PROG " --plan FILE [--plan FILE ...] --or PROGRAM [ARG ...]\n"
"runs the first FILE (NUL-separated arguments as above) whose leading\n"
"check-env/check-stat ops all hold; if none does (missing or stale),\n"
"execs PROGRAM (which computes a fresh plan).\n"
"\n"
"enter starts PROGRAM as PID 1 of new pid/mount/ipc/uts/time namespaces,\n"
"with ROOT (a mount point) pivoted to / and a fresh /proc, and waits until\n"
"PROGRAM (the reaper) writes \"R\" to $OVERLAY_BOOT_READY_FD.\n"
"  --hostname NAME         hostname of the new uts namespace\n"
"  --pidfile FILE          write PROGRAM's pid here once ready\n"
"  --no-wait               do not wait for readiness\n"
"  --contain               CONTAINMENT=contained: a cgroup namespace too,\n"
"                          /proc/sys read-only (but /proc/sys/net), host\n"
"                          kernel files in /proc masked, no new user\n"
"                          namespaces, CAP_SYS_ADMIN & co. dropped\n"
"  --ready-timeout SECS    give up after SECS (default 90, 0 = never)\n"
"\n"
"Exit status: 0 ready, 1 failure, 2 bad usage, 75 stale plan.\n";

#define WITH_USAGE
#include "common.h"

/* ---- ops ---------------------------------------------------------- */

static void undo_add(const char *path);
static char *guarded(char *path, char kind);
static char **orig_args;
static void fault_point(int n, const char *stage);

struct op {
	const char *name;
	int arity;
	int (*run)(char **a);	/* 0 or -1 with errno set */
	int (*check)(char **a);	/* NULL or returns a bad-arg index, -1 if ok */
	/* Per argument: 'e' an existing object, 'c' one to create, '.'
	 * anything else; see guard below. */
	const char *kinds;
};

/* The one-line error of a failed op names the op with its arguments, so
 * that the journal line alone says which step of the plan broke. */
static void op_fail(const struct op *op, char **a)
{
	int err = errno;

	fprintf(stderr, PROG ": %s", op->name);
	for (int i = 0; i < op->arity; i++)
		fprintf(stderr, " %s", a[i]);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

static int parse_mode(const char *s, mode_t *m)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (*s == '\0' || *end != '\0' || errno || v > 07777)
		return -1;
	*m = (mode_t)v;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || errno || v > max)
		return -1;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} mount_flags[] = {
	{ "ro", MS_RDONLY }, { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC }, { "bind", MS_BIND }, { "rec", MS_REC },
	{ "remount", MS_REMOUNT }, { "private", MS_PRIVATE },
	{ "slave", MS_SLAVE }, { "shared", MS_SHARED },
	{ "unbindable", MS_UNBINDABLE }, { "relatime", MS_RELATIME },
	{ "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
	{ "strictatime", MS_STRICTATIME },
};

static int parse_mount_flags(const char *s, unsigned long *out)
{
	unsigned long flags = 0;

	if (strcmp(s, "-") == 0) {
		*out = 0;
		return 0;
	}
	while (*s) {
		size_t len = strcspn(s, ",");
		size_t i;

		for (i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]); i++)
			if (strlen(mount_flags[i].name) == len &&
			    strncmp(mount_flags[i].name, s, len) == 0)
				break;
		if (i == sizeof(mount_flags) / sizeof(mount_flags[0]))
			return -1;
		flags |= mount_flags[i].flag;
		s += len;
		if (*s == ',')
			s++;
	}
	*out = flags;
	return 0;
}

static const char *dash_null(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

/* A bind remount replaces all per-mount flags; keep the ones the source
 * mount already had so that a read-only bind never loosens nosuid etc. */
static unsigned long inherited_flags(const char *target)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(target, &sv) != 0)
		return 0;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

static int remount_bind(const char *target, unsigned long flags)
{
	return mount(NULL, target, NULL,
		     MS_REMOUNT | MS_BIND | inherited_flags(target) | flags, NULL);
}

static int check_mount(char **a)
{
	unsigned long f;

	return parse_mount_flags(a[3], &f) == 0 ? -1 : 3;
}

static int run_mount(char **a)
{
	const unsigned long per_mount = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	unsigned long flags;

	parse_mount_flags(a[3], &flags);
	if (mount(dash_null(a[1]), a[2], dash_null(a[0]), flags, dash_null(a[4])) != 0)
		return -1;
	/* The kernel ignores ro & co. on a new bind mount; util-linux mount
	 * does this second step too. */
	/* a[2] may be /proc/self/fd/N of the directory under the new mount:
	 * resolve the target again to reach the mount itself. */
	if ((flags & MS_BIND) && !(flags & MS_REMOUNT) && (flags & per_mount)) {
		char *top = orig_args ? guarded(orig_args[2], 'e') : a[2];

		return top ? remount_bind(top, flags & per_mount) : -1;
	}
	return 0;
}

static int check_mode_at(char **a, int i)
{
	mode_t m;

	return parse_mode(a[i], &m) == 0 ? -1 : i;
}

static int check_mode1(char **a) { return check_mode_at(a, 1); }
static int check_mode2(char **a) { return check_mode_at(a, 2); }

static int run_mkdir(char **a)
{
	struct stat st;
	mode_t mode;

	parse_mode(a[1], &mode);
	if (mkdir(a[0], mode) != 0) {
		if (errno == EEXIST && stat(a[0], &st) == 0) {
			if (S_ISDIR(st.st_mode))
				return 0;
			errno = ENOTDIR;
		}
		return -1;
	}
	undo_add(a[0]);
	/* mkdir(2) applies the umask and may drop the sticky bit. */
	return chmod(a[0], mode);
}

static int check_mknod(char **a)
{
	unsigned long v;
	mode_t m;

	if (parse_mode(a[1], &m) != 0)
		return 1;
	if (strcmp(a[2], "c") != 0 && strcmp(a[2], "b") != 0)
		return 2;
	for (int i = 3; i <= 6; i++)
		if (parse_uint(a[i], i <= 4 ? 0xffffffffUL : 0xfffffffeUL, &v) != 0)
			return i;
	return -1;
}

static int run_mknod(char **a)
{
	unsigned long maj, min, uid, gid;
	mode_t mode, type = a[2][0] == 'c' ? S_IFCHR : S_IFBLK;
	struct stat st;
	dev_t dev;

	parse_mode(a[1], &mode);
	parse_uint(a[3], ULONG_MAX, &maj);
	parse_uint(a[4], ULONG_MAX, &min);
	parse_uint(a[5], ULONG_MAX, &uid);
	parse_uint(a[6], ULONG_MAX, &gid);
	dev = makedev(maj, min);
	if (mknod(a[0], type | mode, dev) == 0) {
		undo_add(a[0]);
	} else {
		/* The same node left by an earlier start is fine; anything
		 * else in its place is not. */
		if (errno != EEXIST || lstat(a[0], &st) != 0)
			return -1;
		if ((st.st_mode & S_IFMT) != type || st.st_rdev != dev) {
			errno = EEXIST;
			return -1;
		}
	}
	if (chmod(a[0], mode) != 0)	/* mknod(2) applies the umask */
		return -1;
	return chown(a[0], (uid_t)uid, (gid_t)gid);
}

/* A unique sibling name for write-then-rename. */
static char *tmp_name(const char *path)
{
	static unsigned counter;
	struct timespec ts;
	char *s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (asprintf(&s, "%s.tmp-%d-%u-%lx", path, (int)getpid(), counter++,
		     (unsigned long)ts.tv_nsec) < 0)
		return NULL;
	return s;
}

static int run_symlink(char **a)
{
	struct stat st;
	char *tmp;
	int err, existed = lstat(a[1], &st) == 0;

	/* Atomic replace: PATH never disappears, unlike unlink+symlink. */
	for (;;) {
		if ((tmp = tmp_name(a[1])) == NULL)
			return -1;
		if (symlink(a[0], tmp) == 0)
			break;
		err = errno;
		free(tmp);
		if (err != EEXIST) {
			errno = err;
			return -1;
		}
	}
	if (rename(tmp, a[1]) != 0) {
		err = errno;
		unlink(tmp);
		free(tmp);
		errno = err;
		return -1;
	}
	if (!existed)
		undo_add(a[1]);
	free(tmp);
	return 0;
}

static int run_chmod(char **a)
{
	mode_t mode;

	parse_mode(a[1], &mode);
	return chmod(a[0], mode);
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (char *p = buf; n > 0; ) {
			ssize_t w = write(out, p, (size_t)n);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			p += w;
			n -= w;
		}
	}
	return 0;
}

static int run_install(char **a)
{
	struct stat st;
	char *tmp = NULL;
	int in, out = -1, err;
	mode_t mode;

	parse_mode(a[2], &mode);
	/* Like 1.6's `[ ! -e ]`: a dangling symlink counts as missing. */
	if (stat(a[1], &st) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if ((in = open(a[0], O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((tmp = tmp_name(a[1])) == NULL)
		goto fail;
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		goto fail;
	/* UPPER is persistent: a crash must not leave a truncated reaper
	 * behind under the final name. */
	if (copy_fd(in, out) != 0 || fchmod(out, mode) != 0 || fsync(out) != 0)
		goto fail;
	if (close(out) != 0) {
		out = -1;
		goto fail;
	}
	out = -1;
	if (rename(tmp, a[1]) != 0)
		goto fail;
	undo_add(a[1]);
	close(in);
	free(tmp);
	return 0;
fail:
	err = errno;
	if (out >= 0)
		close(out);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	close(in);
	errno = err;
	return -1;
}

static int run_bind_file_ro(char **a)
{
	struct stat st;

	/* A directory would also bind fine but is not what the caller
	 * means; say so instead of silently hiding a tree. */
	if (stat(a[0], &st) != 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (mount(a[0], a[1], NULL, MS_BIND, NULL) != 0)
		return -1;
	a[1] = orig_args ? guarded(orig_args[1], 'e') : a[1];	/* the new mount */
	return a[1] ? remount_bind(a[1], MS_RDONLY) : -1;
}



/* ---- guard ----------------------------------------------------------- */

/* LIVE and UPPER hold what the subhost wrote: a symlink there must never
 * make a host-side step act outside them (1.6's `mkdir -p $LIVE$S` would
 * follow /srv -> /etc onto the host). After `guard ROOT`, every op path
 * under ROOT is resolved inside ROOT with openat2(RESOLVE_IN_ROOT), as
 * the subhost itself would see it once ROOT is its /, and handed to the
 * syscall as /proc/self/fd/N (the object itself) or /proc/self/fd/N/LEAF
 * (a new entry in that directory). The fds stay open: the undo list may
 * name them. */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static const char *guards[8];
static int nguards;

static int run_guard(char **a)
{
	if (nguards == (int)(sizeof(guards) / sizeof(guards[0]))) {
		errno = E2BIG;
		return -1;
	}
	guards[nguards++] = a[0];
	return 0;
}

static int open_in(const char *root, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_PATH | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	/* The root itself is the config's (trusted); opened per use, so that
	 * LIVE means the overlay once it is mounted. */
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, err;

	if (rootfd < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	err = errno;
	close(rootfd);
	errno = err;
	return fd;
}

/* PATH rewritten for kind 'e' or 'c'; NULL with errno on failure, or
 * PATH itself when no guard covers it. */
static char *guarded(char *path, char kind)
{
	const char *root = NULL, *rel;
	size_t best = 0;
	char *out = NULL, *dir, *slash;
	int fd;

	for (int i = 0; i < nguards; i++) {
		size_t n = strlen(guards[i]);

		if (n > best && strncmp(path, guards[i], n) == 0 && path[n] == '/') {
			root = guards[i];
			best = n;
		}
	}
	if (root == NULL)
		return path;
	for (rel = path + best; *rel == '/'; rel++)
		;
	if (*rel == '\0')
		return path;
	if (kind == 'e') {
		if ((fd = open_in(root, rel, 0)) < 0)
			return NULL;
		if (asprintf(&out, "/proc/self/fd/%d", fd) < 0)
			return NULL;
		return out;
	}
	if ((dir = strdup(rel)) == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	fd = open_in(root, slash ? dir : ".", O_DIRECTORY);
	if (fd < 0 || asprintf(&out, "/proc/self/fd/%d/%s", fd,
			       slash ? slash + 1 : rel) < 0)
		out = NULL;
	free(dir);
	return out;
}

/* ---- undo ---------------------------------------------------------- */

/* A failed start must leave UPPER as it found it. Mounts need no undo
 * (they die with the unit's mount namespace); files and directories made
 * by the ops do. They are recorded as made and removed, newest first,
 * when the process exits without having succeeded. */
static char **undo_list;
static size_t undo_len, undo_cap;
static int succeeded;

static void undo_add(const char *path)
{
	if (undo_len == undo_cap) {
		size_t cap = undo_cap ? undo_cap * 2 : 16;
		char **n = realloc(undo_list, cap * sizeof(*n));

		if (n == NULL)
			return;	/* best effort: better a leftover than a crash */
		undo_list = n;
		undo_cap = cap;
	}
	if ((undo_list[undo_len] = strdup(path)) != NULL)
		undo_len++;
}

static int remove_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	for (int tries = 0; tries < 2; tries++) {
		if ((S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) == 0)
			return 0;
		/* Something of ours is mounted on it (/.reaper, /dev, ...). */
		if (errno != EBUSY || umount2(path, MNT_DETACH) != 0)
			return -1;
	}
	return -1;
}

/* Silent when it works: the failure itself is the one line to read. */
static void undo_run(void)
{
	if (succeeded)
		return;
	for (size_t i = undo_len; i-- > 0; )
		if (remove_path(undo_list[i]) != 0)
			fprintf(stderr, PROG ": could not remove %s after the "
				"failure: %s\n", undo_list[i], strerror(errno));
}

/* ---- checks and conditional ops ------------------------------------ */

#define EX_STALE 75
/* A run() result meaning "failed, and the message is already printed". */
#define FAILED_QUIETLY (-2)

static int run_require_dir(char **a)
{
	struct stat st;

	if (stat(a[0], &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "%s\n", a[1]);
	return FAILED_QUIETLY;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

static int run_refuse_mountpoint(char **a)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (f == NULL)
		return -1;
	while (!found && getline(&line, &cap, f) > 0) {
		char *save = NULL, *field = strtok_r(line, " ", &save);

		for (int i = 1; field && i < 5; i++)
			field = strtok_r(NULL, " ", &save);
		if (field) {
			unescape_octal(field);
			found = strcmp(field, a[0]) == 0;
		}
	}
	free(line);
	fclose(f);
	if (!found)
		return 0;
	fprintf(stderr, "%s\n", a[1]);
	return FAILED_QUIETLY;
}

static int env_holds(char **a)
{
	const char *v = getenv(a[0]);

	return strcmp(a[1], "-") == 0 ? v == NULL : v != NULL && strcmp(v, a[1]) == 0;
}

/* The signature a plan was computed against: device, inode, size and
 * modification time of PATH (lstat), or "absent". Any edit of the config,
 * a new registry link or a changed /etc/subhosts.conf changes it. */
static int stat_holds(char **a)
{
	struct stat st;
	char sig[128];

	if (lstat(a[0], &st) != 0)
		return errno == ENOENT && strcmp(a[1], "absent") == 0;
	snprintf(sig, sizeof(sig), "%llu:%llu:%lld:%lld.%09ld",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
	return strcmp(sig, a[1]) == 0;
}

static int run_check_env(char **a)
{
	if (env_holds(a))
		return 0;
	fprintf(stderr, PROG ": plan is stale: %s differs\n", a[0]);
	exit(EX_STALE);
}

static int run_check_stat(char **a)
{
	if (stat_holds(a))
		return 0;
	fprintf(stderr, PROG ": plan is stale: %s changed\n", a[0]);
	exit(EX_STALE);
}

static char *guarded(char *path, char kind);

/* Bring a link of the current network namespace up (the subhost's lo:
 * systemd put us in its netns), without starting ip(8). */
static int run_link_up(char **a)
{
	struct ifreq ifr;
	int fd, r = -1;

	if (strlen(a[0]) >= IFNAMSIZ) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, a[0]);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r;
}

static int run_bind_if_exists(char **a)
{
	char *dst;

	if (access(a[0], F_OK) != 0)
		return 0;
	if ((dst = guarded(a[1], 'e')) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (access(dst, F_OK) != 0)
		return 0;
	return mount(a[0], dst, NULL, MS_BIND, NULL);
}

static int run_bind_ro_if_exists(char **a)
{
	char *dst;

	if (access(a[0], F_OK) != 0)
		return 0;
	if ((dst = guarded(a[1], 'e')) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (access(dst, F_OK) != 0)
		return 0;
	if (mount(a[0], dst, NULL, MS_BIND, NULL) != 0)
		return -1;
	dst = guarded(a[1], 'e');	/* the new mount, not the one below */
	return dst ? remount_bind(dst, MS_RDONLY) : -1;
}

/* SHARE's host directory: a symlink anywhere on its path (one planted in
 * another subhost's UPPER, say) must not hand out a different tree. The
 * source is opened once without following any, and bound by its fd. */
static int run_bind_nofollow(char **a)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	char src[32];
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, a[0], &how, sizeof(how));
	int r, err;

	if (fd < 0)
		return -1;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	r = mount(src, a[1], NULL, MS_BIND | MS_REC, NULL);
	err = errno;
	close(fd);
	errno = err;
	return r;
}

static int check_containment(char **a)
{
	return strcmp(a[0], "contained") == 0 || strcmp(a[0], "none") == 0 ? -1 : 0;
}

static int run_check_containment(char **a)
{
	if (contain_check(strcmp(a[0], "contained") == 0) != 0)
		exit(1);
	return 0;
}

/* mkdir -p of PATH's parents, recording what it made; each level is
 * resolved under the guard (see above). */
static int make_parents(const char *path)
{
	char *p = strdup(path);

	if (p == NULL)
		return -1;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		char *g;
		int made;

		*s = '\0';
		g = guarded(p, 'c');
		made = g != NULL && mkdir(g, 0755) == 0;
		if (g == NULL || (!made && errno != EEXIST)) {
			free(p);
			return -1;
		}
		if (made)
			undo_add(g);
		*s = '/';
	}
	free(p);
	return 0;
}

static int run_write_if_missing(char **a)
{
	struct stat st;
	mode_t mode;
	size_t len = strlen(a[2]);
	int fd;

	char *path;

	parse_mode(a[1], &mode);
	if (make_parents(a[0]) != 0 || (path = guarded(a[0], 'c')) == NULL)
		return -1;
	if (lstat(path, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	undo_add(path);
	if (write(fd, a[2], len) != (ssize_t)len || fchmod(fd, mode) != 0 ||
	    close(fd) != 0)
		return -1;
	return 0;
}

static const struct op ops[] = {
	{ "mount", 5, run_mount, check_mount, "..e.." },
	{ "mkdir", 2, run_mkdir, check_mode1, "c." },
	{ "mknod", 7, run_mknod, check_mknod, "c......" },
	{ "symlink", 2, run_symlink, NULL, ".c" },
	{ "chmod", 2, run_chmod, check_mode1, "e." },
	{ "install-if-missing", 3, run_install, check_mode2, ".c." },
	{ "bind-file-ro", 2, run_bind_file_ro, NULL, ".e" },
	{ "bind-if-exists", 2, run_bind_if_exists, NULL, ".." },
	{ "bind-ro-if-exists", 2, run_bind_ro_if_exists, NULL, ".." },
	{ "bind-nofollow", 2, run_bind_nofollow, NULL, ".e" },
	{ "check-containment", 1, run_check_containment, check_containment, "." },
	{ "write-if-missing", 3, run_write_if_missing, check_mode1, "..." },
	{ "require-dir", 2, run_require_dir, NULL, ".." },
	{ "refuse-mountpoint", 2, run_refuse_mountpoint, NULL, ".." },
	{ "check-env", 2, run_check_env, NULL, ".." },
	{ "check-stat", 2, run_check_stat, NULL, ".." },
	{ "guard", 1, run_guard, NULL, "." },
	{ "link-up", 1, run_link_up, NULL, "." },
};

static const struct op *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

/* ---- enter -------------------------------------------------------- */

struct enter_args {
	const char *hostname;
	const char *pidfile;
	int no_wait;
	int contain;		/* CONTAINMENT=contained */
	int timeout_ms;		/* -1: wait forever */
	const char *root;
	char **argv;		/* PROGRAM ARG... */
};

static void die(const char *what, const char *arg)
{
	int err = errno;

	if (arg)
		fprintf(stderr, PROG ": %s %s: %s\n", what, arg, strerror(err));
	else
		fprintf(stderr, PROG ": %s: %s\n", what, strerror(err));
	exit(1);
}

/* Runs as PID 1 of the new pid namespace; any failure ends it all. */
static void child(const struct enter_args *e, int ready_w)
{
	sigset_t none;
	char buf[16];

#define CHILD_DIE(what, arg) do { \
	fprintf(stderr, PROG ": %s %s: %s\n", what, arg, strerror(errno)); \
	_exit(1); \
} while (0)

	/* The mount namespace is unshared here, not in the parent: the
	 * pivot_root below moves the root of every process in the
	 * namespace whose root is the old one, and the parent must keep
	 * its view to write the pidfile and report errors. */
	/* A cgroup namespace rooted at the unit's cgroup (where this
	 * process is): the subhost sees its own cgroup as / and no path
	 * to any other. */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
		    (e->contain ? CLONE_NEWCGROUP : 0)) != 0)
		CHILD_DIE("unshare", e->contain ? "mnt,ipc,uts,cgroup" : "mnt,ipc,uts");
	/* Nothing may propagate between the subhost and anything else. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		CHILD_DIE("make private", "/");
	if (e->hostname && sethostname(e->hostname, strlen(e->hostname)) != 0)
		CHILD_DIE("sethostname", e->hostname);
	if (chdir(e->root) != 0)
		CHILD_DIE("chdir", e->root);
	if (syscall(SYS_pivot_root, ".", ".") != 0) {
		fprintf(stderr, PROG ": pivot_root %s: %s%s\n", e->root,
			strerror(errno),
			errno == EINVAL || errno == EBUSY ?
				" (is it a mount point?)" : "");
		_exit(1);
	}
	/* The old root is stacked on "." now. Detaching it closes the
	 * escape hole 1.6 closed: setns() into this mount namespace would
	 * otherwise still reach the host's tree. */
	if (umount2(".", MNT_DETACH) != 0)
		CHILD_DIE("umount old root", "(detach)");
	if (chdir("/") != 0)
		CHILD_DIE("chdir", "/");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		CHILD_DIE("mount proc on", "/proc");
	if (e->contain && contain_proc() != 0)
		_exit(1);
	if (ready_w >= 0) {
		/* fd 3: a shell (dash) can only redirect single-digit fds, and
		 * the init script closes this one for the services it starts. */
		if (ready_w != 3) {
			if (dup2(ready_w, 3) != 3)
				CHILD_DIE("dup2", "ready fd");
			close(ready_w);
			ready_w = 3;
		}
		if (fcntl(ready_w, F_SETFD, 0) != 0)
			CHILD_DIE("fcntl", "ready fd");
		snprintf(buf, sizeof(buf), "%d", ready_w);
		if (setenv("OVERLAY_BOOT_READY_FD", buf, 1) != 0)
			CHILD_DIE("setenv", "OVERLAY_BOOT_READY_FD");
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Last: from here on this process has only what the subhost gets. */
	if (e->contain && contain_before_exec() != 0)
		_exit(1);
	execv(e->argv[0], e->argv);
	CHILD_DIE("exec", e->argv[0]);
#undef CHILD_DIE
}

/* On failure the subhost must not run on unaccounted for: kill it. */
static void write_pidfile(const char *path, pid_t pid)
{
	char *tmp = tmp_name(path);
	char buf[32];
	int fd = -1, len, err;

	len = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (tmp != NULL &&
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) >= 0 &&
	    write(fd, buf, (size_t)len) == len && fchmod(fd, 0644) == 0 &&
	    close(fd) == 0 && rename(tmp, path) == 0) {
		free(tmp);
		return;
	}
	err = errno;
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	errno = err;
	die("write pidfile", path);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}


/* Kill and reap the child, then say what happened in one line, exit 1.
 * With an EOF, what happened is ambiguous: a dying child closes its fds
 * before it can be reaped. Its exit code is fixed by then and our SIGKILL
 * does not change it, so whatever status we reap other than our SIGKILL
 * is the real story. */
enum why { EXITED, EOF_SEEN, BAD_BYTE, TIMEOUT };

static void give_up(pid_t pid, const struct enter_args *e, enum why why)
{
	const char *prog = e->argv[0];
	char how[80];
	int status = 0;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if ((why == EOF_SEEN || why == BAD_BYTE) &&
	    !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		why = EXITED;
	switch (why) {
	case EXITED:
		describe(status, how, sizeof(how));
		fprintf(stderr, PROG ": %s %s before the subhost was ready\n",
			prog, how);
		break;
	case EOF_SEEN:
		fprintf(stderr, PROG ": %s closed the readiness fd without "
			"writing R; killed it\n", prog);
		break;
	case BAD_BYTE:
		fprintf(stderr, PROG ": %s wrote something other than R to "
			"the readiness fd; killed it\n", prog);
		break;
	case TIMEOUT:
		fprintf(stderr, PROG ": %s was not ready after %g s (timeout); "
			"killed it\n", prog, e->timeout_ms / 1000.0);
		break;
	}
	exit(1);
}

/* Has the child exited? Does not reap it. */
static int child_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == pid;
}

static void wait_ready(const struct enter_args *e, pid_t pid, int ready_r)
{
	long deadline = e->timeout_ms < 0 ? -1 : now_ms() + e->timeout_ms;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = ready_r, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		/* Without pidfds (kernel < 5.3), look at the child now and
		 * then instead. */
		int slice = pidfd >= 0 ? -1 : 200;
		int left = -1, n;
		ssize_t r;
		char c;

		if (deadline >= 0) {
			left = (int)(deadline - now_ms());
			if (left <= 0)
				give_up(pid, e, TIMEOUT);
		}
		if (slice >= 0 && (left < 0 || slice < left))
			left = slice;
		n = poll(p, pidfd >= 0 ? 2 : 1, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("poll", NULL);
		}
		/* The pipe first: "R" then a quick exit is still ready. */
		if (p[0].revents) {
			r = read(ready_r, &c, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 1 && c == 'R')
				return;
			give_up(pid, e, r == 1 ? BAD_BYTE : EOF_SEEN);
		}
		if (child_exited(pid))
			give_up(pid, e, EXITED);
	}
}

static void enter(const struct enter_args *e)
{
	int ready[2] = { -1, -1 };
	pid_t pid;

	fault_point(0, "enter");
	/* PID and time namespaces apply to children only, so the parent
	 * stays where it is. */
	if (unshare(CLONE_NEWPID | CLONE_NEWTIME) != 0) {
		if (errno != EINVAL)
			die("unshare", "pid,time");
		/* Kernels without CONFIG_TIME_NS: the time namespace is a
		 * nicety (1.6 used unshare -T), not worth failing for. */
		fprintf(stderr, PROG ": no time namespace support, "
			"continuing without\n");
		if (unshare(CLONE_NEWPID) != 0)
			die("unshare", "pid");
	}
	if (!e->no_wait && pipe2(ready, O_CLOEXEC) != 0)
		die("pipe", NULL);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) {
		child(e, ready[1]);
		_exit(1);
	}
	if (e->no_wait) {
		if (e->pidfile)
			write_pidfile(e->pidfile, pid);
		succeeded = 1;
		exit(0);
	}
	close(ready[1]);
	wait_ready(e, pid, ready[0]);
	fault_point(0, "ready");
	if (e->pidfile)
		write_pidfile(e->pidfile, pid);
	succeeded = 1;
	exit(0);
}

static void parse_enter(int argc, char **argv, int i, struct enter_args *e)
{
	memset(e, 0, sizeof(*e));
	e->timeout_ms = 90000;
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--no-wait") == 0) {
			e->no_wait = 1;
		} else if (strcmp(a, "--contain") == 0) {
			e->contain = 1;
		} else if (strcmp(a, "--hostname") == 0 ||
			   strcmp(a, "--pidfile") == 0 ||
			   strcmp(a, "--ready-timeout") == 0) {
			if (i + 1 >= argc)
				usage_error("enter %s: missing value", a);
			const char *v = argv[++i];

			if (a[2] == 'h') {
				if (*v == '\0' || strlen(v) > 64)
					usage_error("enter --hostname: bad name '%s'", v);
				e->hostname = v;
			} else if (a[2] == 'p') {
				if (*v == '\0')
					usage_error("enter --pidfile: %sempty name", "");
				e->pidfile = v;
			} else {
				char *end;
				double s;

				errno = 0;
				s = strtod(v, &end);
				if (*v == '\0' || *end != '\0' || errno ||
				    !(s >= 0) || s > 86400 * 365)
					usage_error("enter --ready-timeout: bad value '%s'", v);
				e->timeout_ms = s == 0 ? -1 : (int)(s * 1000 + 0.5);
			}
		} else if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
			usage_error("enter: unknown option %s", a);
		} else {
			break;
		}
	}
	if (i >= argc)
		usage_error("enter: missing ROOT%s", "");
	e->root = argv[i++];
	if (i >= argc || strcmp(argv[i], "--") != 0)
		usage_error("enter: expected -- after ROOT %s", e->root);
	i++;
	if (i >= argc)
		usage_error("enter: missing PROGRAM%s", "");
	if (argv[i][0] != '/')
		usage_error("enter: PROGRAM must be an absolute path: %s", argv[i]);
	e->argv = &argv[i];
}

/* Fault injection for the hardening tests: OVERLAY_BOOT_FAULT_KILL_AT=N
 * (before the Nth op), =enter (before the namespaces are made) or =ready
 * (the subhost is ready, its pidfile not written yet) SIGKILLs this
 * process there, as a crash at that point would. */
static void fault_point(int n, const char *stage)
{
	const char *at = getenv("OVERLAY_BOOT_FAULT_KILL_AT");
	char num[16];

	if (at == NULL)
		return;
	snprintf(num, sizeof(num), "%d", n);
	if (stage ? strcmp(at, stage) == 0 : strcmp(at, num) == 0)
		raise(SIGKILL);
}

static int run_args(int argc, char **argv)
{
	struct enter_args e;
	int have_enter = 0, i, n;

	/* Parse everything before running anything: a typo in the plan
	 * must not leave half of it done. */
	for (i = 1; i < argc; ) {
		const struct op *op;
		int bad;

		if (strcmp(argv[i], "enter") == 0) {
			parse_enter(argc, argv, i + 1, &e);
			have_enter = 1;
			break;
		}
		if ((op = find_op(argv[i])) == NULL)
			usage_error("unknown op '%s'", argv[i]);
		if (argc - i - 1 < op->arity)
			usage_error("%s: too few arguments", op->name);
		if (op->check && (bad = op->check(&argv[i + 1])) >= 0) {
			fprintf(stderr, PROG ": %s: bad argument '%s'\n\n%s",
				op->name, argv[i + 1 + bad], usage_text);
			return 2;
		}
		i += 1 + op->arity;
	}

	/* fds 0-2 may be closed by a careless caller; keep the readiness
	 * pipe and the files we open from landing on them. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			die("open", "/dev/null");

	for (i = 1, n = 1; i < argc && strcmp(argv[i], "enter") != 0; n++) {
		fault_point(n, NULL);
		const struct op *op = find_op(argv[i]);

		char *args[8];
		int r = 0;

		orig_args = &argv[i + 1];
		for (int k = 0; k < op->arity; k++) {
			args[k] = argv[i + 1 + k];
			if (op->kinds[k] != '.' &&
			    (args[k] = guarded(argv[i + 1 + k], op->kinds[k])) == NULL) {
				r = -1;
				break;
			}
		}
		if (r == 0)
			r = op->run(args);
		if (r == FAILED_QUIETLY)
			exit(1);
		if (r != 0)
			op_fail(op, &argv[i + 1]);
		i += 1 + op->arity;
	}
	if (have_enter)
		enter(&e);
	succeeded = 1;
	return 0;
}

/* ---- plans ---------------------------------------------------------- */

/* A plan file: the arguments of one run, NUL-separated (argv[0] first). */
static char **read_plan(const char *path, int *argc)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf, **argv;
	size_t n = 0;
	ssize_t got;
	int count = 0;

	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && n < (size_t)st.st_size &&
	       (got = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)got;
	close(fd);
	if (buf == NULL || n != (size_t)st.st_size || buf[n - 1] != '\0') {
		free(buf);
		return NULL;	/* unreadable or torn: treat as missing */
	}
	for (size_t i = 0; i < n; i++)
		count += buf[i] == '\0';
	if ((argv = calloc((size_t)count + 1, sizeof(*argv))) == NULL)
		return NULL;
	for (size_t i = 0, k = 0; i < n; i += strlen(buf + i) + 1)
		argv[k++] = buf + i;
	*argc = count;
	return argv;
}

/* Do the plan's leading check-env/check-stat ops all hold? */
static int plan_holds(int argc, char **argv)
{
	for (int i = 1; i + 2 < argc; i += 3) {
		if (strcmp(argv[i], "check-env") == 0) {
			if (!env_holds(&argv[i + 1]))
				return 0;
		} else if (strcmp(argv[i], "check-stat") == 0) {
			if (!stat_holds(&argv[i + 1]))
				return 0;
		} else {
			break;
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage_error("nothing to do%s", "");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	atexit(undo_run);
	if (strcmp(argv[1], "--plan") == 0) {
		int i = 1;

		for (; i + 1 < argc && strcmp(argv[i], "--plan") == 0; i += 2) {
			int pargc;
			char **pargv;

			if (argv[i + 1][0] == '\0')
				continue;	/* an unset ${VAR} in a unit */
			pargv = read_plan(argv[i + 1], &pargc);
			if (pargv && pargc >= 1 && plan_holds(pargc, pargv))
				return run_args(pargc, pargv);
			free(pargv ? pargv[0] : NULL);
			free(pargv);
		}
		if (i >= argc || strcmp(argv[i], "--or") != 0 || i + 1 >= argc)
			usage_error("--plan FILE ... needs --or PROGRAM%s", "");
		if (argv[i + 1][0] != '/')
			usage_error("--or: PROGRAM must be an absolute path: %s", argv[i + 1]);
		execv(argv[i + 1], &argv[i + 1]);
		die("exec", argv[i + 1]);
	}
	return run_args(argc, argv);
}
