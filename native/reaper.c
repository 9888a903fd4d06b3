/*
 * reaper - PID 1 of an overlay-boot subhost.
 *
 * Usage: /.reaper NAME   (the last exec of the subhost's init script)
 *
 * It reaps every process that ends up as its child and exits 0 when no
 * child is left, like the 1.6 reaper. On top of that it stops the subhost
 * gracefully on SIGTERM/SIGINT/SIGPWR: it runs `service SRV stop` for each
 * name in $OVERLAY_BOOT_STOP, then sends SIGTERM to every process of the
 * subhost and exits 0 once they are all gone. SIGKILL escalation is left
 * to the service manager (TimeoutStopSec).
 *
 * With $OVERLAY_BOOT_READY_FD it tells the starter (subhost-enter) that
 * the init script has finished, by writing "R" to that fd.
 *
 * With $OVERLAY_BOOT_DUMMY (a FIFO's path, /run/dummy_service) it is also
 * 1.6's dummy service: it holds the FIFO open for reading, which keeps the
 * subhost up with no other process, until anything is written to it (or a
 * writer opens and closes it, which ended 1.6's `read X` too). Then the
 * dummy service is over and the subhost ends once no process is left, as
 * in 1.6, where a sh reading the FIFO was this process's last child.
 *
 * Linked statically with musl: it is copied into subhost roots whose libc
 * may differ, and it runs in every subhost, so what it maps is the whole
 * memory cost of an idle one.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static const char *name = "-";

/* Only the stop sequence logs: normal reaping would flood the journal.
 * One write per line, so that lines from services do not cut into it.
 * No "<N>" priority (log.h): subhost@ reads none (SyslogLevelPrefix=no,
 * so that a line from inside is never an emergency), it would show. */
#define say(fmt, ...) dprintf(2, "reaper[%s]: " fmt "\n", name, ##__VA_ARGS__)
#define complain(fmt, ...) dprintf(2, "reaper[%s]: " fmt "\n", name, ##__VA_ARGS__)

static const char stop_script[] =
	"for srv in $OVERLAY_BOOT_STOP ; do service \"$srv\" stop ; done";

static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGPWR, SIGCHLD };

static void noop(int sig) { (void)sig; }

enum state {
	RUNNING,	/* no stop requested: exit when out of children */
	STOPPING,	/* the service stop script is running */
	DRAINING,	/* everything got SIGTERM: exit when out of children */
};

static void signal_ready(void)
{
	const char *s = getenv("OVERLAY_BOOT_READY_FD");
	char *end;
	long fd;

	if (s == NULL)
		return;
	fd = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0' && fd > 2 && fd < 65536 &&
	    fcntl((int)fd, F_GETFD) != -1) {
		/* A failure means the starter is gone; it will have given up
		 * on us already, so there is nobody left to tell. */
		while (write((int)fd, "R", 1) == -1 && errno == EINTR)
			;
		close((int)fd);
	}
	/* Services started later must not inherit a stale fd number. */
	unsetenv("OVERLAY_BOOT_READY_FD");
}

/*
 * Opens the dummy service's FIFO (made if absent, as 1.6's mkfifo), or
 * returns -1 after saying why not; the subhost then ends when it runs out
 * of processes, as 1.6's did when its dummy could not start.
 *
 * Read side, non-blocking: a blocking open would wait for the first
 * writer. Writers no longer block in open() while we hold it, and block
 * again once we have let go (as after 1.6's dummy had read its line).
 * The kernel raises POLLHUP only after a writer has come and gone since
 * this open, so an old writer cannot end the new subhost's dummy.
 */
static int hold_dummy(const char *path)
{
	struct stat st;
	int fd;

	if (mkfifo(path, 0666) == -1 && errno != EEXIST) {
		complain("cannot make %s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		complain("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		complain("%s is not a FIFO: no dummy service", path);
		close(fd);
		return -1;
	}
	return fd;
}

static pid_t start_stop_script(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* `service` and the init scripts it runs expect a normal
		 * process: nothing blocked, default dispositions. */
		for (size_t i = 0; i < countof(handled); i++)
			signal(handled[i], SIG_DFL);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "-c", stop_script, (char *)NULL);
		dprintf(2, "reaper[%s]: exec /bin/sh: %s\n", name,
			strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		complain("fork for service stop: %s", strerror(errno));
	return pid;
}

static void term_all(enum state *st)
{
	say("sending SIGTERM to all processes");
	/* In a pid namespace, -1 means everyone except ourselves. */
	kill(-1, SIGTERM);
	*st = DRAINING;
}

int main(int argc, char **argv)
{
	sigset_t all;
	struct sigaction sa;
	enum state st = RUNNING;
	pid_t stopper = -1;
	const char *dummy_path = getenv("OVERLAY_BOOT_DUMMY");
	int dummy = -1, sfd;

	if (argc > 1 && argv[1][0] != '\0')
		name = argv[1];

	/* Block first, so that no signal can hit the no-op handler and be
	 * lost in the moment between installing it and blocking. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);

	/* The kernel discards a signal sent to a pid-namespace init whose
	 * disposition is SIG_DFL, unless it is blocked at that moment (only
	 * SIGKILL from an ancestor namespace gets through). Ours are blocked
	 * and would queue anyway; real handlers make `systemctl stop` reach
	 * us without relying on that. They never run: everything stays
	 * blocked and is taken synchronously from a signalfd. On SIGCHLD
	 * the handler also replaces a SIG_IGN inherited across exec, with
	 * which the kernel would reap children without telling us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < countof(handled); i++)
		sigaction(handled[i], &sa, NULL);

	/* A signalfd, so that one poll waits for signals and the FIFO. It
	 * takes blocked signals only: pending ones stay readable. */
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd == -1) {
		complain("signalfd: %s", strerror(errno));
		return 1;
	}

	/* Held before readiness: once the start has succeeded, a write to
	 * the FIFO never blocks and always ends this dummy service. */
	if (dummy_path != NULL && dummy_path[0] == '/')
		dummy = hold_dummy(dummy_path);
	/* Not passed on to the service stop script. */
	unsetenv("OVERLAY_BOOT_DUMMY");

	signal_ready();

	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd fds[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = dummy, .events = POLLIN },	/* -1: ignored */
		};
		int status, sig;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == stopper) {
				char how[64];

				describe(status, how, sizeof(how));
				say("service stop script %s", how);
				stopper = -1;
				if (st == STOPPING)
					term_all(&st);
			}
		}
		if (pid < 0 && errno == ECHILD && dummy < 0) {
			if (st != RUNNING)
				say("all processes gone, exiting");
			return 0;
		}

		if (poll(fds, countof(fds), -1) == -1)
			continue;	/* EINTR: nothing lost, look again */
		if (fds[1].revents != 0) {
			/* Data, a writer gone (POLLHUP) or an error: like 1.6's
			 * `read X`, any of them ends the dummy service. */
			say("%s was written to: dummy service ended", dummy_path);
			close(dummy);
			dummy = -1;
		}
		if (!(fds[0].revents & POLLIN) ||
		    read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;	/* no signal: go reap */
		sig = (int)si.ssi_signo;
		if (sig != SIGTERM && sig != SIGINT && sig != SIGPWR)
			continue;	/* SIGCHLD or noise: go reap */

		/* A stop ends the dummy service too: it is a service. */
		if (dummy >= 0) {
			close(dummy);
			dummy = -1;
		}

		switch (st) {
		case RUNNING: {
			const char *stop = getenv("OVERLAY_BOOT_STOP");

			if (stop != NULL && strspn(stop, " \t\n") < strlen(stop)) {
				say("got SIG%s, stopping services: %s",
				    sigabbrev_np(sig), stop);
				stopper = start_stop_script();
				if (stopper > 0) {
					st = STOPPING;
					break;
				}
			} else {
				say("got SIG%s", sigabbrev_np(sig));
			}
			term_all(&st);
			break;
		}
		case STOPPING:
			/* The stop script may be what hangs; the second
			 * request is the user's way of saying so. */
			say("got SIG%s again, not waiting for service stop",
			    sigabbrev_np(sig));
			term_all(&st);
			break;
		case DRAINING:
			/* Processes started since the last round (e.g. by a
			 * dying service) get their SIGTERM too. */
			say("got SIG%s again", sigabbrev_np(sig));
			term_all(&st);
			break;
		}
	}
}
