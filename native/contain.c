/*
 * contain.c - what CONTAINMENT=contained adds to a subhost's start, done by
 * subhost-enter in the subhost's first process, after pivot_root and the
 * fresh /proc, right before it execs the init.
 *
 * systemd puts most of the fence around the whole unit (subhost@.service:
 * CapabilityBoundingSet=, SystemCallFilter=, DevicePolicy=). What it
 * cannot do is here, because it must happen after the start helper has
 * used its privileges, or inside the subhost's own /proc:
 *
 *  - /proc: systemd's ProtectKernelTunables= and friends act on the /proc
 *    systemd sees, not on the one mounted after pivot_root. The kernel's
 *    knobs (/proc/sys, except the subhost's own netns under
 *    /proc/sys/net) become read-only binds, and the files that show or
 *    poke at the host kernel (kcore, kallsyms, keys, sysrq-trigger, ...)
 *    are covered by an empty read-only file, as nspawn does.
 *  - the user namespace filter: a process without capabilities may still
 *    create a user namespace and get every capability inside it, mount a
 *    fresh proc there and, since the subhost's root is the host's uid 0,
 *    pass the kernel's uid checks on sysctls. systemd 252's
 *    RestrictNamespaces= would block this but also the time namespace the
 *    start itself makes (252 does not know CLONE_NEWTIME), so the filter
 *    is installed here, once the namespaces exist.
 *  - CAP_SYS_ADMIN: the start helper needs it for the overlay, /dev and
 *    /proc; the subhost must not have it (it would remount the read-only
 *    binds above, mount proc/sysfs/cgroup2/debugfs, and undo it all).
 *
 * Without CAP_SYS_ADMIN the masks can neither be unmounted nor
 * remounted; that is what nspawn (which keeps CAP_SYS_ADMIN) cannot say.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "contain.h"

/* Dropped from the bounding set of every process of a contained subhost.
 * The unit drops all but CAP_SYS_ADMIN already (units/subhost@.service.in
 * has the same list; test/unit/containment-contract.test.ts holds them
 * together); dropping them here again keeps a unit edited by hand from
 * widening the subhost. */
static const int dropped_caps[] = {
	CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_TIME,
	CAP_SYS_BOOT, CAP_SYSLOG, CAP_MAC_ADMIN, CAP_MAC_OVERRIDE, CAP_BPF,
	CAP_PERFMON, CAP_SYS_PACCT, CAP_WAKE_ALARM, CAP_BLOCK_SUSPEND,
	CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE, CAP_AUDIT_CONTROL,
};

/* Knobs of the host kernel: read-only. */
static const char *const proc_read_only[] = {
	"/proc/sys", "/proc/acpi", "/proc/apm", "/proc/asound", "/proc/bus",
	"/proc/fs", "/proc/irq", "/proc/scsi",
};

/* What shows the host kernel's memory, symbols, keys or timers, or pokes
 * it (sysrq-trigger): covered by an empty read-only file. */
static const char *const proc_masked[] = {
	"/proc/kcore", "/proc/kallsyms", "/proc/keys", "/proc/timer_list",
	"/proc/sched_debug", "/proc/latency_stats", "/proc/sysrq-trigger",
	"/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup",
};

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, "%s: contain: %s %s: %s\n", prog_name, what, arg,
		strerror(errno));
	return -1;
}

static int bind_read_only(const char *path)
{
	/* A new bind takes no flags; the remount sets them on this mount
	 * only (the submounts MS_REC copied keep theirs). */
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0)
		return fail("bind", path);
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return fail("remount read-only", path);
	return 0;
}

/* An empty read-only file on a tmpfs that is never attached anywhere:
 * nothing inside can reach it by a path, and its clones, moved over the
 * masked files, are read-only mounts. */
static int empty_file_mount(void)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	int fs, mnt, fd;

	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return fail("fsopen", "tmpfs");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "4k", 0) != 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0", 0) != 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
		close(fs);
		return fail("create", "tmpfs");
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID |
		      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	close(fs);
	if (mnt < 0)
		return fail("fsmount", "tmpfs");
	fd = openat(mnt, "empty", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0 || close(fd) != 0 ||
	    mount_setattr(mnt, "", AT_EMPTY_PATH, &ro, sizeof(ro)) != 0) {
		close(mnt);
		return fail("prepare", "empty file");
	}
	return mnt;
}

static int mask(int empty, const char *path)
{
	int tree = open_tree(empty, "empty", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (tree < 0)
		return fail("clone", "empty file");
	if (move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
		close(tree);
		return fail("mask", path);
	}
	close(tree);
	return 0;
}

int contain_proc(void)
{
	struct stat st;
	int empty;

	/* /proc/sys/net belongs to the subhost's own netns: keep it
	 * writable by making it a mount of its own first; the recursive
	 * read-only bind of /proc/sys below copies it as it is. */
	if (mount("/proc/sys/net", "/proc/sys/net", NULL, MS_BIND, NULL) != 0)
		return fail("bind", "/proc/sys/net");
	for (size_t i = 0; i < countof(proc_read_only); i++) {
		if (stat(proc_read_only[i], &st) != 0)
			continue;	/* not in this kernel */
		if (bind_read_only(proc_read_only[i]) != 0)
			return -1;
	}
	if ((empty = empty_file_mount()) < 0)
		return -1;
	for (size_t i = 0; i < countof(proc_masked); i++) {
		if (stat(proc_masked[i], &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (mask(empty, proc_masked[i]) != 0) {
			close(empty);
			return -1;
		}
	}
	close(empty);
	return 0;
}

/* The audit netlink socket: with CAP_AUDIT_WRITE, AUDIT_USER messages
 * from inside would land in the host's audit log as the host's root (the
 * kernel accepts them from any pid namespace of the initial user
 * namespace). EAFNOSUPPORT, as nspawn: libaudit (sshd, PAM, su) takes it
 * for a kernel without audit and carries on, where EPERM would make sshd
 * refuse every login. Only the low 32 bits of the int arguments count in
 * the kernel: the upper ones are masked off here too. */
static int deny_audit(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 2,
				SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK),
				SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, NETLINK_AUDIT));
}

/* Refuse new user namespaces: unshare(2) and clone(2) with CLONE_NEWUSER
 * get EPERM; clone3(2) passes its flags in memory a filter cannot read, so
 * it gets ENOSYS and libc falls back to clone(2) (what systemd does too).
 * libseccomp covers the x86 and x32 ABIs as well: a 32-bit binary must
 * not be a way around. */
/* CONTAINMENT=private-users keeps CAP_SYS_ADMIN (its own user
 * namespace's: sethostname needs it), so the mounts contained's missing
 * CAP_SYS_ADMIN forbids are refused here instead: a mount moved in later
 * from the host (overlay-share --ro) is not locked as the ones made at
 * start are, and would remount read-write. */
static const char *const mount_calls[] = {
	"mount", "umount2", "pivot_root", "mount_setattr", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
};

static int deny_user_namespaces(int deny_mounts)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const uint32_t more_arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
	int r = -1;

	if (ctx == NULL) {
		errno = ENOMEM;
		return fail("seccomp", "init");
	}
	/* libseccomp sets no_new_privs by default: that would stop su, sudo
	 * and every other setuid program inside. Loading without it needs
	 * CAP_SYS_ADMIN, which this process still has. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0)
		goto out;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64)
		for (size_t i = 0; i < countof(more_arches); i++)
			if (seccomp_arch_add(ctx, more_arches[i]) != 0)
				goto out;
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0 ||
	    deny_audit(ctx) != 0)
		goto out;
	for (size_t i = 0; deny_mounts && i < countof(mount_calls); i++) {
		int nr = seccomp_syscall_resolve_name(mount_calls[i]);

		/* One this libseccomp does not know: not one we could filter. */
		if (nr != __NR_SCMP_ERROR && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) != 0)
			goto out;
	}
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	if (r != 0) {
		errno = r < 0 ? -r : EINVAL;
		return fail("seccomp", "user namespace filter");
	}
	return 0;
}

/* After execve, uid 0's permitted set is (inheritable | bounding set):
 * the inheritable and ambient sets must lose the caps too, not only the
 * bounding set. */
static int drop_caps(int keep_sys_admin)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	for (size_t i = keep_sys_admin ? 1 : 0; i < countof(dropped_caps); i++)
		if (prctl(PR_CAPBSET_DROP, dropped_caps[i], 0, 0, 0) != 0 &&
		    errno != EINVAL)	/* EINVAL: not known to this kernel */
			return fail("drop capability", "from the bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return fail("clear", "ambient capabilities");
	if (syscall(SYS_capget, &hdr, data) != 0)
		return fail("capget", "self");
	for (size_t i = keep_sys_admin ? 1 : 0; i < countof(dropped_caps); i++)
		data[CAP_TO_INDEX(dropped_caps[i])].inheritable &= ~CAP_TO_MASK(dropped_caps[i]);
	if (syscall(SYS_capset, &hdr, data) != 0)
		return fail("capset", "inheritable");
	return 0;
}

int contain_before_exec(int private_users)
{
	/* The filter first: loading it without no_new_privs needs the
	 * CAP_SYS_ADMIN that drop_caps() takes away from what execve gives. */
	if (deny_user_namespaces(private_users) != 0 || drop_caps(private_users) != 0)
		return -1;
	return 0;
}

int contain_check(int contained)
{
	int filtered = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2;
	int module = prctl(PR_CAPBSET_READ, CAP_SYS_MODULE, 0, 0, 0) == 1;

	if (contained && (!filtered || module)) {
		fprintf(stderr, "%s: the config says CONTAINMENT=contained, "
			"but this unit runs without its system call filter or "
			"capability limits (a drop-in resets them): refusing to "
			"start; see systemctl cat and run systemctl daemon-reload\n",
			prog_name);
		return -1;
	}
	if (!contained && !module) {
		fprintf(stderr, "%s: the config says CONTAINMENT=none, "
			"but the unit still confines it (its drop-in is missing): "
			"start it with overlay-boot start CONF, or list the config "
			"in /etc/subhosts.conf and run systemctl daemon-reload\n",
			prog_name);
		return -1;
	}
	return 0;
}
