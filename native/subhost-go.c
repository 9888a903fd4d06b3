/*
 * subhost-go - run a command inside a running subhost with exactly the
 * restrictions of the subhost's own processes (what overlay-go runs).
 *
 * PID is the subhost's reaper (its PID 1, the unit's MainPID). Whatever
 * the unit, systemd, subhost-enter or an admin's drop-in put on it is
 * copied, read from the reaper itself rather than from a list of ours:
 *
 *  - its namespaces (mount, cgroup, ipc, uts, net, pid, time), its root
 *    and working directory, like `nsenter -a -r -w`;
 *  - its capability bounding set (CapBnd in /proc/PID/status): every
 *    other capability is dropped from the bounding, inheritable and
 *    ambient sets and from the permitted and effective sets;
 *    NoNewPrivs if it has it;
 *  - its seccomp filters, read with ptrace (PTRACE_SECCOMP_GET_FILTER,
 *    as CRIU does) and installed again in the same order.
 *
 * The cgroup is the caller's business: overlay-go attaches this process
 * to the subhost's unit before it execs us, so what we fork is born there
 * (and setns(CLONE_NEWCGROUP) then gives the subhost's own view of it).
 *
 * Three processes:
 *
 *   relay (this process; host namespaces, never visible inside)
 *     `- setup (a child: enters the namespaces and the root, allocates the
 *        |      terminal, then drops to the reaper's restrictions; it is
 *        |      in the host's pid namespace, so invisible inside too)
 *        `- command (forked by setup into the subhost's pid namespace,
 *                    only after everything privileged was done and
 *                    dropped: the subhost's root can ptrace it, and
 *                    would then get nothing it does not have already)
 *
 * The admin's terminal is never handed in: when stdin is a terminal, the
 * command gets a new pseudo-terminal allocated in the subhost's own devpts
 * (/dev/pts/ptmx, opened by setup inside the subhost and passed back to the
 * relay over a socketpair), and the relay copies bytes between the two,
 * with the admin's terminal in raw mode and window size changes passed on.
 * Otherwise (scripts, pipes) stdin, stdout and stderr are passed through,
 * except any that is a terminal (say stdout, with stdin a pipe): that one
 * is replaced by a pipe the relay copies from. The command is always in a
 * session of its own, so the admin's terminal is not its controlling
 * terminal either (no /dev/tty, no TIOCSTI through it). Every other fd is
 * closed.
 *
 * Static and single-threaded like the other helpers (setns of a mount
 * namespace refuses multi-threaded callers).
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "common.h"

#define PROG "subhost-go"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Our own exit status when the command could not be started at all (the
 * convention of env, chroot, docker run): 126/127 are the command's
 * "cannot execute"/"not found", anything else is the command's. */
#define EXIT_SETUP 125

const char prog_name[] = PROG;

const char usage_text[] =
"Usage: " PROG " PID [--] COMMAND [ARG...]\n"
"\n"
"Runs COMMAND in all the namespaces of process PID (a subhost's reaper,\n"
"its PID 1), in its root and working directory, with PID's capability\n"
"bounding set, no-new-privileges flag and seccomp filters: the command\n"
"is restricted exactly as the subhost's own processes are. Its cgroup is\n"
"the caller's (overlay-go attaches the caller to the subhost's unit).\n"
"\n"
"When stdin is a terminal, COMMAND gets a new pseudo-terminal of the\n"
"subhost's own /dev/pts, relayed to this one (raw mode, window size\n"
"passed on). Otherwise stdin, stdout and stderr are passed through,\n"
"except a terminal, which is replaced by a relayed pipe. COMMAND always\n"
"runs in a session of its own; no other file descriptor is passed.\n"
"\n"
"Exit status: COMMAND's; 128+N if it was killed by signal N; 126/127 if\n"
"it cannot be run or found; 125 if it could not be started inside (the\n"
"reason is printed); 2 bad usage.\n";

/* The command could not be started: one line, EXIT_SETUP. */
#define fail(...) failf(EXIT_SETUP, __VA_ARGS__)

/* ---- what the reaper has ------------------------------------------ */

struct filter {
	struct sock_fprog prog;
	unsigned int flags;	/* SECCOMP_FILTER_FLAG_LOG or 0 */
};

struct reaper {
	pid_t pid;
	int pidfd;		/* pins the process: PID cannot be reused under us */
	int procfd;		/* /proc/PID, checked against pidfd */
	int rootfd, cwdfd;	/* its root and working directory */
	uint64_t capbnd;
	int nnp;
	int tracer;		/* TracerPid: */
	int seccomp;		/* 0 none, 1 strict, 2 filter */
	int nfilters_status;	/* Seccomp_filters: (Linux >= 5.9), or -1 */
	struct filter *filters;	/* index 0 = the oldest, as the kernel numbers them */
	int nfilters;
};

/* Still the process pidfd was opened for? (Then /proc/PID opened after
 * pidfd_open is that process too: its PID cannot have been reused.) */
static void check_alive(const struct reaper *r)
{
	if (syscall(SYS_pidfd_send_signal, r->pidfd, 0, NULL, 0) != 0)
		fail("process %d is gone (the subhost stopped?)", (int)r->pid);
}

static void read_status(struct reaper *r)
{
	char line[256];
	FILE *f;
	int fd = openat(r->procfd, "status", O_RDONLY | O_CLOEXEC);
	int have_bnd = 0;

	if (fd < 0 || !(f = fdopen(fd, "r")))
		fail("cannot read /proc/%d/status: %s", (int)r->pid, strerror(errno));
	r->nfilters_status = -1;
	r->seccomp = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		int i;

		if (sscanf(line, "CapBnd: %llx", &v) == 1) {
			r->capbnd = v;
			have_bnd = 1;
		} else if (sscanf(line, "TracerPid: %d", &i) == 1) {
			r->tracer = i;
		} else if (sscanf(line, "NoNewPrivs: %d", &i) == 1) {
			r->nnp = i;
		} else if (sscanf(line, "Seccomp: %d", &i) == 1) {
			r->seccomp = i;
		} else if (sscanf(line, "Seccomp_filters: %d", &i) == 1) {
			r->nfilters_status = i;
		}
	}
	fclose(f);
	if (!have_bnd || r->seccomp < 0)
		fail("/proc/%d/status has no CapBnd or Seccomp line", (int)r->pid);
	/* Strict mode (only read/write/exit) cannot be what a subhost's PID 1
	 * runs under, and could not run a shell. */
	if (r->seccomp == 1)
		fail("process %d is in strict seccomp mode: nothing can run like it", (int)r->pid);
}

/*
 * The reaper's seccomp filters, as the kernel keeps them (kernel/seccomp.c,
 * seccomp_get_filter()):
 *  - PTRACE_SECCOMP_GET_FILTER exists only with CONFIG_CHECKPOINT_RESTORE
 *    (and CONFIG_SECCOMP_FILTER); it needs CAP_SYS_ADMIN in the initial
 *    user namespace, a caller that is not itself under seccomp (EACCES),
 *    and a tracee in a ptrace-stop (ptrace_check_attach): so we attach
 *    with PTRACE_SEIZE (no signal sent, nothing seen by the reaper) and
 *    stop it with PTRACE_INTERRUPT;
 *  - index 0 is the OLDEST filter, each newer one the next index, until
 *    ENOENT (get_nth_filter() counts back from the newest, the head of
 *    the task's list, by count - index - 1: ptrace(2) says otherwise, the
 *    kernel does this; the native test sees the difference); a filter is
 *    returned as the classic BPF it was installed with (EMEDIUMTYPE if it
 *    has none);
 *  - PTRACE_SECCOMP_GET_METADATA gives a filter's flags (only
 *    SECCOMP_FILTER_FLAG_LOG is kept by the kernel).
 * A task can have only one tracer: a reaper already traced (say by a
 * debugger inside) gives EPERM, and we refuse to start rather than run a
 * shell without the filters. The reaper is detached right after reading;
 * a stop makes its sigwaitinfo() return EINTR, which it retries.
 */
static void read_filters(struct reaper *r)
{
	int status, inject = 0, err = 0, cap = 0;
	const char *what = NULL;

	if (ptrace(PTRACE_SEIZE, r->pid, NULL, NULL) != 0) {
		if (errno == EPERM && r->tracer)
			fail("cannot inspect process %d to copy its seccomp filters: it is traced "
			     "by process %d; refusing to run without them", (int)r->pid, r->tracer);
		if (errno == EPERM)
			fail("cannot inspect process %d to copy its seccomp filters: %s (ptrace "
			     "refused: kernel.yama.ptrace_scope?); refusing to run without them",
			     (int)r->pid, strerror(errno));
		fail("cannot inspect process %d (ptrace): %s", (int)r->pid, strerror(errno));
	}
	/* Seized by number: make sure it is still the reaper. */
	check_alive(r);
	if (ptrace(PTRACE_INTERRUPT, r->pid, NULL, NULL) != 0) {
		err = errno;
		what = "PTRACE_INTERRUPT";
		goto detach;
	}
	while (waitpid(r->pid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			err = errno;
			what = "waitpid";
			goto detach;
		}
	}
	if (!WIFSTOPPED(status))
		fail("process %d ended (the subhost stopped?)", (int)r->pid);
	/* A signal-delivery-stop (a signal was pending) is a ptrace-stop too;
	 * its signal must be given back on detach. */
	if ((status >> 16) != PTRACE_EVENT_STOP)
		inject = WSTOPSIG(status);

	for (int i = 0; ; i++) {
		struct __ptrace_seccomp_metadata md = { .filter_off = (uint64_t)i };
		struct sock_filter *insns;
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, r->pid, (void *)(long)i, NULL);

		if (n < 0 && errno == ENOENT)
			break;
		if (n <= 0 || n > BPF_MAXINSNS) {
			err = n < 0 ? errno : EINVAL;
			what = "PTRACE_SECCOMP_GET_FILTER";
			goto detach;
		}
		insns = calloc((size_t)n, sizeof(*insns));
		if (!insns)
			fail("out of memory");
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, r->pid, (void *)(long)i, insns) != n) {
			err = errno ? errno : EINVAL;
			what = "PTRACE_SECCOMP_GET_FILTER";
			goto detach;
		}
		if (ptrace(PTRACE_SECCOMP_GET_METADATA, r->pid, (void *)sizeof(md), &md) < 0) {
			err = errno;
			what = "PTRACE_SECCOMP_GET_METADATA";
			goto detach;
		}
		if (r->nfilters == cap) {
			cap = cap ? 2 * cap : 8;
			r->filters = realloc(r->filters, (size_t)cap * sizeof(*r->filters));
			if (!r->filters)
				fail("out of memory");
		}
		r->filters[r->nfilters].prog.len = (unsigned short)n;
		r->filters[r->nfilters].prog.filter = insns;
		r->filters[r->nfilters].flags = (unsigned int)(md.flags & SECCOMP_FILTER_FLAG_LOG);
		r->nfilters++;
	}
detach:
	if (ptrace(PTRACE_DETACH, r->pid, NULL, (void *)(long)inject) != 0 && !err)
		fail("cannot detach from process %d: %s", (int)r->pid, strerror(errno));
	if (err == EIO || err == EINVAL)
		fail("cannot read the seccomp filters of process %d (%s: %s): this kernel needs "
		     "CONFIG_CHECKPOINT_RESTORE; refusing to run without them",
		     (int)r->pid, what, strerror(err));
	if (err == EMEDIUMTYPE)
		fail("a seccomp filter of process %d cannot be copied (not classic BPF)", (int)r->pid);
	if (err == EACCES)
		fail("cannot read the seccomp filters of process %d (%s): " PROG
		     " must run with CAP_SYS_ADMIN and without a seccomp filter of its own",
		     (int)r->pid, what);
	if (err)
		fail("cannot read the seccomp filters of process %d (%s): %s",
		     (int)r->pid, what, strerror(err));
	if (r->nfilters == 0)
		fail("process %d is in seccomp filter mode, yet no filter could be read", (int)r->pid);
	if (r->nfilters_status >= 0 && r->nfilters != r->nfilters_status)
		fail("process %d has %d seccomp filters, %d were read", (int)r->pid,
		     r->nfilters_status, r->nfilters);
}

static void open_reaper(struct reaper *r, pid_t pid)
{
	char path[32];

	r->pid = pid;
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (r->pidfd < 0) {
		if (errno == ESRCH)
			fail("no process %d (is the subhost running?)", (int)pid);
		fail("pidfd_open %d: %s (needs Linux >= 5.3)", (int)pid, strerror(errno));
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	r->procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->procfd < 0)
		fail("cannot open %s: %s", path, strerror(errno));
	r->rootfd = openat(r->procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	r->cwdfd = openat(r->procfd, "cwd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->rootfd < 0 || r->cwdfd < 0)
		fail("cannot open the root of %s: %s", path, strerror(errno));
	/* A user namespace of its own (CONTAINMENT=private-users): setup()
	 * joins it. */
	check_alive(r);
	read_status(r);
	if (r->seccomp == 2)
		read_filters(r);
	/* Everything above came from the process the pidfd pins. */
	check_alive(r);
}

/* ---- setup: enter, allocate the terminal, drop ---------------------- */

/* The terminal passes from setup to the relay as one byte ('M') with the
 * fd as SCM_RIGHTS; both ends lay the message out alike. */
struct fd_msg {
	char c;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m;
};

static void fd_msg_init(struct fd_msg *f, char c)
{
	memset(f, 0, sizeof(*f));
	f->c = c;
	f->iov.iov_base = &f->c;
	f->iov.iov_len = 1;
	f->m.msg_iov = &f->iov;
	f->m.msg_iovlen = 1;
	f->m.msg_control = f->u.buf;
	f->m.msg_controllen = sizeof(f->u.buf);
}

static void send_fd(int sock, int fd)
{
	struct fd_msg f;
	struct cmsghdr *h;

	fd_msg_init(&f, 'M');
	h = CMSG_FIRSTHDR(&f.m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	if (sendmsg(sock, &f.m, MSG_NOSIGNAL) != 1)
		fail("cannot pass the terminal on: %s", strerror(errno));
}

/*
 * A new pseudo-terminal of the subhost's own devpts. /dev/pts is looked up
 * in the subhost's root without following any symlink, and must be a
 * devpts mount (fstatfs) before anything in it is opened: opening a device
 * node can have effects, so a node planted elsewhere is never opened.
 * "ptmx" in that directory, not crossing into a mount on top of it, can
 * only be that devpts's own multiplexer; it is checked anyway (5:2). The
 * peer is opened with TIOCGPTPEER, from the master itself: no path lookup
 * that a process inside could redirect.
 */
static void open_pty(int rootfd, int *master, int *slave)
{
	struct statfs sfs;
	struct stat st;
	int unlock = 0;
	int pts = openat2_resolve(rootfd, "dev/pts", O_PATH | O_DIRECTORY | O_CLOEXEC,
				  RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);

	if (pts < 0 || fstatfs(pts, &sfs) != 0 || sfs.f_type != DEVPTS_SUPER_MAGIC)
		fail("the subhost's /dev/pts is not a devpts: cannot allocate a terminal "
		     "inside (run a COMMAND with stdin not a terminal instead)");
	*master = openat2_resolve(pts, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC,
				  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
	if (*master < 0)
		fail("cannot open the subhost's /dev/pts/ptmx: %s", strerror(errno));
	if (fstat(*master, &st) != 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != 5 || minor(st.st_rdev) != 2 ||
	    fstatfs(*master, &sfs) != 0 || sfs.f_type != DEVPTS_SUPER_MAGIC)
		fail("the subhost's /dev/pts/ptmx is not the devpts multiplexer");
	if (ioctl(*master, TIOCSPTLCK, &unlock) != 0)
		fail("cannot unlock the new terminal: %s", strerror(errno));
	*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		fail("cannot open the new terminal (TIOCGPTPEER): %s", strerror(errno));
	close(pts);
}

/*
 * Down to the reaper's restrictions, in the order the kernel needs:
 *  - the bounding set (PR_CAPBSET_DROP needs CAP_SETPCAP, still effective:
 *    the bounding set limits what execve() can give, not what is held);
 *  - the inheritable and ambient sets: for root, execve() gives
 *    permitted = inheritable | bounding (| ambient), so a capability left
 *    there would come back;
 *  - no_new_privs, if the reaper has it;
 *  - the seccomp filters, oldest first (each new one goes on top: for two
 *    equal actions the newest filter's data wins, so the order matters);
 *    installing one needs CAP_SYS_ADMIN or no_new_privs, so this comes
 *    before
 *  - permitted and effective: only what the bounding set allows. This is a
 *    capset() under the subhost's own filters: a subhost whose processes
 *    may not call capset() gets no shell (we fail rather than run one with
 *    more capabilities).
 * From here on this process holds nothing a subhost process lacks.
 */
static void drop_to(const struct reaper *r)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	uint32_t keep[2] = { (uint32_t)r->capbnd, (uint32_t)(r->capbnd >> 32) };

	for (int c = 0; c < 64 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++) {
		if (r->capbnd & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
			fail("cannot drop capability %d from the bounding set: %s", c, strerror(errno));
	}
	if (syscall(SYS_capget, &hdr, d) != 0)
		fail("capget: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		d[i].inheritable &= keep[i];
	if (syscall(SYS_capset, &hdr, d) != 0)
		fail("capset (inheritable): %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		fail("cannot clear the ambient capabilities: %s", strerror(errno));
	if (r->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail("cannot set no_new_privs: %s", strerror(errno));
	for (int i = 0; i < r->nfilters; i++) {
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, r->filters[i].flags,
			    &r->filters[i].prog) != 0)
			fail("cannot install seccomp filter %d of process %d: %s",
			     i, (int)r->pid, strerror(errno));
	}
	for (int i = 0; i < 2; i++) {
		d[i].permitted &= keep[i];
		d[i].effective &= keep[i];
	}
	if (syscall(SYS_capset, &hdr, d) != 0)
		fail("capset (permitted, effective) under the subhost's seccomp filters: %s",
		     strerror(errno));
}

/* The setup child's side of the socket: message types. */
#define MSG_STATUS 'S'

/* What the relay handles (a signalfd), and what the setup child waits for
 * (the command's end, and what the relay passes on). */
static const int relay_signals[] = { SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT };
static const int setup_signals[] = { SIGCHLD, SIGTERM, SIGHUP, SIGINT, SIGQUIT };

enum { IN = 0, OUT = 1 };

struct plan {
	int tty;		/* a pty inside */
	int pipe_out[3][2];	/* non-tty mode: fd 1/2 that were terminals */
	char **argv;
};

static void run_command(char **argv, int sock)
{
	sigset_t none;
	int err;

	close(sock);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(argv[0], argv);
	err = errno;
	fprintf(stderr, PROG ": cannot run %s: %s\n", argv[0], strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

static void setup(const struct reaper *r, const struct plan *p, int sock)
{
	int master = -1, slave = -1, status;
	int flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS |
		    CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWTIME;
	sigset_t fwd;
	pid_t pid;
	char go;

	struct stat theirs, mine;
	int userns = fstatat(r->procfd, "ns/user", &theirs, 0) == 0 &&
		     stat("/proc/self/ns/user", &mine) == 0 &&
		     (theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev);

	/* CONTAINMENT=private-users: the reaper's user namespace too, so
	 * that the command has no capability on the host. Its pid and time
	 * namespaces are the initial user namespace's (subhost-enter's
	 * enter.c): joined first, with the host's credentials; then the user
	 * namespace (the kernel installs it before the others of a call),
	 * as root inside, with no host groups. */
	if (userns) {
		if (setns(r->pidfd, CLONE_NEWPID | CLONE_NEWTIME) != 0 &&
		    (errno != EINVAL || setns(r->pidfd, CLONE_NEWPID) != 0))
			fail("cannot enter the pid namespace of process %d: %s", (int)r->pid, strerror(errno));
		if (setgroups(0, NULL) != 0)
			fail("cannot drop the host's groups: %s", strerror(errno));
		flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
	}
	/* All namespaces at once through the pidfd (Linux >= 5.8). PID: for
	 * our children only, which is why the command is forked below.
	 * Without CONFIG_TIME_NS the flag is refused (subhost-enter then made
	 * none either). */
	if (setns(r->pidfd, flags) != 0 &&
	    (errno != EINVAL || setns(r->pidfd, flags & ~CLONE_NEWTIME) != 0))
		fail("cannot enter the namespaces of process %d: %s (needs Linux >= 5.8)",
		     (int)r->pid, strerror(errno));
	if (userns && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
		fail("cannot become root of the subhost's user namespace: %s", strerror(errno));
	/* setns(CLONE_NEWNS) made root and cwd the namespace's root mount;
	 * the reaper's are its pivoted root (nsenter -r -w). */
	if (fchdir(r->rootfd) != 0 || chroot(".") != 0)
		fail("cannot enter the root of process %d: %s", (int)r->pid, strerror(errno));
	if (fchdir(r->cwdfd) != 0 && chdir("/") != 0)
		fail("cannot change directory: %s", strerror(errno));

	if (p->tty) {
		open_pty(r->rootfd, &master, &slave);
		send_fd(sock, master);
		close(master);
		/* The relay sets the terminal's modes and size first. */
		if (read(sock, &go, 1) != 1)
			_exit(EXIT_SETUP);
		for (int fd = 0; fd < 3; fd++)
			if (dup2(slave, fd) != fd)
				fail("dup2: %s", strerror(errno));
	} else {
		for (int fd = 1; fd < 3; fd++)
			if (p->pipe_out[fd][OUT] >= 0 && dup2(p->pipe_out[fd][OUT], fd) != fd)
				fail("dup2: %s", strerror(errno));
	}
	/* Only 0, 1, 2 and the socket (as 3, close-on-exec) stay open: not
	 * the relay's terminal, pidfd, /proc, root or pipe fds. */
	if (sock != 3 ? dup3(sock, 3, O_CLOEXEC) != 3 : fcntl(3, F_SETFD, FD_CLOEXEC) != 0)
		fail("dup3: %s", strerror(errno));
	sock = 3;
	if (close_range(4, ~0U, 0) != 0)
		fail("close_range: %s", strerror(errno));

	drop_to(r);

	/* (Already blocked since the relay forked us; the command unblocks.) */
	sigemptyset(&fwd);
	for (size_t s = 0; s < countof(setup_signals); s++)
		sigaddset(&fwd, setup_signals[s]);
	pid = fork();
	if (pid < 0)
		fail("cannot fork inside the subhost: %s", strerror(errno));
	if (pid == 0) {
		/* A session of its own: no controlling terminal from outside;
		 * with a pty, the new one becomes it. */
		if (setsid() < 0 || (p->tty && ioctl(0, TIOCSCTTY, 0) != 0))
			fail("cannot make a session for the command: %s", strerror(errno));
		run_command(p->argv, sock);
	}
	/* We need none of the command's fds any more (and the slave must not
	 * outlive the command here). */
	close(0);
	close(1);
	close(2);
	/* Wait for the command; pass on what the relay forwards to us:
	 * SIGINT/SIGQUIT as a terminal would (its process group), SIGTERM
	 * and SIGHUP to it. */
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&fwd, &si);
		pid_t w;

		if (sig == SIGINT || sig == SIGQUIT)
			kill(-pid, sig);
		else if (sig == SIGTERM || sig == SIGHUP)
			kill(pid, sig);
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
	}
	{
		char msg[1 + sizeof(int)] = { MSG_STATUS };

		memcpy(msg + 1, &status, sizeof(int));
		if (send(sock, msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
			_exit(EXIT_SETUP);
	}
	_exit(0);
}

/* ---- the relay ------------------------------------------------------ */

struct relay {
	int in, out;
	char buf[4096];
	size_t off, len;
	int done;
};

static int recv_fd(int sock)
{
	struct fd_msg f;
	struct cmsghdr *h;
	int fd;

	fd_msg_init(&f, 0);
	if (recvmsg(sock, &f.m, MSG_CMSG_CLOEXEC) != 1 || f.c != 'M')
		return -1;
	h = CMSG_FIRSTHDR(&f.m);
	if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS ||
	    h->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(h), sizeof(int));
	return fd;
}

/* One step of a relay after poll; drain: read what is there, do not wait. */
static void relay_step(struct relay *r, short revents, int drain)
{
	ssize_t n;

	if (r->done)
		return;
	if (r->len == 0 && (drain || (revents & (POLLIN | POLLHUP | POLLERR)))) {
		n = read(r->in, r->buf, sizeof(r->buf));
		if (n > 0) {
			r->off = 0;
			r->len = (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* EOF; EIO from a pty master once no one has the peer. */
			r->done = 1;
			return;
		} else if (drain) {
			r->done = 1;
			return;
		}
	}
	while (r->len > 0) {
		n = write(r->out, r->buf + r->off, r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!drain)
				return;
			struct pollfd w = { .fd = r->out, .events = POLLOUT };
			poll(&w, 1, -1);
			continue;
		}
		if (n <= 0) {
			r->len = 0;
			r->done = 1;
			return;
		}
		r->off += (size_t)n;
		r->len -= (size_t)n;
	}
}

static void pass_winsize(int master)
{
	struct winsize ws;

	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

static struct termios saved;
static int saved_ok;

static void restore_terminal(void)
{
	if (saved_ok)
		tcsetattr(0, TCSADRAIN, &saved);
}

static int parse_pid(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '1' || s[0] > '9' || *end != '\0' || errno || v > INT_MAX)
		usage_error("bad PID '%s'", s);
	return (int)v;
}

int main(int argc, char **argv)
{
	static struct reaper r;
	struct plan p = { 0 };
	struct relay rel[3];
	int nrel = 0, sock[2], sfd, master = -1, status = -1, have_status = 0;
	sigset_t sigs;
	pid_t setup_pid;
	int i = 1;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2)
		usage_error("expected PID and COMMAND");
	pid_t pid = parse_pid(argv[i++]);
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		usage_error("expected a COMMAND after PID %s", argv[1]);
	p.argv = argv + i;

	open_reaper(&r, pid);

	memset(p.pipe_out, -1, sizeof(p.pipe_out));
	p.tty = isatty(0);
	if (p.tty) {
		if (tcgetattr(0, &saved) == 0)
			saved_ok = 1;
	} else {
		/* stdin is not a terminal; stdout or stderr may be: relay it. */
		for (int fd = 1; fd < 3; fd++) {
			if (!isatty(fd))
				continue;
			if (pipe2(p.pipe_out[fd], O_CLOEXEC) != 0)
				fail("pipe: %s", strerror(errno));
			fcntl(p.pipe_out[fd][IN], F_SETFL, O_NONBLOCK);
			rel[nrel++] = (struct relay){ .in = p.pipe_out[fd][IN], .out = fd };
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0)
		fail("socketpair: %s", strerror(errno));

	/* Signals for the relay come through a signalfd: blocked from here
	 * on (the setup child unblocks them for the command). */
	sigemptyset(&sigs);
	for (size_t s = 0; s < countof(relay_signals); s++)
		sigaddset(&sigs, relay_signals[s]);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	fflush(NULL);
	setup_pid = fork();
	if (setup_pid < 0)
		fail("fork: %s", strerror(errno));
	if (setup_pid == 0) {
		close(sock[0]);
		setup(&r, &p, sock[1]);
	}
	close(sock[1]);
	for (int fd = 1; fd < 3; fd++)
		if (p.pipe_out[fd][OUT] >= 0)
			close(p.pipe_out[fd][OUT]);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fail("signalfd: %s", strerror(errno));

	if (p.tty) {
		struct termios raw;

		master = recv_fd(sock[0]);
		if (master < 0) {
			/* setup failed (it said why): nothing was started. */
			waitpid(setup_pid, NULL, 0);
			return EXIT_SETUP;
		}
		fcntl(master, F_SETFL, O_NONBLOCK);
		/* The admin's terminal modes (erase, intr, ...) on the new one
		 * (termios ioctls on a master act on its peer), and its size. */
		if (saved_ok)
			tcsetattr(master, TCSANOW, &saved);
		pass_winsize(master);
		if (saved_ok) {
			raw = saved;
			cfmakeraw(&raw);
			atexit(restore_terminal);
			tcsetattr(0, TCSADRAIN, &raw);
		}
		if (write(sock[0], "g", 1) != 1) {
			waitpid(setup_pid, NULL, 0);
			return EXIT_SETUP;
		}
		rel[nrel++] = (struct relay){ .in = 0, .out = master };
		rel[nrel++] = (struct relay){ .in = master, .out = 1 };
	}

	while (!have_status) {
		struct pollfd pf[2 + 3 * 2];
		int n = 0, idx[3][2];
		struct signalfd_siginfo si;

		pf[n++] = (struct pollfd){ .fd = sock[0], .events = POLLIN };
		pf[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (int k = 0; k < nrel; k++) {
			idx[k][0] = idx[k][1] = -1;
			if (rel[k].done)
				continue;
			if (rel[k].len == 0) {
				idx[k][0] = n;
				pf[n++] = (struct pollfd){ .fd = rel[k].in, .events = POLLIN };
			} else {
				idx[k][1] = n;
				pf[n++] = (struct pollfd){ .fd = rel[k].out, .events = POLLOUT };
			}
		}
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll: %s", strerror(errno));
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGWINCH) {
				if (master >= 0)
					pass_winsize(master);
			} else if (si.ssi_signo != SIGCHLD) {
				kill(setup_pid, (int)si.ssi_signo);
			}
		}
		for (int k = 0; k < nrel; k++) {
			short ev = 0;

			if (idx[k][0] >= 0)
				ev = pf[idx[k][0]].revents;
			else if (idx[k][1] >= 0)
				ev = pf[idx[k][1]].revents ? POLLOUT : 0;
			else
				continue;
			if (ev)
				relay_step(&rel[k], ev, 0);
		}
		if (pf[0].revents) {
			char msg[1 + sizeof(int)];
			ssize_t got = recv(sock[0], msg, sizeof(msg), 0);

			if (got < 0 && errno == EINTR)
				continue;
			if (got != (ssize_t)sizeof(msg) || msg[0] != MSG_STATUS)
				break;	/* setup ended without a status: it said why */
			memcpy(&status, msg + 1, sizeof(int));
			have_status = 1;
		}
	}
	/* The command has ended: what it wrote is readable now (a read of a
	 * pty master first waits for the pending flip-buffer work, so nothing
	 * in flight is lost); copy it, do not wait for more. */
	for (int k = 0; k < nrel; k++) {
		if (rel[k].in == 0)
			continue;
		while (!rel[k].done)
			relay_step(&rel[k], 0, 1);
	}
	restore_terminal();
	saved_ok = 0;
	waitpid(setup_pid, NULL, 0);
	if (!have_status)
		return EXIT_SETUP;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_SETUP;
}
