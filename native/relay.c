/*
 * subhost-relay - a subhost's console and syslog, relayed to the host's
 * journal from outside the subhost.
 *
 * Usage: subhost-relay NAME HOSTLOG|-   (started by subhost-enter's `relay`
 * op; see native/console.c for how the descriptors are made)
 *
 *   fd 3  a pipe: subhost-enter writes the host PID of the subhost's PID 1
 *         once it exists; the relay ends when that process has exited
 *   fd 4  the master of the subhost's console, a pty of its own devpts
 *         whose peer is bound over /dev/console inside (as nspawn's)
 *   fd 5  that peer, held so that the master never hangs up when no
 *         process inside has the console open (the kernel raises POLLHUP
 *         on a master whose last peer descriptor is closed)
 *   fd 6  the datagram socket that is /dev/log inside (or closed)
 *   stdout  the unit's journal stream (SyslogLevelPrefix=no: every line
 *           at info, whatever it starts with)
 *
 * Console output goes to stdout as it is. Each syslog datagram goes on to
 * HOSTLOG (journald's /run/systemd/journal/dev-log) as it came, but with
 * its severity capped at crit: journald writes emerg lines (and alert
 * ones, with MaxLevelWall=alert) from any sender to every logged-in host
 * terminal. It is sent as the relay's own: journald takes the unit from
 * the sender's cgroup, which is this unit's, and the line names its
 * sender itself (IDENT[PID]: SYSLOG_IDENTIFIER, SYSLOG_PID). Passing the
 * sender's credentials on instead would lose the line from
 * `journalctl -u` whenever the sender has exited before journald looks
 * it up (logger does, at once), and would need CAP_SYS_ADMIN here.
 *
 * Why a process of its own, outside the subhost: root inside holds
 * CAP_SYS_PTRACE over every process of its pid namespace, the reaper
 * included, and could take a socket to the host's journald out of it
 * (pidfd_getfd) and send lines uncapped. This process is not in that pid
 * namespace: nothing inside can see, signal or trace it. It runs with no
 * capability at all, and its only parsing is the "<PRI>" prefix.
 *
 * Linked statically with musl as the reaper: one runs per subhost.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "common.h"

enum { PID_PIPE = 3, CONSOLE = 4, SYSLOG_IN = 6 };

/* The most severe level a line from inside arrives at. */
#define SEVERITY_CAP LOG_CRIT

/* rsyslog's default maximum message size; longer datagrams are cut. */
static char dgram[8192];
static char console_buf[4096];

static const char *name = "-";

#define say(fmt, ...) dprintf(2, "subhost-relay[%s]: " fmt "\n", name, ##__VA_ARGS__)

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Console output, one read's worth: 1 relayed, 0 nothing there now,
 * -1 the master is unusable (EIO: no peer left; we hold one). */
static int relay_console(int fd)
{
	ssize_t n = read(fd, console_buf, sizeof(console_buf));

	if (n > 0) {
		/* The journal stream may be gone (journald restarting):
		 * the console output is then lost, not the relay. */
		write_all(1, console_buf, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	return -1;
}

/*
 * The length of journald's "<PRI>" prefix at p (1 to 3 digits between
 * angle brackets, as its syslog_parse_priority() accepts it) with its
 * value in *pri, or 0 when there is none (journald then uses
 * user.info: nothing to cap).
 */
static size_t parse_pri(const char *p, size_t n, int *pri)
{
	size_t k;
	int v = 0;

	if (n < 3 || p[0] != '<')
		return 0;
	for (k = 1; k < n && k <= 4 && p[k] != '>'; k++) {
		if (p[k] < '0' || p[k] > '9')
			return 0;
		v = v * 10 + (p[k] - '0');
	}
	if (k == 1 || k > 4 || k >= n || p[k] != '>')
		return 0;
	*pri = v;
	return k + 1;
}

/* One datagram from inside, passed on to the host's journald. */
static void relay_syslog(int in, int out, const struct sockaddr_un *to, socklen_t tolen)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { dgram, sizeof(dgram) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
	char head[8];
	struct iovec outv[2];
	size_t len, skip;
	ssize_t n;
	int pri;

	n = recvmsg(in, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return;
	len = (size_t)n > sizeof(dgram) ? sizeof(dgram) : (size_t)n;
	/* Descriptors a sender passed along: not ours to keep. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(c);

			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				close(fds[i]);
		}
	}

	skip = parse_pri(dgram, len, &pri);
	if (skip > 0 && (pri & 7) < SEVERITY_CAP) {
		int k = snprintf(head, sizeof(head), "<%d>", (pri & ~7) | SEVERITY_CAP);

		outv[0] = (struct iovec){ head, (size_t)k };
	} else {
		skip = 0;
		outv[0] = (struct iovec){ head, 0 };
	}
	outv[1] = (struct iovec){ dgram + skip, len - skip };

	m = (struct msghdr){ .msg_name = (void *)to, .msg_namelen = tolen,
			     .msg_iov = outv, .msg_iovlen = 2 };
	/* Blocking, as the sender's own send would: a journald that lags
	 * slows the subhost's logging down instead of losing it. */
	while (sendmsg(out, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int open_pidfd(int pipe_fd)
{
	char buf[16];
	ssize_t n = read(pipe_fd, buf, sizeof(buf) - 1);
	long pid;
	char *end;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || *end != '\n')
		return -1;
	return (int)syscall(SYS_pidfd_open, (int)pid, 0);
}

int main(int argc, char **argv)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	socklen_t tolen = 0;
	int out = -1, pidfd = -1, console = CONSOLE, in = SYSLOG_IN;

	if (argc != 3) {
		dprintf(2, "usage: subhost-relay NAME HOSTLOG|- (run by subhost-enter)\n");
		return 2;
	}
	name = argv[1];
	/* A journal stream that broke (journald gone) must not end the
	 * relay: its writes then fail, and the console output is lost. */
	signal(SIGPIPE, SIG_IGN);
	if (fcntl(console, F_GETFD) == -1)
		console = -1;
	if (fcntl(in, F_GETFD) == -1 || strcmp(argv[2], "-") == 0 ||
	    strlen(argv[2]) >= sizeof(to.sun_path))
		in = -1;
	if (in >= 0) {
		strcpy(to.sun_path, argv[2]);
		tolen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(argv[2]) + 1);
		out = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (out < 0) {
			say("socket: %s", strerror(errno));
			in = -1;
		}
	}

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = pidfd >= 0 ? pidfd : PID_PIPE, .events = POLLIN },
			{ .fd = console, .events = POLLIN },
			{ .fd = in, .events = POLLIN },
		};

		if (poll(p, countof(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			return 1;
		}
		if (p[1].revents && relay_console(console) < 0)
			console = -1;
		if (p[2].revents & POLLIN)
			relay_syslog(in, out, &to, tolen);
		if (p[0].revents == 0)
			continue;
		if (pidfd < 0) {
			/* The start gave up before there was a PID 1: done. */
			if ((pidfd = open_pidfd(PID_PIPE)) < 0)
				return 0;
			close(PID_PIPE);
			continue;
		}
		/* PID 1 is gone, and with it the subhost: what it wrote last
		 * is still queued; pass it on, then end. */
		if (console >= 0)
			fcntl(console, F_SETFL, O_NONBLOCK);
		while (console >= 0 && relay_console(console) > 0)
			;
		if (in >= 0) {
			struct pollfd q = { .fd = in, .events = POLLIN };

			while (poll(&q, 1, 0) == 1 && (q.revents & POLLIN))
				relay_syslog(in, out, &to, tolen);
		}
		return 0;
	}
}
