/*
 * console.c - the subhost's /dev/console and /dev/log, and the relay that
 * carries them to the host's journal (native/relay.c): the `relay` op of
 * subhost-enter, the last one before `enter`.
 *
 * /dev/console inside is a pseudo-terminal of the subhost's own devpts
 * instance (as systemd-nspawn's), never the host's console 5:1: the
 * master is opened from that devpts's ptmx, the peer is bind-mounted over
 * an empty file at /dev/console, and the relay copies what is written to
 * it to the unit's stdout (the journal).
 *
 * /dev/log inside (contained: below CONTAINMENT=none, where the host's
 * socket is bound in as it is) is a datagram socket of the relay's,
 * which caps each line's severity before it reaches the host's journald.
 *
 * The relay is forked here, before `enter` makes the subhost's pid
 * namespace: it stays in the unit's own namespaces, out of sight and
 * reach of everything inside. `enter` tells it the PID of the subhost's
 * PID 1 (relay_tell) and it ends when that process has ended.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"
#include "console.h"
#include "guard.h"
#include "subhost-enter.h"

/* The write end of the pipe that tells the relay PID 1's PID; -1: none. */
static int relay_pipe = -1;

/* The descriptors the relay gets, by number (native/relay.c). */
enum { FD_PID_PIPE = 3, FD_MASTER, FD_PEER, FD_SYSLOG, FD_COUNT };

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, PROG ": relay: %s %s: %s\n", what, arg, strerror(errno));
	return -1;
}

/*
 * A new pty of the devpts mounted at PTS (a path under a guard), its
 * peer bound over CONSOLE (made as an empty file first). *master and
 * *peer are set. PTS must be a devpts and its ptmx the multiplexer 5:2.
 */
static int make_console(const char *pts, const char *console, int *master, int *peer)
{
	char path[PATH_MAX];
	struct statfs sf;
	struct stat st;
	struct termios t;
	int unlock = 0, fd;

	/* A custom POSTMOUNT may have made a /dev without a devpts: the
	 * console is then left as that /dev has it. */
	snprintf(path, sizeof(path), "%s/ptmx", pts);
	*master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
	if (*master < 0 || fstatfs(*master, &sf) != 0 || sf.f_type != DEVPTS_SUPER_MAGIC ||
	    fstat(*master, &st) != 0 || st.st_rdev != makedev(5, 2)) {
		fprintf(stderr, PROG ": no devpts at LIVE/dev/pts: /dev/console "
			"left as the POSTMOUNT made it\n");
		if (*master >= 0)
			close(*master);
		*master = -1;
		return 0;
	}
	if (ioctl(*master, TIOCSPTLCK, &unlock) != 0)
		return fail("unlock", "console pty");
	*peer = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*peer < 0)
		return fail("open peer of", "console pty");
	/* Lines as written: no CR added before each LF on the way to the
	 * journal, nothing echoed back into the subhost's own input. */
	if (tcgetattr(*peer, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)OPOST;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(*peer, TCSANOW, &t);
	}
	/* An empty file to mount on; a node a custom POSTMOUNT made is
	 * covered as it is, anything else (a symlink) refused. */
	fd = open(console, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && (errno != EEXIST || lstat(console, &st) != 0 ||
		       !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))))
		return fail("create", console);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *peer);
	if (mount(path, console, NULL, MS_BIND, NULL) != 0)
		return fail("bind the console pty over", console);
	return 0;
}

/* The datagram socket that is /dev/log inside, bound at PATH (a path
 * under a guard: /proc/self/fd/N/LEAF, short enough for sun_path). */
static int make_syslog_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return fail("bind", path);
	}
	strcpy(a.sun_path, path);
	/* A socket left there by an earlier start (without a /run tmpfs,
	 * in UPPER) is dead: a new one takes its place. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket for", path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    chmod(path, 0666) != 0) {
		fail("bind", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* In the relay's child, before exec: no capability survives the exec
 * (root's come back from the bounding set, so it goes first), and no
 * setuid program could give one back. */
static int drop_caps(void)
{
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
			return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* fds[] at 3, 4, ...: -1 entries end up closed, everything else too. */
static void exec_relay(char **argv, const int *fds)
{
	int high[FD_COUNT];
	sigset_t none;

	/* Above every target first, so that no dup2 overwrites a source. */
	for (int i = FD_PID_PIPE; i < FD_COUNT; i++)
		high[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
	for (int i = FD_PID_PIPE; i < FD_COUNT; i++) {
		close(i);
		if (high[i] >= 0 && dup2(high[i], i) != i)
			_exit(1);
	}
	if (syscall(SYS_close_range, FD_COUNT, ~0U, 0) != 0 || drop_caps() != 0) {
		fail("prepare", argv[0]);
		_exit(1);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
	fail("exec", argv[0]);
	_exit(127);
}

/* PATH under a guard as *out; NULL for "-", or when a custom POSTMOUNT
 * left out what it lives in (no /dev/pts, no /run/systemd/journal): that
 * part is then not made, as the POSTMOUNT wanted. */
static int optional(char *path, char kind, char **out)
{
	*out = NULL;
	if (strcmp(path, "-") == 0)
		return 0;
	*out = guarded(path, kind);
	if (*out != NULL || errno == ENOENT)
		return 0;
	return fail("resolve", path);
}

/*
 * relay PROGRAM NAME PTS CONSOLE DEVLOG HOSTLOG: PTS and CONSOLE (paths
 * under LIVE) are the devpts and /dev/console, "-" for no console relay;
 * DEVLOG is /dev/log's socket to make, "-" for none; HOSTLOG is
 * journald's syslog socket on the host (no socket there: no /dev/log).
 */
int run_relay(char **a)
{
	int fds[FD_COUNT] = { -1, -1, -1, -1, -1, -1, -1 }, p[2] = { -1, -1 };
	char *pts, *console, *devlog;
	struct stat st;
	pid_t pid;

	if (optional(a[2], 'e', &pts) != 0 || optional(a[3], 'c', &console) != 0 ||
	    optional(a[4], 'c', &devlog) != 0)
		return -1;
	if (pts && console && make_console(pts, console, &fds[FD_MASTER], &fds[FD_PEER]) != 0)
		return -1;
	if (fds[FD_MASTER] < 0 && fds[FD_PEER] >= 0) {
		close(fds[FD_PEER]);
		fds[FD_PEER] = -1;
	}
	if (devlog && stat(a[5], &st) == 0 && S_ISSOCK(st.st_mode) &&
	    (fds[FD_SYSLOG] = make_syslog_socket(devlog)) < 0)
		return -1;
	if (fds[FD_MASTER] < 0 && fds[FD_SYSLOG] < 0)
		return 0;	/* nothing to relay */
	if (pipe2(p, O_CLOEXEC) != 0)
		return fail("pipe", "");
	fds[FD_PID_PIPE] = p[0];
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return fail("fork", a[0]);
	if (pid == 0) {
		char *argv[] = { a[0], a[1], fds[FD_SYSLOG] >= 0 ? a[5] : "-", NULL };

		exec_relay(argv, fds);
	}
	/* The relay holds them now; the subhost must not inherit them. */
	for (int i = FD_PID_PIPE; i < FD_COUNT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	relay_pipe = p[1];
	return 0;
}

void relay_tell(pid_t pid)
{
	if (relay_pipe < 0)
		return;
	/* A failure means the relay is gone: nothing to tell. */
	dprintf(relay_pipe, "%d\n", (int)pid);
	close(relay_pipe);
	relay_pipe = -1;
}
