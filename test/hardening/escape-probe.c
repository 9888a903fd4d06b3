/*
 * escape-probe: tries, from inside a container, each way root inside could
 * reach the host through the kernel (issue 11), harmlessly, and prints one
 * line per vector:
 *
 *     NAME open|closed|n/a DETAIL
 *
 * "open" means the step that would hurt the host is possible; "n/a" means
 * this kernel cannot show it (no such file, no such filesystem).
 *
 * Harmless by construction: files are opened for writing and closed without
 * a byte written, devices are opened and closed without reading, nothing is
 * loaded into the kernel (bpf gets an empty program, perf counts nothing),
 * whatever this mounts it unmounts at once, and a read-only mount it manages
 * to remount read-write is remounted read-only again right away.
 *
 * It must run as one of the container's OWN processes (a START entry, or a
 * shell the container's tools start): an `nsenter -a` from the host keeps the
 * caller's capabilities and seccomp filter, not the container's.
 *
 * Usage: escape-probe [-s DIR] [-r NAME=PATH]... [-t COMM] [-x] | -e
 *   -s DIR        a directory on a filesystem shared in from the host (for
 *                 name_to_handle_at/open_by_handle_at)
 *   -r NAME=PATH  also try to remount the read-only mount at PATH read-write
 *                 (vector remount-NAME)
 *   -x            also prepare what the host side judges (issue 20: a
 *                 setuid-root copy of itself in /var/tmp, an alert line
 *                 to /dev/log)
 *   -e            only print the effective uid (the setuid copy's job)
 *   -t COMM       a host-privileged process named COMM that entered this
 *                 pid namespace from the host (ptrace-host, proc-mem-host)
 *
 * Static, no library beyond libc: it runs in any root the container has.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
/* issue 20 (h20edge) */
#include <linux/audit.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/un.h>

static char tmpdir[64];

static void say(const char *name, const char *state, const char *fmt, ...)
{
	va_list ap;
	printf("%s %s ", name, state);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A refused syscall: closed, with the errno's name (EPERM from a seccomp
 * filter or a missing capability, EROFS from a read-only mount...). */
static void refused(const char *name, const char *what, int err)
{
	say(name, "closed", "%s: %s", what, strerrorname_np(err) ? strerrorname_np(err) : strerror(err));
}

/* ---- capabilities and seccomp, from /proc/self/status ---- */

static const char *status_field(const char *key, char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t kl = strlen(key);
	const char *r = NULL;
	if (!f)
		return NULL;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			snprintf(buf, len, "%s", line + kl + 1 + strspn(line + kl + 1, " \t"));
			buf[strcspn(buf, "\n")] = 0;
			r = buf;
			break;
		}
	}
	fclose(f);
	return r;
}

static const struct { const char *name; int nr; } caps[] = {
	{ "SYS_ADMIN", 21 }, { "SYS_MODULE", 16 }, { "SYS_RAWIO", 17 },
	{ "SYS_TIME", 25 }, { "SYS_BOOT", 22 }, { "SYSLOG", 34 },
	{ "MAC_ADMIN", 33 }, { "MAC_OVERRIDE", 32 }, { "BPF", 39 },
	{ "PERFMON", 38 }, { "SYS_PACCT", 20 }, { "WAKE_ALARM", 35 },
	{ "BLOCK_SUSPEND", 36 }, { "DAC_READ_SEARCH", 2 },
	{ "CHECKPOINT_RESTORE", 40 }, { "AUDIT_CONTROL", 30 },
};

/* This process's uid map, one line ("0 0 4294967295": the initial user
 * namespace, where capabilities count for the host). */
static char uid_map[128];
static int initial_userns(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long a = 1, b = 1, c = 0;
	if (f) {
		if (!fgets(uid_map, sizeof uid_map, f))
			uid_map[0] = '\0';
		fclose(f);
	}
	uid_map[strcspn(uid_map, "\n")] = '\0';
	return sscanf(uid_map, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL;
}

/* CapEff counts on the host only in the initial user namespace (vector:
 * capabilities that act on the host's objects). */
static void probe_host_caps(void)
{
	char buf[64];
	const char *v = status_field("CapEff", buf, sizeof buf);
	int initial = initial_userns();
	if (!v)
		say("host-caps", "n/a", "no CapEff in /proc/self/status");
	else if (strtoull(v, NULL, 16) == 0)
		say("host-caps", "closed", "no effective capabilities (CapEff %s)", v);
	else if (initial)
		say("host-caps", "open", "CapEff %s in the host's user namespace (uid_map %s)", v, uid_map);
	else
		say("host-caps", "closed", "CapEff %s only in its own user namespace (uid_map %s)", v, uid_map);
}

static void probe_caps(void)
{
	char buf[64], name[64];
	const char *v = status_field("CapBnd", buf, sizeof buf);
	unsigned long long bnd = v ? strtoull(v, NULL, 16) : 0;
	int initial = initial_userns();
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		snprintf(name, sizeof name, "cap-%s", caps[i].name);
		if (!v)
			say(name, "n/a", "no CapBnd in /proc/self/status");
		else if ((bnd >> caps[i].nr & 1) && !initial)
			say(name, "closed", "in the bounding set of its own user namespace only (CapBnd %s, uid_map %s)", v, uid_map);
		else if (bnd >> caps[i].nr & 1)
			say(name, "open", "in the bounding set (CapBnd %s)", v);
		else
			say(name, "closed", "not in the bounding set (CapBnd %s)", v);
	}
}

static void probe_seccomp(void)
{
	char buf[64];
	const char *v = status_field("Seccomp", buf, sizeof buf);
	if (!v)
		say("seccomp", "n/a", "no Seccomp in /proc/self/status");
	else if (strcmp(v, "0") == 0)
		say("seccomp", "open", "no filter (Seccomp: 0)");
	else
		say("seccomp", "closed", "filter (Seccomp: %s)", v);
}

/* ---- system calls a seccomp filter or a capability refuses ---- */

static void probe_keyctl(void)
{
	/* KEYCTL_GET_KEYRING_ID (0) of KEY_SPEC_USER_KEYRING (-4): uid 0's user
	 * keyring, which is the host root's: keyrings are not namespaced. */
	long id = syscall(SYS_keyctl, 0, -4, 0);
	if (id >= 0)
		say("keyctl", "open", "uid 0's user keyring is key %ld", id);
	else
		refused("keyctl", "keyctl(GET_KEYRING_ID)", errno);
}

static void probe_bpf(void)
{
	/* BPF_PROG_LOAD of a program with no instructions: nothing can be
	 * loaded, but the kernel checks the caller's privilege (CAP_BPF, with
	 * unprivileged bpf disabled) before it looks at the count (E2BIG). A
	 * seccomp filter refuses the call before either. */
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insn_cnt = 0;
	long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	if (fd >= 0) {
		close(fd);
		say("bpf", "open", "BPF_PROG_LOAD of an empty program succeeded?");
	} else if (errno == E2BIG || errno == EINVAL) {
		say("bpf", "open", "bpf(BPF_PROG_LOAD) passed the privilege check (empty program: %s)", strerrorname_np(errno));
	} else {
		refused("bpf", "bpf(BPF_PROG_LOAD)", errno);
	}
}

static void probe_perf(void)
{
	/* System-wide (pid -1) on CPU 0, disabled: it counts nothing. With
	 * perf_event_paranoid >= 1 this needs CAP_PERFMON. */
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.type = PERF_TYPE_SOFTWARE;
	a.size = sizeof a;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.disabled = 1;
	int fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		say("perf_event_open", "open", "system-wide event on CPU 0 opened (and closed)");
	} else {
		refused("perf_event_open", "perf_event_open(pid -1, cpu 0)", errno);
	}
}

/* A call that checks the caller's privilege before its arguments, made
 * with arguments the kernel then refuses (or that change nothing): past
 * the privilege check (EXPECTED, or success) is open, EPERM is closed (a
 * filter, or the missing capability), ENOSYS is a kernel without it. */
static void probe_privileged(const char *name, const char *what, long r, int expected)
{
	if (r == 0)
		say(name, "open", "%s succeeded (it changes nothing)", what);
	else if (errno == expected)
		say(name, "open", "%s passed the privilege check (then %s)", what, strerrorname_np(errno));
	else if (errno == ENOSYS)
		say(name, "n/a", "%s: ENOSYS (not in this kernel)", what);
	else
		refused(name, what, errno);
}

static void probe_privileged_calls(void)
{
	/* settimeofday(NULL, NULL): the CAP_SYS_TIME check, then nothing to set. */
	probe_privileged("settime", "settimeofday(NULL, NULL)", syscall(SYS_settimeofday, NULL, NULL), 0);
	/* kexec_load with more segments than allowed (KEXEC_SEGMENT_MAX 16):
	 * CAP_SYS_BOOT is checked first, nothing is loaded. */
	errno = 0;
	probe_privileged("kexec_load", "kexec_load(17 segments)", syscall(SYS_kexec_load, 0UL, 17UL, NULL, 0UL), EINVAL);
	/* finit_module on fd -1: CAP_SYS_MODULE, then EBADF. */
	probe_privileged("finit_module", "finit_module(-1)", syscall(SYS_finit_module, -1, "", 0), EBADF);
	/* swapon(NULL): CAP_SYS_ADMIN, then EFAULT for the path. */
	probe_privileged("swapon", "swapon(NULL)", syscall(SYS_swapon, NULL, 0), EFAULT);
}

static void probe_handles(const char *dir)
{
	/* open_by_handle_at takes a raw file handle: with CAP_DAC_READ_SEARCH a
	 * forged one opens any file of the filesystem, even outside the bind
	 * mount shared in. Here only a file's own handle is reopened. */
	if (!dir) {
		say("open_by_handle_at", "n/a", "no shared directory given (-s)");
		return;
	}
	struct { struct file_handle fh; unsigned char buf[MAX_HANDLE_SZ]; } h;
	int mount_id, mfd, fd;
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, dir, &h.fh, &mount_id, 0) != 0) {
		say("open_by_handle_at", "n/a", "name_to_handle_at(%s): %s", dir, strerrorname_np(errno));
		return;
	}
	mfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		say("open_by_handle_at", "n/a", "open(%s): %s", dir, strerrorname_np(errno));
		return;
	}
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		say("open_by_handle_at", "open", "a file handle on %s opened a file", dir);
	} else {
		refused("open_by_handle_at", "open_by_handle_at", errno);
	}
	close(mfd);
}

static void probe_klog(void)
{
	/* SYSLOG_ACTION_READ_ALL (3): reads (whole records only: the buffer
	 * must hold one), consumes nothing. */
	char buf[4096];
	int n = klogctl(3, buf, sizeof buf);
	if (n >= 0)
		say("dmesg", "open", "syslog(READ_ALL) read %d bytes", n);
	else
		refused("dmesg", "syslog(READ_ALL)", errno);
}

/* ---- devices: mknod then open, never read or written ---- */

/* mknod then open read-only, never read; -1 and errno set if refused,
 * with *step naming the step that was. */
static int try_node(mode_t type, dev_t dev, const char **step)
{
	char path[64];
	snprintf(path, sizeof path, "/dev/.escape-probe-%d", (int)getpid());
	unlink(path);
	*step = "mknod";
	if (mknod(path, type | 0600, dev) != 0)
		return -1;
	*step = "open after mknod";
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	int err = errno;
	unlink(path);
	if (fd < 0) {
		errno = err;
		return -1;
	}
	close(fd);
	return 0;
}

/* Host block devices: /sys/class/block lists every block device of the
 * kernel (sysfs does not namespace them). The first whole disk, and loop0:
 * the machine these tests run on may itself refuse its disk to root
 * (a device cgroup of its own) but not its loop devices. Open if either
 * opens. */
static void probe_disk(void)
{
	static const char *cands[] = { "vda", "sda", "nvme0n1", "xvda", "mmcblk0" };
	const char *names[2] = { NULL, "loop0" };
	char out[256] = "";
	int tried = 0;
	for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !names[0]; i++) {
		char p[96];
		snprintf(p, sizeof p, "/sys/class/block/%s/dev", cands[i]);
		if (access(p, F_OK) == 0)
			names[0] = cands[i];
	}
	for (int i = 0; i < 2; i++) {
		char p[96];
		unsigned ma, mi;
		const char *step;
		if (!names[i])
			continue;
		snprintf(p, sizeof p, "/sys/class/block/%s/dev", names[i]);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		int ok = fscanf(f, "%u:%u", &ma, &mi) == 2;
		fclose(f);
		if (!ok)
			continue;
		tried++;
		size_t l = strlen(out);
		if (try_node(S_IFBLK, makedev(ma, mi), &step) == 0) {
			say("mknod-disk", "open", "%s%smknod and open of the host's %s (%u:%u) worked", out, l ? "; " : "", names[i], ma, mi);
			return;
		}
		snprintf(out + l, sizeof out - l, "%s%s (%u:%u): %s %s", l ? ", " : "", names[i], ma, mi, step, strerrorname_np(errno));
	}
	if (tried)
		say("mknod-disk", "closed", "%s", out);
	else
		say("mknod-disk", "n/a", "no disk in /sys/class/block");
}

static void probe_kmsg(void)
{
	const char *step;
	if (try_node(S_IFCHR, makedev(1, 11), &step) == 0)
		say("mknod-kmsg", "open", "mknod and open of /dev/kmsg (1:11) worked");
	else
		refused("mknod-kmsg", step, errno);
}

/* ---- /proc and files: opened for writing, closed unwritten ---- */

static void probe_open_write(const char *name, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		close(fd);
		say(name, "open", "%s can be opened for writing (nothing written)", path);
	} else if (errno == ENOENT) {
		say(name, "n/a", "%s: ENOENT (not on this kernel or machine)", path);
	} else {
		refused(name, path, errno);
	}
}

/* Opened read-only and closed unread: reading /proc/kmsg would take the
 * messages away from the host's own log reader. */
static void probe_open_read(const char *name, const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		/* nspawn binds a FIFO of its own over /proc/kmsg: not the kernel's. */
		struct statfs sf;
		struct stat st;
		int kernels = fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
		close(fd);
		if (kernels)
			say(name, "open", "%s opened for reading (nothing read)", path);
		else
			say(name, "closed", "%s opens, but is not the kernel's (another file bound over it)", path);
	} else if (errno == ENOENT) {
		say(name, "n/a", "%s: ENOENT", path);
	} else {
		refused(name, path, errno);
	}
}

static void probe_kallsyms(void)
{
	char line[256] = "";
	FILE *f = fopen("/proc/kallsyms", "re");
	if (!f) {
		if (errno == ENOENT)
			say("kallsyms", "n/a", "/proc/kallsyms: ENOENT");
		else
			refused("kallsyms", "/proc/kallsyms", errno);
		return;
	}
	if (!fgets(line, sizeof line, f)) {
		fclose(f);
		say("kallsyms", "closed", "/proc/kallsyms is empty");
		return;
	}
	fclose(f);
	line[strcspn(line, "\n")] = 0;
	if (strspn(line, "0") == strcspn(line, " "))
		say("kallsyms", "closed", "addresses hidden (%s)", line);
	else
		say("kallsyms", "open", "real addresses (%.16s...)", line);
}

static void probe_kcore(void)
{
	char b;
	int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			say("kcore", "n/a", "/proc/kcore: ENOENT (kernel without it)");
		else
			refused("kcore", "/proc/kcore", errno);
		return;
	}
	ssize_t n = read(fd, &b, 1);
	close(fd);
	if (n == 1)
		say("kcore", "open", "/proc/kcore readable");
	else
		say("kcore", "closed", "/proc/kcore reads %s", n == 0 ? "empty" : strerrorname_np(errno));
}

/* A /proc file that shows the host kernel's state to whoever reads it:
 * open if it has content (a few bytes read, lines counted for keys). */
static void probe_proc_read(const char *name, const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			say(name, "n/a", "%s: ENOENT", path);
		else
			refused(name, path, errno);
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		refused(name, "read", errno);
		return;
	}
	buf[n] = 0;
	int lines = 0;
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	if (n == 0)
		say(name, "closed", "%s is empty", path);
	else
		say(name, "open", "%s shows the host kernel's (%d lines in the first %zd bytes)", path, lines, n);
}

/* ---- cgroups ---- */

static int own_cgroup(char *path, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int r = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(path, len, "%s", line + 3);
			path[strcspn(path, "\n")] = 0;
			r = 0;
		}
	fclose(f);
	return r;
}

static void probe_cgroups(void)
{
	char cg[512], dir[600], procs[1200];
	if (own_cgroup(cg, sizeof cg) != 0) {
		say("cgroup-ns", "n/a", "no cgroup2 line in /proc/self/cgroup");
		return;
	}
	if (strcmp(cg, "/") == 0)
		say("cgroup-ns", "closed", "own cgroup namespace (/proc/self/cgroup 0::/)");
	else
		say("cgroup-ns", "open", "the tree above is visible (0::%s)", cg);

	/* The escape itself: cgroup.procs of a cgroup above our own, opened for
	 * writing (one write there would move us out of our limits). Through
	 * a cgroup2 mount the container has, or a fresh one. */
	int mounted = 0;
	const char *root = "/sys/fs/cgroup";
	snprintf(procs, sizeof procs, "%s/cgroup.procs", root);
	if (access(procs, F_OK) != 0) {
		snprintf(dir, sizeof dir, "%s/cgroup2", tmpdir);
		mkdir(dir, 0700);
		if (mount("none", dir, "cgroup2", 0, NULL) != 0) {
			refused("cgroup-escape", "no cgroup2 mounted, and mount cgroup2", errno);
			rmdir(dir);
			return;
		}
		mounted = 1;
		root = dir;
	}
	char *slash = strrchr(cg, '/');
	if (strcmp(cg, "/") == 0 || !slash) {
		say("cgroup-escape", "closed", "our cgroup is the namespace's root: nothing above it is reachable");
	} else {
		*slash = 0; /* the parent */
		snprintf(procs, sizeof procs, "%s%s/cgroup.procs", root, cg);
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			say("cgroup-escape", "open", "%s/cgroup.procs (the parent's) opened for writing%s",
			    cg[0] ? cg : "/", mounted ? " through a fresh cgroup2 mount" : "");
		} else {
			refused("cgroup-escape", "the parent's cgroup.procs", errno);
		}
	}
	if (mounted) {
		umount2(dir, MNT_DETACH);
		rmdir(dir);
	}
}

/* ---- mounts ---- */

static void probe_mount(const char *fstype)
{
	char name[32], dir[128];
	snprintf(name, sizeof name, "mount-%s", fstype);
	snprintf(dir, sizeof dir, "%s/%s", tmpdir, fstype);
	if (mkdir(dir, 0700) != 0) {
		say(name, "n/a", "mkdir %s: %s", dir, strerrorname_np(errno));
		return;
	}
	if (mount(fstype, dir, fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
		umount2(dir, MNT_DETACH);
		say(name, "open", "a fresh %s was mounted (and unmounted)", fstype);
	} else if (errno == ENODEV) {
		say(name, "n/a", "%s: ENODEV (not in this kernel)", fstype);
	} else {
		refused(name, "mount", errno);
	}
	rmdir(dir);
}

/* Mount flags to keep on a remount (a bind remount replaces all of them). */
static unsigned long keep_flags(unsigned long f)
{
	unsigned long m = 0;
	if (f & ST_NOSUID) m |= MS_NOSUID;
	if (f & ST_NODEV) m |= MS_NODEV;
	if (f & ST_NOEXEC) m |= MS_NOEXEC;
	if (f & ST_NOATIME) m |= MS_NOATIME;
	if (f & ST_NODIRATIME) m |= MS_NODIRATIME;
	if (f & ST_RELATIME) m |= MS_RELATIME;
	return m;
}

static void probe_remount(const char *name, const char *path)
{
	struct statvfs st;
	if (statvfs(path, &st) != 0) {
		say(name, "n/a", "%s: %s", path, strerrorname_np(errno));
		return;
	}
	if (!(st.f_flag & ST_RDONLY)) {
		say(name, "open", "%s is read-write already", path);
		return;
	}
	unsigned long keep = keep_flags(st.f_flag);
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep, NULL) == 0) {
		/* Put it back at once. */
		int back = mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
		say(name, "open", "%s remounted read-write (and back read-only: %s)", path,
		    back == 0 ? "done" : strerrorname_np(errno));
	} else {
		refused(name, "remount read-write", errno);
	}
}

/* ---- user namespace + a fresh proc ---- */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* What `unshare -U -r -m -p -f --mount-proc` does, in a child (the probe's
 * own namespaces stay as they are); the child writes back through a pipe
 * the step that failed (0: none) and its errno. */
static void probe_userns(void)
{
	char dir[128];
	int pfd[2];
	snprintf(dir, sizeof dir, "%s/userns-proc", tmpdir);
	mkdir(dir, 0700);
	if (pipe(pfd) != 0) {
		say("userns", "n/a", "pipe: %s", strerrorname_np(errno));
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int res[2] = { 0, 0 };
		close(pfd[0]);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0) {
			res[0] = 1; res[1] = errno;
		} else if (write_file("/proc/self/setgroups", "deny") != 0 ||
			   write_file("/proc/self/uid_map", "0 0 1") != 0 ||
			   write_file("/proc/self/gid_map", "0 0 1") != 0) {
			res[0] = 2; res[1] = errno;
		} else {
			pid_t c = fork();
			if (c == 0) {
				/* PID 1 of the new pid namespace: a proc of its own. */
				if (mount("proc", dir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
					_exit(errno & 0xff ? errno & 0xff : 255);
				umount2(dir, MNT_DETACH);
				_exit(0);
			}
			int st = 0;
			if (c < 0) {
				res[0] = 3; res[1] = errno;
			} else if (waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) != 0) {
				res[0] = 4; res[1] = WEXITSTATUS(st);
			}
		}
		if (write(pfd[1], res, sizeof res) != sizeof res)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	int res[2] = { -1, 0 };
	ssize_t n = pid > 0 ? read(pfd[0], res, sizeof res) : -1;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	rmdir(dir);
	static const char *steps[] = { "", "unshare(CLONE_NEWUSER|NEWNS|NEWPID)", "uid/gid map", "fork", "mount proc" };
	if (n != sizeof res || res[0] < 0)
		say("userns", "n/a", "fork: %s", strerrorname_np(errno));
	else if (res[0] == 0)
		say("userns", "open", "a user namespace with a fresh proc was made");
	else
		refused("userns", steps[res[0]], res[1]);
}

/* The host's /etc/adjtime is bound in (1.6 did, read-write); a container
 * whose /etc/adjtime is a file of its own root (not a mount root: no bind)
 * does not reach the host's (an overlay copies it up on write). */
static void probe_adjtime(void)
{
	struct statx sx;
	if (statx(AT_FDCWD, "/etc/adjtime", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 &&
	    (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		say("adjtime", "closed", "/etc/adjtime is the container's own file, not bound from the host");
		return;
	}
	probe_open_write("adjtime", "/etc/adjtime", O_WRONLY | O_APPEND);
}

/* ---- issue 20: the host's terminals and audit log (h20edge) ---- */

/* The host's console (5:1): /dev/console itself, or a node made for it,
 * opens (read-only, nothing read; O_NOCTTY: it never becomes ours). */
static void probe_console(void)
{
	struct stat st;
	const char *step;
	char what[64] = "no /dev/console";

	if (stat("/dev/console", &st) == 0)
		snprintf(what, sizeof what, "/dev/console is %u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 1)) {
		int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			say("console-host", "open", "%s, the host's console, and opens for writing (nothing written)", what);
			return;
		}
	}
	if (try_node(S_IFCHR, makedev(5, 1), &step) == 0)
		say("console-host", "open", "%s; mknod and open of the host's console (5:1) worked", what);
	else
		say("console-host", "closed", "%s; 5:1: %s %s", what, step, strerrorname_np(errno));
}

/* One AUDIT_USER message: accepted means a line in the host's audit log
 * written as the host's root (harmless text, nothing else). */
static void probe_audit(void)
{
	struct {
		struct nlmsghdr h;
		char text[64];
	} m;
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
		char more[256];
	} ack;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);

	if (fd < 0) {
		if (errno == EPROTONOSUPPORT)
			say("audit-user", "n/a", "socket(NETLINK_AUDIT): EPROTONOSUPPORT (kernel without audit)");
		else
			refused("audit-user", "socket(NETLINK_AUDIT)", errno);
		return;
	}
	memset(&m, 0, sizeof m);
	snprintf(m.text, sizeof m.text, "escape-probe: harmless test message");
	m.h.nlmsg_len = NLMSG_LENGTH(strlen(m.text) + 1);
	m.h.nlmsg_type = AUDIT_USER;
	m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	m.h.nlmsg_seq = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (sendto(fd, &m, m.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
		refused("audit-user", "send AUDIT_USER", errno);
	} else if (recv(fd, &ack, sizeof ack, 0) < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ack.h.nlmsg_type != NLMSG_ERROR) {
		say("audit-user", "n/a", "no acknowledgement from the kernel");
	} else if (ack.e.error == 0) {
		say("audit-user", "open", "an AUDIT_USER message was accepted (one harmless line in the host's audit log)");
	} else {
		refused("audit-user", "AUDIT_USER", -ack.e.error);
	}
	close(fd);
}

/* With -x: what the host side of the suite then judges (escape.ts): a
 * setuid-root copy of this program in /var/tmp (in UPPER, for a host
 * user to try), and a syslog line at alert through /dev/log (journald
 * walls emerg; the journal shows the severity it arrived at). */
static void prepare_host_checks(const char *self)
{
	char buf[65536];
	const char *msg = "<9>escape-probe-severity: alert line from inside (harmless)";
	struct sockaddr_un log = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	int in = open(self, O_RDONLY | O_CLOEXEC), out, fd;
	ssize_t n;

	mkdir("/var/tmp", 01777);
	unlink("/var/tmp/escape-probe-suid");
	out = open("/var/tmp/escape-probe-suid", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (out >= 0 && fchmod(out, 04755) != 0)
		perror("escape-probe: chmod 4755");
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&log, sizeof log) < 0)
		perror("escape-probe: /dev/log");
	if (fd >= 0)
		close(fd);
}
/* ---- end of issue 20 (h20edge) ---- */
/* ---- a host-privileged process in its pid namespace (issue 20 vector 3:
 * machined's os-release helper, an admin's nsenter -t PID -p) ---- */

static pid_t find_comm(const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[300], buf[64];
		FILE *f;
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		if (fgets(buf, sizeof buf, f) && strncmp(buf, comm, strlen(comm)) == 0 && buf[strlen(comm)] == '\n')
			found = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	return found;
}

static void probe_host_process(const char *comm)
{
	pid_t pid = comm ? find_comm(comm) : 0;
	char path[64];
	int fd;
	if (!pid) {
		say("ptrace-host", "n/a", "no process named %s here", comm ? comm : "(none given: -t)");
		say("proc-mem-host", "n/a", "no process named %s here", comm ? comm : "(none given: -t)");
		return;
	}
	/* Seized and let go at once: it never stops. */
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		ptrace(PTRACE_DETACH, pid, 0, 0);
		say("ptrace-host", "open", "PTRACE_SEIZE of host process %s (pid %d here) succeeded", comm, (int)pid);
	} else {
		refused("ptrace-host", "PTRACE_SEIZE", errno);
	}
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		close(fd);
		say("proc-mem-host", "open", "%s opens", path);
	} else {
		refused("proc-mem-host", path, errno);
	}
}

/* ---- the host's netns through the cable's nsid (issue 20 vector 2) ---- */

/* The nsid this netns has for the netns at the other end of a veth:
 * IFLA_LINK_NETNSID of a link dump. -1 if none. */
static int peer_nsid(int sock)
{
	struct { struct nlmsghdr h; struct ifinfomsg i; } req = {
		.h = { .nlmsg_len = sizeof req, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.i = { .ifi_family = AF_UNSPEC },
	};
	static char buf[65536];
	int nsid = -1, done = 0;
	if (send(sock, &req, sizeof req, 0) < 0)
		return -1;
	while (!done) {
		ssize_t n = recv(sock, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
			for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
				if (a->rta_type == IFLA_LINK_NETNSID && nsid < 0)
					nsid = *(int *)RTA_DATA(a);
		}
	}
	return nsid;
}

static void probe_netnsid(void)
{
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), nsid;
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
		struct rtattr a;
		int32_t id;
	} req;
	char buf[4096];
	if (sock < 0) {
		say("netnsid-host", "n/a", "no netlink socket: %s", strerror(errno));
		return;
	}
	if ((nsid = peer_nsid(sock)) < 0) {
		say("netnsid-host", "n/a", "no link here with a peer in another netns (no cable?)");
		close(sock);
		return;
	}
	/* RTM_DELLINK of an ifindex that does not exist, in the host's netns:
	 * the owner check (CAP_NET_ADMIN over that netns) comes first; past
	 * it, the kernel answers ENODEV and deletes nothing. */
	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = sizeof req;
	req.h.nlmsg_type = RTM_DELLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_seq = 2;
	req.i.ifi_family = AF_UNSPEC;
	req.i.ifi_index = 0x7fffffff;
	req.a.rta_type = IFLA_TARGET_NETNSID;
	req.a.rta_len = RTA_LENGTH(sizeof(int32_t));
	req.id = nsid;
	if (send(sock, &req, sizeof req, 0) < 0) {
		refused("netnsid-host", "send RTM_DELLINK", errno);
	} else {
		ssize_t n = recv(sock, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		int err = n > 0 && h->nlmsg_type == NLMSG_ERROR ? -((struct nlmsgerr *)NLMSG_DATA(h))->error : EIO;
		if (err == ENODEV || err == 0)
			say("netnsid-host", "open", "RTM_DELLINK in the host's netns through nsid %d passed the privilege check (%s: no such link)",
			    nsid, err ? "ENODEV" : "ok");
		else
			refused("netnsid-host", "RTM_DELLINK with IFLA_TARGET_NETNSID", err);
	}
	close(sock);
}

/* ---- the host's CPU and memory (issue 20 vector 6): set, undone at once ---- */

static void probe_starve(void)
{
	struct sched_param rt = { .sched_priority = 1 }, normal = { 0 };
	struct rlimit lim;
	int prio;
	if (sched_setscheduler(0, SCHED_FIFO, &rt) == 0) {
		sched_setscheduler(0, SCHED_OTHER, &normal);
		say("sched-fifo", "open", "SCHED_FIFO priority 1 set (and reverted)");
	} else {
		refused("sched-fifo", "sched_setscheduler(SCHED_FIFO)", errno);
	}
	/* ioprio_set(IOPRIO_WHO_PROCESS, 0, class RT (1) << 13 | level 4) */
	prio = (int)syscall(SYS_ioprio_get, 1, 0);
	if (syscall(SYS_ioprio_set, 1, 0, (1 << 13) | 4) == 0) {
		syscall(SYS_ioprio_set, 1, 0, prio < 0 ? 0 : prio);
		say("ioprio-rt", "open", "realtime I/O priority set (and reverted)");
	} else {
		refused("ioprio-rt", "ioprio_set(IOPRIO_CLASS_RT)", errno);
	}
	if (getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) {
		say("mlock-beyond", "n/a", "RLIMIT_MEMLOCK is unlimited here");
		return;
	}
	size_t len = (size_t)lim.rlim_cur + 65536;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		say("mlock-beyond", "n/a", "mmap: %s", strerror(errno));
		return;
	}
	if (mlock(p, len) == 0) {
		munlock(p, len);
		say("mlock-beyond", "open", "mlock of %zu bytes, beyond RLIMIT_MEMLOCK %llu (and unlocked)", len,
		    (unsigned long long)lim.rlim_cur);
	} else {
		refused("mlock-beyond", "mlock beyond RLIMIT_MEMLOCK", errno);
	}
	munmap(p, len);
}

int main(int argc, char **argv)
{
	const char *share = NULL, *target = NULL;
	const char *remounts[16];
	int nremounts = 0, opt, host_checks = 0;
	while ((opt = getopt(argc, argv, "s:r:t:xe")) != -1) {
		if (opt == 'x')
			host_checks = 1;
		else if (opt == 'e') {
			/* The setuid copy, run by a host user: who it runs as. */
			printf("euid=%d\n", (int)geteuid());
			return 0;
		} else if (opt == 's')
			share = optarg;
		else if (opt == 't')
			target = optarg;
		else if (opt == 'r' && nremounts < 16 && strchr(optarg, '='))
			remounts[nremounts++] = optarg;
		else {
			fprintf(stderr, "usage: escape-probe [-s DIR] [-r NAME=PATH]... [-t COMM] [-x] | -e\n");
			return 2;
		}
	}
	snprintf(tmpdir, sizeof tmpdir, "/tmp/escape-probe.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		snprintf(tmpdir, sizeof tmpdir, "/run/escape-probe.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("escape-probe: mkdtemp");
			return 1;
		}
	}

	probe_caps();
	probe_host_caps();
	probe_seccomp();
	probe_keyctl();
	probe_bpf();
	probe_perf();
	probe_privileged_calls();
	probe_handles(share);
	probe_disk();
	probe_kmsg();
	probe_open_write("proc-sys-kernel", "/proc/sys/kernel/core_pattern", O_WRONLY);
	probe_open_write("proc-sys-vm", "/proc/sys/vm/drop_caches", O_WRONLY);
	/* Not a vector: the subhost's own netns must stay configurable. */
	probe_open_write("proc-sys-net", "/proc/sys/net/ipv4/ip_forward", O_WRONLY);
	probe_remount("remount-proc-sys", "/proc/sys");
	probe_open_write("sysrq-trigger", "/proc/sysrq-trigger", O_WRONLY);
	probe_kallsyms();
	probe_kcore();
	probe_proc_read("proc-keys", "/proc/keys");
	probe_proc_read("timer-list", "/proc/timer_list");
	probe_klog();
	probe_open_read("proc-kmsg", "/proc/kmsg");
	probe_cgroups();
	probe_mount("proc");
	probe_mount("sysfs");
	probe_mount("cgroup2");
	probe_mount("debugfs");
	probe_mount("bpf");
	probe_remount("remount-sys", "/sys");
	probe_remount("remount-reaper", "/.reaper");
	for (int i = 0; i < nremounts; i++) {
		char name[64];
		const char *eq = strchr(remounts[i], '=');
		snprintf(name, sizeof name, "remount-%.*s", (int)(eq - remounts[i]), remounts[i]);
		probe_remount(name, eq + 1);
	}
	probe_userns();
	probe_adjtime();
	/* issue 20 (h20edge) */
	probe_console();
	probe_audit();
	if (host_checks)
		prepare_host_checks(argv[0]);
	probe_host_process(target);
	probe_netnsid();
	probe_starve();
	rmdir(tmpdir);
	return 0;
}
