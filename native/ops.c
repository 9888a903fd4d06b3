/*
 * ops.c - the op interpreter of subhost-enter: each op is one fixed-arity
 * step of the start plan (lib/plan/ops.ts computes them), performed with
 * plain syscalls in the unit's private mount namespace. The whole list is
 * parsed before anything runs (ops_check), so that a typo in a plan never
 * leaves half of it done. Paths under a guard are resolved inside it
 * (guard.c); what the ops make is recorded for the undo (undo.c).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common.h"
#include "console.h"
#include "contain.h"
#include "guard.h"
#include "journal.h"
#include "lock.h"
#include "log.h"
#include "ops.h"
#include "subhost-enter.h"
#include "undo.h"
#include "userns.h"

/* The arguments of the op being run as the plan has them, before the
 * guard rewrote them: a bind's target is resolved again after the mount,
 * to reach the new mount rather than the directory below it. */
static char **orig_args;

struct op {
	const char *name;
	int arity;
	int (*run)(char **a);	/* 0 or -1 with errno set */
	int (*check)(char **a);	/* NULL or returns a bad-arg index, -1 if ok */
	/* Per argument: 'e' an existing object, 'c' one to create, '.'
	 * anything else; see guard.c. */
	const char *kinds;
};

/* The one-line error of a failed op names the op with its arguments, so
 * that the journal line alone says which step of the plan broke. */
static void op_fail(const struct op *op, char **a)
{
	int err = errno;

	fprintf(stderr, PROG ": %s", op->name);
	/* A file's content (write-if-missing) is not a name: one line. */
	for (int i = 0; i < op->arity; i++)
		if (strchr(a[i], '\n'))
			fprintf(stderr, " (%zu bytes)", strlen(a[i]));
		else
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

		for (i = 0; i < countof(mount_flags); i++)
			if (strlen(mount_flags[i].name) == len &&
			    strncmp(mount_flags[i].name, s, len) == 0)
				break;
		if (i == countof(mount_flags))
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

	char data[256];
	const char *gid;

	parse_mount_flags(a[3], &flags);
	/* devpts' gid= (the tty group of new ptys) is a host id: with a user
	 * namespace, the subhost's group of that number. */
	if (userns_fd() >= 0 && strcmp(a[0], "devpts") == 0 && (gid = strstr(a[4], "gid=")) &&
	    (gid == a[4] || gid[-1] == ',')) {
		snprintf(data, sizeof(data), "%.*sgid=%lu%s", (int)(gid - a[4]), a[4],
			 strtoul(gid + 4, NULL, 10) + userns_base(), gid + 4 + strspn(gid + 4, "0123456789"));
		a[4] = data;
	}
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
	/* The owners are the subhost's ids: with a user namespace, its range. */
	if (userns_fd() >= 0) {
		uid += userns_base();
		gid += userns_base();
	}
	return chown(a[0], (uid_t)uid, (gid_t)gid);
}

/*
 * Each step of a write into UPPER (create, data, fsync, rename, directory
 * fsync, in that order per file) is a fault point "write:N", N counting
 * from 1 over the whole run: test/native/power-cut.test.ts kills the start
 * there and cuts the filesystem off (FS_IOC_SHUTDOWN), at each N in turn.
 */
static void write_step(void)
{
	static int steps;
	char stage[24];

	snprintf(stage, sizeof(stage), "write:%d", ++steps);
	fault_point(0, stage);
}

/*
 * Everything a start writes into UPPER is the subhost's from then on, and
 * must survive a power cut whole or not at all: written under a temporary
 * name next to it, fsynced, renamed over (never replacing what is there),
 * and the directory fsynced. The temporary name is fixed per file
 * (".LEAF.overlay-boot-new"): one start at a time holds UPPER (lock.c),
 * so the next start finds what an interrupted one left under it and
 * removes it before it writes, before the subhost can see it.
 */
static char *sibling_tmp(const char *path)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	char *s;

	if (asprintf(&s, "%.*s.%s.overlay-boot-new", dirlen, path, path + dirlen) < 0)
		return NULL;
	return s;
}

/* PATH's directory, fsynced: a rename in it is on disk. */
static int sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1, r, err;

	free(dir);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return r;
}

/* A leftover TMP of an interrupted start goes; then the new one, which the
 * undo journal notes first (ORIG: the op's unguarded path). */
static int open_tmp(const char *tmp, const char *orig)
{
	char *otmp = orig ? sibling_tmp(orig) : NULL;

	if (unlink(tmp) != 0 && errno != ENOENT) {
		free(otmp);
		return -1;
	}
	if (otmp)
		journal_note(otmp);
	free(otmp);
	write_step();
	return open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* TMP (written, fsynced, closed) becomes PATH, which must not exist. */
static int commit_tmp(const char *tmp, const char *path)
{
	write_step();
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0)
		return -1;
	undo_add(path);
	write_step();
	return sync_parent(path);
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
	if ((tmp = sibling_tmp(a[1])) == NULL)
		return -1;
	/* Like 1.6's `[ ! -e ]`: a dangling symlink counts as missing. */
	if (stat(a[1], &st) == 0) {
		/* Installed; what an interrupted start left beside it goes. */
		if (unlink(tmp) != 0 && errno != ENOENT)
			goto fail_early;
		free(tmp);
		return 0;
	}
	if (errno != ENOENT)
		goto fail_early;
	if ((in = open(a[0], O_RDONLY | O_CLOEXEC)) < 0)
		goto fail_early;
	out = open_tmp(tmp, orig_args ? orig_args[1] : NULL);
	if (out < 0)
		goto fail;
	/* UPPER is persistent: a crash must not leave a truncated reaper
	 * behind under the final name. */
	write_step();
	if (copy_fd(in, out) != 0 || fchmod(out, mode) != 0 ||
	    (write_step(), fsync(out)) != 0)
		goto fail;
	if (close(out) != 0) {
		out = -1;
		goto fail;
	}
	out = -1;
	if (commit_tmp(tmp, a[1]) != 0)
		goto fail;
	close(in);
	free(tmp);
	return 0;
fail:
	err = errno;
	if (out >= 0)
		close(out);
	unlink(tmp);
	close(in);
	errno = err;
fail_early:
	err = errno;
	free(tmp);
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

/* The host's journal socket SRC, on a new empty file DST (in the
 * subhost's own /dev or /run tmpfs), read-only: a socket connects on a
 * read-only mount, but root inside can then neither chmod nor chown the
 * host's socket through it. No socket at SRC (no journald on the host):
 * nothing to do, the subhost starts without it. */
static int run_bind_socket_ro(char **a)
{
	struct stat st;
	int fd;

	if (stat(a[0], &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	fd = open(a[1], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	undo_add(a[1]);
	if (mount(a[0], a[1], NULL, MS_BIND, NULL) != 0)
		return -1;
	a[1] = orig_args ? guarded(orig_args[1], 'e') : a[1];	/* the new mount */
	return a[1] ? remount_bind(a[1], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) : -1;
}

/* ---- checks and conditional ops ------------------------------------ */

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

static int env_holds(char **a) { return plan_env_holds(a[0], a[1]); }
static int stat_holds(char **a) { return plan_stat_holds(a[0], a[1]); }

static int run_check_env(char **a)
{
	if (env_holds(a))
		return 0;
	fprintf(stderr, "%s" PROG ": plan is stale: %s differs\n", log_prefix(SD_NOTICE), a[0]);
	exit(EX_STALE);
}

static int run_check_stat(char **a)
{
	if (stat_holds(a))
		return 0;
	fprintf(stderr, "%s" PROG ": plan is stale: %s changed\n", log_prefix(SD_NOTICE), a[0]);
	exit(EX_STALE);
}

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

/* SRC bound on DST when both exist, then read-only if RO. */
static int bind_if_exists(char **a, int ro)
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
	if (!ro)
		return 0;
	dst = guarded(a[1], 'e');	/* the new mount, not the one below */
	return dst ? remount_bind(dst, MS_RDONLY) : -1;
}

static int run_bind_if_exists(char **a) { return bind_if_exists(a, 0); }
static int run_bind_ro_if_exists(char **a) { return bind_if_exists(a, 1); }

/* Attach detached mount TREE (closed) on DST, which may be a guarded
 * /proc/self/fd/N (followed, as mount(2) follows it). */
static int move_tree(int tree, const char *dst)
{
	int r = (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, dst,
			     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS), err = errno;

	close(tree);
	errno = err;
	return r;
}

/* SHARE's host directory: a symlink anywhere on its path (one planted in
 * another subhost's UPPER, say) must not hand out a different tree. The
 * source is opened once without following any, and bound by its fd. */
static int run_bind_nofollow(char **a)
{
	char src[32];
	int fd = openat2_resolve(AT_FDCWD, a[0], O_PATH | O_DIRECTORY | O_CLOEXEC,
				 RESOLVE_NO_SYMLINKS);
	int r, err;

	if (fd < 0)
		return -1;
	if (userns_fd() >= 0) {
		/* The host's owners as the subhost sees its own: 0 is root inside.
		 * A file system without idmapped mounts (EINVAL): bound as it
		 * is, owned by nobody inside (root inside writes none of the
		 * host root's files there), and said so. */
		int tree = userns_idmapped_tree(fd, "", 1);

		if (tree < 0 && errno == EINVAL) {
			fprintf(stderr, "%s: SHARE %s: its file system has no idmapped mounts: bound as it is "
				"(its owners show as nobody in the subhost)\n", PROG, a[0]);
			tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					    AT_RECURSIVE | AT_EMPTY_PATH);
		}
		r = tree < 0 ? -1 : move_tree(tree, a[1]);
	} else {
		snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
		r = mount(src, a[1], NULL, MS_BIND | MS_REC, NULL);
	}
	err = errno;
	close(fd);
	errno = err;
	return r;
}

/* ---- CONTAINMENT=private-users (userns.c) ---------------------------- */

/* From here on, what this process makes is root's inside (userns.c). */
static int run_private_users(char **a)
{
	if (userns_open(a[0]) != 0)
		return FAILED_QUIETLY;
	return userns_fsuid_enter();
}

/* The idmapped ops come after a private-users op. */
static int no_userns(void)
{
	if (userns_fd() >= 0)
		return 0;
	fprintf(stderr, "%s: an idmapped mount before the private-users op\n", PROG);
	return 1;
}

/* Where this mount namespace (the unit's own) attaches the idmapped
 * layers for the overlay to find by path: a tmpfs of its own there, gone
 * right after the mount (overlayfs keeps private clones of its layers). */
#define STAGE "/run/overlay-boot/layers"
#define MAX_LAYERS 16

/* lowerdir's layers of the overlay mounted on DIR (from mountinfo, topmost
 * first: its upperdir, then its lowerdirs) into LAYERS; their number, or
 * -1. A LOWER that is itself an overlay (a host whose / is one) cannot be
 * idmapped; its layers can. */
static int overlay_layers(const char *dir, char *buf, size_t len, char *layers[MAX_LAYERS])
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *opts = NULL;
	size_t cap = 0;
	int n = 0;

	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *w[12] = { 0 }, *t;
		int k = 0, dash = -1;

		for (t = strtok_r(line, " \n", &save); t && k < 12; t = strtok_r(NULL, " \n", &save)) {
			if (dash < 0 && strcmp(t, "-") == 0)
				dash = k;
			w[k++] = t;
		}
		if (dash < 0 || dash + 3 >= k || !w[4])
			continue;
		unescape_octal(w[4]);
		if (strcmp(w[4], dir) == 0 && strcmp(w[dash + 1], "overlay") == 0) {
			snprintf(buf, len, "%s", w[dash + 3]);
			opts = buf;	/* the last (topmost) one wins */
		}
	}
	free(line);
	fclose(f);
	if (opts == NULL)
		return -1;
	char *upper = NULL, *lower = NULL, *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "upperdir=", 9) == 0)
			upper = o + 9;
		else if (strncmp(o, "lowerdir=", 9) == 0)
			lower = o + 9;
	}
	if (lower == NULL || strstr(lower, "::"))
		return -1;	/* none, or data-only layers: not a stack we can rebuild */
	if (upper) {
		unescape_octal(upper);
		layers[n++] = upper;
	}
	for (char *l = strtok_r(lower, ":", &save); l && n < MAX_LAYERS; l = strtok_r(NULL, ":", &save)) {
		unescape_octal(l);
		layers[n++] = l;
	}
	return n;
}

/* Commas and colons split overlayfs options; backslash escapes them. */
static void append_escaped(char *opts, size_t len, const char *s)
{
	size_t at = strlen(opts);

	for (; *s && at + 2 < len; s++) {
		if (*s == ',' || *s == ':' || *s == '\\')
			opts[at++] = '\\';
		opts[at++] = *s;
	}
	opts[at] = '\0';
}

/*
 * LOWER, and UPPER and WORK (subdirectories of one clone of their common
 * ancestor: overlayfs wants them on one mount), idmapped, then the
 * overlay of them on LIVE, mounted with fsuid BASE (userns.c): the
 * credentials its copy-up uses.
 */
static int run_overlay_idmapped(char **a)
{
	char common[PATH_MAX], layer_opts[1024], opts[4096], dir[PATH_MAX + 16];
	char *layers[MAX_LAYERS];
	const char *upper = a[1], *work = a[2];
	size_t c = 0;
	int trees[MAX_LAYERS + 1], n = 0, nl, r = -1, err, live = -1;

	/* The longest common prefix, cut back to a whole directory. */
	while (upper[c] && upper[c] == work[c])
		c++;
	if (!((upper[c] == '/' || !upper[c]) && (work[c] == '/' || !work[c])))
		while (c > 0 && upper[c] != '/')
			c--;
	if (no_userns())
		return FAILED_QUIETLY;
	snprintf(common, sizeof(common), "%.*s", c ? (int)c : 1, upper);
	if ((trees[n] = userns_idmapped_tree(AT_FDCWD, a[0], 0)) >= 0) {
		n++;
		nl = 1;
	} else {
		struct statfs sf;

		if (errno != EINVAL || statfs(a[0], &sf) != 0 || sf.f_type != 0x794c7630 /* overlayfs */ ||
		    (nl = overlay_layers(a[0], layer_opts, sizeof(layer_opts), layers)) <= 0) {
			fprintf(stderr, "%s: CONTAINMENT=private-users: LOWER %s cannot be seen through "
				"an id map (its file system does not support idmapped mounts): "
				"use CONTAINMENT=contained for it\n", PROG, a[0]);
			return FAILED_QUIETLY;
		}
		for (; n < nl; n++)
			if ((trees[n] = userns_idmapped_tree(AT_FDCWD, layers[n], 0)) < 0) {
				fprintf(stderr, "%s: CONTAINMENT=private-users: layer %s of LOWER %s "
					"cannot be idmapped: %s\n", PROG, layers[n], a[0], strerror(errno));
				goto out;
			}
	}
	if ((trees[n++] = userns_idmapped_tree(AT_FDCWD, common, 0)) < 0) {
		n--;
		goto out;
	}
	/* The stage is the host's (root's), not the subhost's. */
	userns_fsuid_leave();
	if ((mkdir("/run/overlay-boot", 0755) != 0 && errno != EEXIST) ||
	    (mkdir(STAGE, 0700) != 0 && errno != EEXIST) ||
	    mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=700") != 0) {
		err = errno;
		userns_fsuid_enter();
		errno = err;
		goto out;
	}
	/* UPPER's and WORK's clone is stacked on their common ancestor
	 * itself (LIVE was resolved before, below it), so that the overlay's
	 * options name UPPER as it is (mountinfo: overlay-clean-root finds
	 * the subhost using it); unless that is /, where a stacked mount
	 * is not what paths resolve through. */
	int stacked = strcmp(common, "/") != 0;
	size_t ll = strlen(a[0]);
	/* LOWER's clone likewise, on LOWER (after the other: LOWER may be
	 * below their ancestor), unless LOWER is / or above them. */
	int lower_stacked = nl == 1 && stacked && strcmp(a[0], "/") != 0 &&
			    !(strncmp(common, a[0], ll) == 0 && (common[ll] == '/' || common[ll] == '\0'));
	char target[32];

	if ((live = open(a[3], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto unstage;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", live);

	snprintf(opts, sizeof(opts), "lowerdir=");
	if (lower_stacked) {
		if (move_tree(trees[n - 1], common) != 0)
			goto unstage;
		trees[n - 1] = -1;
		if (move_tree(trees[0], a[0]) != 0)
			goto unstage;
		trees[0] = -1;
		append_escaped(opts, sizeof(opts), a[0]);
	}
	for (int i = lower_stacked ? n : 0; i < n; i++) {
		snprintf(dir, sizeof(dir), STAGE "/%d", i);
		if (i == n - 1 && stacked) {
			if (move_tree(trees[i], common) != 0)
				goto unstage;
			trees[i] = -1;
			break;
		}
		if (mkdir(dir, 0700) != 0 || move_tree(trees[i], dir) != 0)
			goto unstage;
		trees[i] = -1;
		if (i < n - 1)
			snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%s" STAGE "/%d", i ? ":" : "", i);
	}
	if (stacked) {
		strcat(opts, ",upperdir=");
		append_escaped(opts, sizeof(opts), upper);
		strcat(opts, ",workdir=");
		append_escaped(opts, sizeof(opts), work);
	} else {
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), ",upperdir=" STAGE "/%d", n - 1);
		append_escaped(opts, sizeof(opts), upper);
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), ",workdir=" STAGE "/%d", n - 1);
		append_escaped(opts, sizeof(opts), work);
	}
	/* Mounted with fsuid BASE: the credentials overlayfs copies up with. */
	if (userns_fsuid_enter() == 0)
		r = mount("overlay", target, "overlay", 0, opts);
unstage:
	err = errno;
	userns_fsuid_enter();	/* for the ops after this one, also after a failure's undo */
	umount2(STAGE, MNT_DETACH);
	/* The stacked clones: the overlay has its own. */
	if (lower_stacked && trees[0] < 0)
		umount2(a[0], MNT_DETACH);
	if (stacked && trees[n - 1] < 0)
		umount2(common, MNT_DETACH);
	errno = err;
out:
	err = errno;
	for (int i = 0; i < n; i++)
		if (trees[i] >= 0)
			close(trees[i]);
	if (live >= 0)
		close(live);
	errno = err;
	return r;
}

/* SRC idmapped (with its submounts if REC is "rec") on DST. */
static int run_bind_idmapped(char **a)
{
	int tree;

	if (no_userns())
		return FAILED_QUIETLY;
	tree = userns_idmapped_tree(AT_FDCWD, a[0], strcmp(a[2], "rec") == 0);
	return tree < 0 ? -1 : move_tree(tree, a[1]);
}

static int check_rec(char **a)
{
	return strcmp(a[2], "rec") == 0 || strcmp(a[2], "-") == 0 ? -1 : 2;
}

static int check_containment(char **a)
{
	return strcmp(a[0], "contained") == 0 || strcmp(a[0], "none") == 0 ||
	       strcmp(a[0], "private-users") == 0 ? -1 : 0;
}

static int run_check_containment(char **a)
{
	if (contain_check(strcmp(a[0], "none") != 0) != 0)
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
	char *path, *tmp;
	int fd, err;

	parse_mode(a[1], &mode);
	if (make_parents(a[0]) != 0 || (path = guarded(a[0], 'c')) == NULL)
		return -1;
	if ((tmp = sibling_tmp(path)) == NULL)
		return -1;
	if (lstat(path, &st) == 0) {
		/* Kept as it is; a leftover of an interrupted start goes. */
		fd = unlink(tmp) != 0 && errno != ENOENT ? -1 : 0;
		free(tmp);
		return fd;
	}
	if (errno != ENOENT || (fd = open_tmp(tmp, a[0])) < 0)
		goto fail;
	write_step();
	if (write(fd, a[2], len) != (ssize_t)len || fchmod(fd, mode) != 0 ||
	    (write_step(), fsync(fd)) != 0) {
		err = errno;
		close(fd);
		errno = err;
		goto fail_tmp;
	}
	if (close(fd) != 0 || commit_tmp(tmp, path) != 0)
		goto fail_tmp;
	free(tmp);
	return 0;
fail_tmp:
	err = errno;
	unlink(tmp);
	errno = err;
fail:
	err = errno;
	free(tmp);
	errno = err;
	return -1;
}

static int run_undo_journal(char **a)
{
	return journal_open(a[0], a[1]);
}

static int run_lock(char **a) { return lock_dir(a[0], a[1], a[2]); }

static int run_refuse_foreign_mounts(char **a)
{
	(void)a;
	lock_refuse_foreign_overlays();
	return 0;
}

static int run_guard(char **a)
{
	return guard_add(a[0]);
}

/* The plan format, C side: lib/plan/ops.ts has the same list (its OPS table),
 * and test/unit/plan-contract.test.ts runs every plan it makes through
 * `subhost-enter --check`. */
static const struct op ops[] = {
	{ "mount", 5, run_mount, check_mount, "..e.." },
	{ "mkdir", 2, run_mkdir, check_mode1, "c." },
	{ "mknod", 7, run_mknod, check_mknod, "c......" },
	{ "symlink", 2, run_symlink, NULL, ".c" },
	{ "chmod", 2, run_chmod, check_mode1, "e." },
	{ "install-if-missing", 3, run_install, check_mode2, ".c." },
	{ "bind-file-ro", 2, run_bind_file_ro, NULL, ".e" },
	{ "bind-socket-ro", 2, run_bind_socket_ro, NULL, ".c" },
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
	{ "undo-journal", 2, run_undo_journal, NULL, ".." },
	{ "link-up", 1, run_link_up, NULL, "." },
	{ "lock", 3, run_lock, NULL, "..." },
	{ "refuse-foreign-mounts", 0, run_refuse_foreign_mounts, NULL, "" },
	{ "private-users", 1, run_private_users, NULL, "." },
	{ "overlay-idmapped", 4, run_overlay_idmapped, NULL, "...e" },
	{ "bind-idmapped", 3, run_bind_idmapped, check_rec, ".e." },
	/* Paths resolved by the op itself: "-" stands for none. */
	{ "relay", 6, run_relay, NULL, "......" },
};

static const struct op *find_op(const char *name)
{
	for (size_t i = 0; i < countof(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

int ops_check(int argc, char **argv, int i)
{
	while (i < argc && strcmp(argv[i], "enter") != 0) {
		const struct op *op = find_op(argv[i]);
		int bad;

		if (op == NULL)
			usage_error("unknown op '%s'", argv[i]);
		if (argc - i - 1 < op->arity)
			usage_error("%s: too few arguments", op->name);
		if (op->check && (bad = op->check(&argv[i + 1])) >= 0)
			usage_error("%s: bad argument '%s'", op->name, argv[i + 1 + bad]);
		i += 1 + op->arity;
	}
	return i;
}

void ops_run(int argc, char **argv, int i)
{
	for (int n = 1; i < argc && strcmp(argv[i], "enter") != 0; n++) {
		const struct op *op = find_op(argv[i]);
		char *args[8];
		int r = 0;

		fault_point(n, NULL);
		orig_args = &argv[i + 1];
		/* On disk before it is made (journal.c): a kill from here on
		 * is undone by the netns unit's ExecStopPost=. */
		for (int k = 0; k < op->arity; k++)
			if (op->kinds[k] == 'c' ||
			    (k == 0 && strcmp(op->name, "write-if-missing") == 0))
				journal_note(argv[i + 1 + k]);
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
	/* The pidfile and what enter() does are the host's, not the subhost's. */
	if (userns_fd() >= 0)
		userns_fsuid_leave();
}

int ops_hold(int argc, char **argv)
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
