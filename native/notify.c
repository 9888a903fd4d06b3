/*
 * notify.c - sd_notify(3)'s protocol, written out: a datagram of
 * newline-separated VAR=VALUE to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@" for the abstract namespace).
 *
 * The unit is NotifyAccess=main. With the plan, this process is its main
 * process; without one, the Node.js runtime is (it runs this helper as a
 * child and names itself in $OVERLAY_BOOT_MAIN_PID), and the message goes
 * with the runtime's PID in its credentials (SCM_CREDENTIALS), as
 * sd_pid_notify(3) does: allowed to root (CAP_SYS_ADMIN); should the
 * kernel refuse it, the message goes with our own.
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static struct sockaddr_un addr;
static socklen_t addr_len;
static pid_t speak_for;

/* The main process we speak for: our parent when it says it is the runtime, else us. */
static pid_t main_pid(void)
{
	const char *s = getenv("OVERLAY_BOOT_MAIN_PID");
	char *end;
	long pid;

	if (s == NULL)
		return getpid();
	pid = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && pid == (long)getppid() ? (pid_t)pid : getpid();
}

void notify_init(void)
{
	static int done;
	const char *s = getenv("NOTIFY_SOCKET");
	size_t n;

	/* Once: the locks (lock.c) may take the socket before enter does. */
	if (done)
		return;
	done = 1;

	if (s != NULL && (s[0] == '/' || s[0] == '@') &&
	    (n = strlen(s)) < sizeof(addr.sun_path)) {
		addr.sun_family = AF_UNIX;
		memcpy(addr.sun_path, s, n);
		if (s[0] == '@')
			addr.sun_path[0] = '\0';
		addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/'));
	}
	speak_for = main_pid();
	unsetenv("NOTIFY_SOCKET");
	unsetenv("OVERLAY_BOOT_MAIN_PID");
}

int notify_available(void)
{
	return addr_len != 0;
}

#define MAX_FDS 8

int notify_fds(const int *fds, int nfds, const char *text)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} control;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	struct ucred *cred;
	size_t cred_len = 0;
	int fd, r;

	if (!addr_len)
		return 0;
	if (nfds < 0 || nfds > MAX_FDS) {
		errno = E2BIG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	iov.iov_base = (void *)text;
	iov.iov_len = strlen(text);
	memset(&msg, 0, sizeof(msg));
	memset(&control, 0, sizeof(control));
	msg.msg_name = &addr;
	msg.msg_namelen = addr_len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = (speak_for != getpid() ? CMSG_SPACE(sizeof(struct ucred)) : 0) +
			     (nfds > 0 ? CMSG_SPACE(sizeof(int) * (size_t)nfds) : 0);
	c = msg.msg_controllen ? CMSG_FIRSTHDR(&msg) : NULL;
	if (speak_for != getpid()) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		cred = (struct ucred *)(void *)CMSG_DATA(c);
		cred->pid = speak_for;
		cred->uid = getuid();
		cred->gid = getgid();
		cred_len = CMSG_SPACE(sizeof(struct ucred));
		c = CMSG_NXTHDR(&msg, c);
	}
	if (nfds > 0) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (msg.msg_controllen == 0)
		msg.msg_control = NULL;
	r = (int)sendmsg(fd, &msg, MSG_NOSIGNAL);
	if (r < 0 && cred_len && errno == EPERM) {
		/* Our own credentials, then: the descriptors stay. */
		if (nfds > 0) {
			memmove(control.buf, control.buf + cred_len, CMSG_SPACE(sizeof(int) * (size_t)nfds));
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		} else {
			msg.msg_control = NULL;
			msg.msg_controllen = 0;
		}
		r = (int)sendmsg(fd, &msg, MSG_NOSIGNAL);
	}
	close(fd);
	return r < 0 ? -1 : 0;
}

int notify(const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int n;

	if (!addr_len)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		errno = EMSGSIZE;
		return -1;
	}
	return notify_fds(NULL, 0, text);
}
