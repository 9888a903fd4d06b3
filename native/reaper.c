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
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static const char *name = "-";

/* Only the stop sequence logs: normal reaping would flood the journal.
 * One write per line, so that lines from services do not cut into it. */
#define say(fmt, ...) dprintf(2, "reaper[%s]: " fmt "\n", name, ##__VA_ARGS__)

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
		say("fork for service stop: %s", strerror(errno));
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
	 * blocked and is taken synchronously with sigwaitinfo. On SIGCHLD
	 * the handler also replaces a SIG_IGN inherited across exec, with
	 * which the kernel would reap children without telling us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < countof(handled); i++)
		sigaction(handled[i], &sa, NULL);

	signal_ready();

	for (;;) {
		siginfo_t si;
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
		if (pid < 0 && errno == ECHILD) {
			if (st != RUNNING)
				say("all processes gone, exiting");
			return 0;
		}

		sig = sigwaitinfo(&all, &si);
		if (sig != SIGTERM && sig != SIGINT && sig != SIGPWR)
			continue;	/* SIGCHLD, EINTR or noise: go reap */

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
