/*
 * lock.c - one owner per UPPER, WORK and LIVE. Two subhosts on one UPPER
 * (the same directory reached through `..`, a symlink or a bind mount)
 * corrupt it: overlayfs only warns. Each directory a start uses is keyed
 * by what the kernel says it is (st_dev:st_ino, which every path to it
 * shares), and locked with flock(2) on /run/overlay-boot/locks/DEV:INO:
 * two starts at once race in the kernel, and the lock goes when the last
 * descriptor of it closes, whoever held it and however it ended. The
 * file holds one line naming its owner, for the loser's message and for
 * `overlay-boot status`. Lock files are never removed (a few bytes each
 * on /run; removing one would let two starts lock two different files).
 *
 * Who holds the lock while the subhost runs: not a process inside it.
 * Every descriptor is opened O_CLOEXEC, so neither the init script nor
 * anything it starts inherits one; and this process (which exits once the
 * subhost is ready) hands them to systemd's file descriptor store of the
 * unit (FDSTORE=1, FileDescriptorStoreMax= in subhost@.service) right
 * before it starts the init, and systemd
 * closes them when the unit is fully stopped: all of its processes gone,
 * so the subhost's mounts of these directories too. A descriptor in the
 * reaper would have to be one root inside could reach (ptrace, /proc), and
 * it would only be safe as a read-only regular file; with systemd holding
 * them nothing inside the subhost ever has one. Outside systemd (no
 * $NOTIFY_SOCKET: the native tests), the lock lasts as long as this process.
 *
 * At a restart systemd keeps its store (a job is queued) and passes it
 * back (LISTEN_FDS): those are closed before anything else (lock_init),
 * and a lock held by the store for this very subhost is dropped from it
 * (FDSTOREREMOVE=1) and taken afresh (relock_own).
 *
 * A start by overlay-boot 1.6 (or any overlay mounted by hand) takes no
 * lock: its overlay lives in a mount namespace of its own, which no path
 * on the host shows. The kernel lists every mount namespace to its owner
 * (NS_MNT_GET_NEXT/PREV on an nsfs descriptor, Linux 6.12) and the mounts
 * of each with their options (listmount/statmount, Linux 6.8/6.11): an
 * overlay whose upperdir or workdir is one of ours, in any of them, is a
 * second owner. Kernels without these calls skip this check.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "lock.h"
#include "notify.h"
#include "subhost-enter.h"

#define LOCK_DIR "/run/overlay-boot/locks"
#define MAX_LOCKS 4

static struct held {
	int fd;
	dev_t dev;
	ino_t ino;
	const char *role;
} held[MAX_LOCKS];
static int nheld;

/* systemd passed back the last run's locks (a restart): they leave its
 * store at the handover, before these are stored (the store holds few). */
static int restarted;

void lock_init(void)
{
	const char *n = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	const char *names = getenv("LISTEN_FDNAMES");
	long count = n ? strtol(n, NULL, 10) : 0;

	/* What systemd passes back at a restart (LISTEN_FDS, named "lock")
	 * is the last run's locks: closed here, so that none leaks into the
	 * runtime or the subhost; systemd's own copies are dropped from its
	 * store by lock_dir() when it meets them. */
	if (pid != NULL && strtol(pid, NULL, 10) == (long)getpid() && names != NULL) {
		for (long fd = 3; fd < 3 + count && *names; fd++) {
			size_t len = strcspn(names, ":");

			if (len == 4 && strncmp(names, "lock", 4) == 0) {
				close((int)fd);
				restarted = 1;
			}
			names += len + (names[len] == ':');
		}
	}
	if (n != NULL) {
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
	}
}

/*
 * FD held by OWNER itself: the lock systemd still keeps for this unit from
 * its last run (a restart, whose stop leaves the store to the next start).
 * systemd is asked to drop it, and the lock is taken as soon as it has
 * (it reads its notify socket in order, promptly; a few seconds at most).
 */
static int relock_own(int fd)
{
	static int asked;

	if (!notify_available())
		return -1;
	if (!asked && notify_fds(NULL, 0, "FDSTOREREMOVE=1\nFDNAME=lock") != 0)
		return -1;
	asked = 1;
	for (int i = 0; i < 300; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		usleep(10000);
	}
	errno = EWOULDBLOCK;
	return -1;
}

static void make_lock_dir(void)
{
	(void)mkdir("/run/overlay-boot", 0755);
	(void)mkdir(LOCK_DIR, 0755);	/* EEXIST: fine; else open() says why */
}

/* The owner line of lock file PATH ("NAME ROLE DIR"), or "" (being set up). */
static void read_owner(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void refuse(const char *role, const char *dir, const char *owner)
{
	char name[256] = "", orole[16] = "";

	if (sscanf(owner, "%255s %15s", name, orole) == 2)
		failf(1, "%s %s is in use by subhost %s (subhost@%s.service, as its %s)",
		      role, dir, name, name, orole);
	failf(1, "%s %s is in use by another start of a subhost, being set up now", role, dir);
}

int lock_dir(const char *owner, const char *role, const char *dir)
{
	char path[sizeof(LOCK_DIR) + 64], line[4096], buf[4096];
	struct stat st;
	int fd, wfd;

	/* $NOTIFY_SOCKET out of the environment now (notify.c): nothing
	 * started from here on, the subhost least, has it. */
	notify_init();
	if (stat(dir, &st) != 0)
		return -1;
	for (int i = 0; i < nheld; i++)
		if (held[i].dev == st.st_dev && held[i].ino == st.st_ino)
			return 0;	/* UPPER is LIVE (in place): one lock */
	if (nheld == MAX_LOCKS) {
		errno = E2BIG;
		return -1;
	}
	snprintf(path, sizeof(path), LOCK_DIR "/%u:%u:%llu", major(st.st_dev),
		 minor(st.st_dev), (unsigned long long)st.st_ino);
	/* Read-only: the lock needs no more, and what systemd keeps of it
	 * can change nothing. */
	fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		make_lock_dir();
		fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		size_t olen = strlen(owner);

		read_owner(path, buf, sizeof(buf));
		if (err == EWOULDBLOCK && strncmp(buf, owner, olen) == 0 && buf[olen] == ' ' &&
		    relock_own(fd) == 0)
			goto locked;
		close(fd);
		if (err != EWOULDBLOCK) {
			errno = err;
			return -1;
		}
		read_owner(path, buf, sizeof(buf));
		refuse(role, dir, buf);
	}
locked:
	held[nheld++] = (struct held){ fd, st.st_dev, st.st_ino, role };
	/* The owner line, through a second descriptor (the lock's own is
	 * read-only); it needs no atomicity: only the holder writes it. */
	snprintf(line, sizeof(line), "%s %s %s\n", owner, role, dir);
	wfd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (wfd < 0)
		return -1;
	if (write(wfd, line, strlen(line)) < 0) {
		close(wfd);
		return -1;
	}
	return close(wfd);
}

void lock_handover(void)
{
	int fds[MAX_LOCKS];

	if (nheld == 0)
		return;
	for (int i = 0; i < nheld; i++)
		fds[i] = held[i].fd;
	/* Read in order: the last run's go first (directories the config no
	 * longer names), while this process holds the ones it names. */
	if (restarted)
		notify_fds(NULL, 0, "FDSTOREREMOVE=1\nFDNAME=lock");
	/* The datagram holds the descriptors until systemd reads it: the
	 * locks never lapse in between, also once this process has exited. */
	if (notify_fds(fds, nheld, "FDSTORE=1\nFDNAME=lock") != 0)
		fprintf(stderr, PROG ": cannot hand the locks to systemd: %s\n", strerror(errno));
}

/* ---- overlays this process cannot see (1.6, by hand) ---------------- */

#ifndef NSIO
#define NSIO 0xb7
#endif
struct mnt_ns_info_v0 {
	uint32_t size;
	uint32_t nr_mounts;
	uint64_t mnt_ns_id;
};
#define NS_MNT_GET_NEXT_V0 _IOR(NSIO, 11, struct mnt_ns_info_v0)
#define NS_MNT_GET_PREV_V0 _IOR(NSIO, 12, struct mnt_ns_info_v0)
#define NS_GET_MNTNS_ID_ _IOR(NSIO, 5, uint64_t)

struct mnt_id_req_v1 {
	uint32_t size;
	uint32_t spare;
	uint64_t mnt_id;
	uint64_t param;
	uint64_t mnt_ns_id;
};

struct statmount_v1 {
	uint32_t size;
	uint32_t mnt_opts;
	uint64_t mask;
	uint32_t sb_dev_major;
	uint32_t sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags;
	uint32_t fs_type;
	uint64_t mnt_id;
	uint64_t mnt_parent_id;
	uint32_t mnt_id_old;
	uint32_t mnt_parent_id_old;
	uint64_t mnt_attr;
	uint64_t mnt_propagation;
	uint64_t mnt_peer_group;
	uint64_t mnt_master;
	uint64_t propagate_from;
	uint32_t mnt_root;
	uint32_t mnt_point;
	uint64_t mnt_ns_id;
	uint64_t spare2[49];
	char str[];
};

#define STATMOUNT_SB_BASIC 0x1U
#define STATMOUNT_MNT_OPTS 0x80U
#define LSMT_ROOT 0xffffffffffffffffULL
#define OVERLAYFS_MAGIC 0x794c7630ULL
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#ifndef SYS_listmount
#define SYS_listmount 458
#endif

static long statmount_(uint64_t ns, uint64_t id, uint64_t mask, void *buf, size_t size)
{
	struct mnt_id_req_v1 req = { .size = sizeof(req), .mnt_id = id, .param = mask,
				     .mnt_ns_id = ns };

	return syscall(SYS_statmount, &req, buf, size, 0);
}

/* The value of KEY= in overlay options OPTS (escaped commas kept), unescaped. */
static int opt_value(const char *opts, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = opts; *p; ) {
		const char *end = p;

		while (*end && *end != ',')
			end += end[0] == '\\' && end[1] ? 2 : 1;
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = 0;

			for (const char *s = p + klen + 1; s < end && n + 1 < size; s++)
				out[n++] = *s == '\\' && s + 1 < end ? *++s : *s;
			out[n] = '\0';
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	return -1;
}

/* The role of ours that PATH is (UPPER...), or NULL. */
static const char *ours(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return NULL;
	for (int i = 0; i < nheld; i++)
		if (held[i].dev == st.st_dev && held[i].ino == st.st_ino)
			return held[i].role;
	return NULL;
}

/* The mounts of namespace NS (0: this one): the role of ours that an
 * overlay there uses as its upperdir or workdir (its path in FOUND), or NULL. */
static const char *ns_uses_ours(uint64_t ns, char *found, size_t fsize)
{
	static uint64_t ids[4096];
	static union {
		struct statmount_v1 sm;
		char buf[1 << 16];
	} u;
	struct mnt_id_req_v1 req = { .size = sizeof(req), .mnt_id = LSMT_ROOT, .mnt_ns_id = ns };
	long n = syscall(SYS_listmount, &req, ids, countof(ids), 0);

	for (long i = 0; i < n; i++) {
		if (statmount_(ns, ids[i], STATMOUNT_SB_BASIC, &u, sizeof(u)) != 0 ||
		    u.sm.sb_magic != OVERLAYFS_MAGIC)
			continue;
		if (statmount_(ns, ids[i], STATMOUNT_MNT_OPTS, &u, sizeof(u)) != 0 ||
		    !(u.sm.mask & STATMOUNT_MNT_OPTS))
			continue;
		for (const char *key = "upperdir"; key; key = key[0] == 'u' ? "workdir" : NULL) {
			const char *role;

			if (opt_value(u.sm.str + u.sm.mnt_opts, key, found, fsize) == 0 &&
			    (role = ours(found)) != NULL)
				return role;
		}
	}
	return NULL;
}

static void refuse_foreign(const char *role, const char *found)
{
	failf(1, "%s %s is in use by a mount not made by overlay-boot (an overlay "
	      "in another mount namespace: a subhost still running under "
	      "overlay-boot 1.6? stop it with its overlay-stop)", role, found);
}

/*
 * The kernel lists every mount namespace only to a caller in the initial
 * pid namespace (EPERM otherwise: a host whose service manager is itself
 * in a container, like the test sandbox). There, the mount namespaces of
 * the processes this pid namespace shows are what can be seen.
 */
static void refuse_foreign_by_processes(void)
{
	static uint64_t seen[1024];
	size_t nseen = 0;
	char found[4096], path[300];
	const char *role;
	struct dirent *d;
	DIR *proc = opendir("/proc");

	while (proc && (d = readdir(proc)) != NULL) {
		uint64_t id;
		size_t i;
		int fd;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/mnt", d->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (ioctl(fd, NS_GET_MNTNS_ID_, &id) != 0) {
			close(fd);
			continue;
		}
		close(fd);
		for (i = 0; i < nseen && seen[i] != id; i++)
			;
		if (i < nseen)
			continue;
		if (nseen < countof(seen))
			seen[nseen++] = id;
		if ((role = ns_uses_ours(id, found, sizeof(found))) != NULL) {
			closedir(proc);
			refuse_foreign(role, found);
		}
	}
	if (proc)
		closedir(proc);
}

void lock_refuse_foreign_overlays(void)
{
	struct mnt_ns_info_v0 info = { .size = sizeof(info) };
	char found[4096];
	const char *role;
	int self;

	if (nheld == 0)
		return;
	if ((role = ns_uses_ours(0, found, sizeof(found))) != NULL)
		refuse_foreign(role, found);
	if ((self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
		return;
	for (unsigned long dir = NS_MNT_GET_NEXT_V0;; dir = NS_MNT_GET_PREV_V0) {
		int cur = dup(self);

		while (cur >= 0) {
			int next = ioctl(cur, dir, &info);

			close(cur);
			cur = next;
			if (next < 0 && errno == EPERM) {
				close(self);
				refuse_foreign_by_processes();
				return;
			}
			if (next < 0)
				break;
			if ((role = ns_uses_ours(info.mnt_ns_id, found, sizeof(found))) != NULL)
				refuse_foreign(role, found);
		}
		if (dir == NS_MNT_GET_PREV_V0)
			break;
	}
	close(self);
}
