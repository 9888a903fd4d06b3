/*
 * enter.c - the last step of a start: the subhost's init started as PID 1
 * of fresh namespaces, with the subhost root pivoted to /, by a starter
 * process that waits for the reaper's "ready" (struct report says why a
 * starter); then the pidfile (subhost-machine reads it) and the unit's
 * readiness (Type=notify: READY=1, MAINPID= the reaper, and STATUS= lines
 * along the way).
 *
 * The readiness pipe (fd 3 inside, until the reaper closes it) carries
 * the init script's progress, as items: "S" TEXT "\n" (starting TEXT, a
 * START entry), "D" STARTED " " FAILED "\n" (the entries are done), and
 * "R" (the reaper runs: ready). Of TEXT, the first ITEM_MAX bytes are
 * kept, anything but printable ASCII as "?": the parent makes a STATUS=
 * line of its own with it, never passes bytes through. Any other first
 * byte is not the protocol: the start fails.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "console.h"
#include "contain.h"
#include "enter.h"
#include "journal.h"
#include "log.h"
#include "notify.h"
#include "subhost-enter.h"
#include "undo.h"
#include "userns.h"

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
	/* With a user namespace, ipc, uts and cgroup come once inside it
	 * (below), so that it owns them. */
	if (unshare(e->private_users ? CLONE_NEWNS : CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
		    (e->contain ? CLONE_NEWCGROUP : 0)) != 0)
		CHILD_DIE("unshare", e->private_users ? "mnt" : e->contain ? "mnt,ipc,uts,cgroup" : "mnt,ipc,uts");
	/* Nothing may propagate between the subhost and anything else. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		CHILD_DIE("make private", "/");
	if (!e->private_users && e->hostname && sethostname(e->hostname, strlen(e->hostname)) != 0)
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
	/* Into the subhost's user namespace, with the mounts made so far
	 * (the root, /dev, /proc and its masks) copied into a mount namespace
	 * it owns: copied from a more privileged one, they are locked
	 * together, and none can be unmounted to show what is below. The
	 * netns was joined before (systemd). The pid and time namespaces
	 * stay the initial user namespace's: a pid namespace made inside
	 * the user namespace could only be entered by a child of the process
	 * that made it, and cannot be joined before it has its first
	 * process. What that costs inside: a fresh /proc cannot be mounted,
	 * nor reboot(2) called (overlay-boot.conf(5)). */
	if (e->private_users) {
		if (userns_join() != 0)
			_exit(1);
		if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) != 0)
			CHILD_DIE("unshare", "mnt,ipc,uts,cgroup (in the user namespace)");
		if (e->hostname && sethostname(e->hostname, strlen(e->hostname)) != 0)
			CHILD_DIE("sethostname", e->hostname);
	}
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
	/* The unit's mount namespace marker (subhost-enter.c): not the subhost's business. */
	unsetenv("OVERLAY_BOOT_MNTNS");
	unsetenv("OVERLAY_BOOT_LOG_PRIORITIES");
	/* Last: from here on this process has only what the subhost gets. */
	if (e->contain && contain_before_exec(e->private_users) != 0)
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

/* The subhost's own machine id beside the pidfile (subhost-machine@
 * reads it there): "ID\n", written whole or not at all; none is no
 * failure, machined then shows no id. */
static void keep_machine_id(const char *pidfile, const char *id)
{
	const char *slash = strrchr(pidfile, '/');
	char path[PATH_MAX], tmp[PATH_MAX + 8], buf[34];
	int fd;

	if (slash == NULL ||
	    snprintf(path, sizeof(path), "%.*s/machine-id", (int)(slash - pidfile), pidfile) >= (int)sizeof(path))
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(buf, sizeof(buf), "%s\n", id);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, 33) != 33 || close(fd) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "%s" PROG ": machine id for machined: %s: %s\n", log_prefix(SD_NOTICE), path, strerror(errno));
		unlink(tmp);
	}
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
		fprintf(stderr, PROG ": %s wrote something other than "
			"readiness items to the readiness fd; killed it\n", prog);
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

#define ITEM_MAX 200

/* What the items said so far (the pipe's protocol: see the top). */
struct progress {
	char item[ITEM_MAX + 2];
	size_t len;
	int started, failed;	/* from "D"; -1: not said */
};

/* Takes byte C of an item: 1 ready, 0 more to come, -1 not the protocol. */
static int take(struct progress *p, char c)
{
	if (p->len == 0) {
		if (c == 'R')
			return 1;
		if (c != 'S' && c != 'D')
			return -1;
		p->item[p->len++] = c;
		return 0;
	}
	if (c != '\n') {
		/* An entry's name as far as it is plain ASCII and ITEM_MAX
		 * bytes long: it is only shown (systemd takes STATUS= text
		 * only as valid UTF-8; "?" keeps it so). */
		if (p->len <= ITEM_MAX)
			p->item[p->len++] = c >= 0x20 && c <= 0x7e ? c : '?';
		return 0;
	}
	p->item[p->len] = '\0';
	p->len = 0;
	if (p->item[0] == 'S') {
		notify("STATUS=starting %s", p->item + 1);
		return 0;
	}
	return sscanf(p->item + 1, "%d %d", &p->started, &p->failed) == 2 &&
	       p->started >= 0 && p->failed >= 0 ? 0 : -1;
}

static void wait_ready(const struct enter_args *e, pid_t pid, int ready_r, struct progress *p)
{
	long deadline = e->timeout_ms < 0 ? -1 : now_ms() + e->timeout_ms;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = ready_r, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		/* Without pidfds (kernel < 5.3), look at the child now and
		 * then instead. */
		int slice = pidfd >= 0 ? -1 : 200;
		int left = -1, n;
		ssize_t r;
		char buf[256];

		if (deadline >= 0) {
			left = (int)(deadline - now_ms());
			if (left <= 0)
				give_up(pid, e, TIMEOUT);
		}
		if (slice >= 0 && (left < 0 || slice < left))
			left = slice;
		n = poll(pf, pidfd >= 0 ? 2 : 1, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("poll", NULL);
		}
		/* The pipe first: "R" then a quick exit is still ready. */
		if (pf[0].revents) {
			r = read(ready_r, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				give_up(pid, e, EOF_SEEN);
			for (ssize_t i = 0; i < r; i++) {
				int t = take(p, buf[i]);

				if (t > 0)
					return;
				if (t < 0)
					give_up(pid, e, BAD_BYTE);
			}
			continue;
		}
		if (child_exited(pid))
			give_up(pid, e, EXITED);
	}
}

/*
 * What the starter reports once the reaper is ready. The starter is a
 * child of this process that makes the subhost's namespaces and starts
 * the reaper as its own child, waits for the readiness, reports and
 * exits: the reaper is then systemd's child (orphans go to PID 1) by the
 * time systemd learns its PID from MAINPID=. A main process that is not
 * systemd's child is one systemd does not wait for when it stops the
 * unit (it would send SIGKILL right after SIGTERM).
 */
struct report {
	pid_t pid;
	int started, failed;	/* the init script's "D" item; -1: not said */
};

/* READY=1 with the reaper as the main process, and what the start did. */
static void tell_ready(const struct enter_args *e, const struct report *r)
{
	char status[96];

	if (e->no_wait)
		snprintf(status, sizeof(status), "running (readiness not reported: custom INIT and REAPER)");
	else if (r->started < 0)
		snprintf(status, sizeof(status), "running");
	else if (r->started + r->failed == 0)
		snprintf(status, sizeof(status), "running, no START services");
	else if (r->failed == 0)
		snprintf(status, sizeof(status), "running %d service%s", r->started, r->started == 1 ? "" : "s");
	else
		snprintf(status, sizeof(status), "running %d service%s, %d failed to start",
			 r->started, r->started == 1 ? "" : "s", r->failed);
	/* MAINPID before READY in one datagram: systemd takes the new main
	 * process first, then the readiness. */
	if (notify("MAINPID=%d\nREADY=1\nSTATUS=%s", (int)r->pid, status) != 0) {
		int err = errno;

		kill(r->pid, SIGKILL);
		errno = err;
		die("notify", "READY=1");
	}
}

/* The starter (see struct report): exits 0 having written the report,
 * or 1 having said why and killed what it started. */
static void start_reaper(const struct enter_args *e, int report_w)
{
	struct progress progress = { .started = -1, .failed = -1 };
	int ready[2] = { -1, -1 };
	struct report r;
	pid_t pid;

	/* Undoing a failed start is the outer process's business (its
	 * atexit), not this copy's. */
	undo_keep();
	/* PID and time namespaces apply to children only, so the starter
	 * stays where it is. */
	if (unshare(CLONE_NEWPID | CLONE_NEWTIME) != 0) {
		if (errno != EINVAL)
			die("unshare", "pid,time");
		/* Kernels without CONFIG_TIME_NS: the time namespace is a
		 * nicety (1.6 used unshare -T), not worth failing for. */
		fprintf(stderr, "%s" PROG ": no time namespace support, "
			"continuing without\n", log_prefix(SD_WARNING));
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
		close(report_w);
		child(e, ready[1]);
		_exit(1);
	}
	relay_tell(pid);
	if (!e->no_wait) {
		close(ready[1]);
		notify("STATUS=starting");
		wait_ready(e, pid, ready[0], &progress);
	}
	r = (struct report){ .pid = pid, .started = progress.started, .failed = progress.failed };
	if (write(report_w, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		int err = errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = err;
		die("report", "to subhost-enter");
	}
	exit(0);
}

void enter(const struct enter_args *e)
{
	int fds[2], status = 0;
	struct report r;
	pid_t starter;
	ssize_t n;

	fault_point(0, "enter");
	/* The service manager is told by the unit's main process only. */
	notify_init();
	/* What systemd-detect-virt and packages' scripts read in PID 1's
	 * environment (systemd's container interface): the subhost's
	 * processes inherit it, as under nspawn. */
	if (setenv("container", "overlay-boot", 1) != 0)
		die("setenv", "container");
	if (pipe2(fds, O_CLOEXEC) != 0)
		die("pipe", NULL);
	fflush(NULL);
	starter = fork();
	if (starter < 0)
		die("fork", NULL);
	if (starter == 0) {
		close(fds[0]);
		start_reaper(e, fds[1]);
	}
	close(fds[1]);
	do
		n = read(fds[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	while (waitpid(starter, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* The starter said why; a starter killed says nothing. */
		if (WIFSIGNALED(status)) {
			char how[80];

			describe(status, how, sizeof(how));
			fprintf(stderr, PROG ": the starter %s\n", how);
		}
		exit(1);
	}
	fault_point(0, "ready");
	if (e->pidfile)
		write_pidfile(e->pidfile, r.pid);
	if (e->pidfile && e->machine_id)
		keep_machine_id(e->pidfile, e->machine_id);
	tell_ready(e, &r);
	journal_done();
	undo_keep();
	exit(0);
}

void parse_enter(int argc, char **argv, int i, struct enter_args *e)
{
	memset(e, 0, sizeof(*e));
	e->timeout_ms = 90000;
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--no-wait") == 0) {
			e->no_wait = 1;
		} else if (strcmp(a, "--hostname-from-root") == 0) {
			e->hostname_from_root = 1;
		} else if (strcmp(a, "--contain") == 0) {
			e->contain = 1;
		} else if (strcmp(a, "--private-users") == 0) {
			e->contain = 1;
			e->private_users = 1;
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
					usage_error("enter --pidfile: empty name");
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
		usage_error("enter: missing ROOT");
	e->root = argv[i++];
	if (i >= argc || strcmp(argv[i], "--") != 0)
		usage_error("enter: expected -- after ROOT %s", e->root);
	i++;
	if (i >= argc)
		usage_error("enter: missing PROGRAM");
	if (argv[i][0] != '/')
		usage_error("enter: PROGRAM must be an absolute path: %s", argv[i]);
	e->argv = &argv[i];
}
