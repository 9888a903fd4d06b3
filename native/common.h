/*
 * What the static helpers share. Self-contained: it includes what it
 * uses, so it may come first or last among a file's includes.
 *
 *  - describe(): header-only, so that the reaper (which has no usage and
 *    prints with its own prefix) needs nothing else from here;
 *  - die(), failf(), usage_error(), openat2_resolve(), plan_env_holds(),
 *    plan_stat_holds(): common.c, linked into subhost-enter,
 *    subhost-netns, subhost-bind and subhost-go. Each of these
 *    defines prog_name (the first word of every message) and usage_text
 *    (its --help, printed after a usage error).
 */
#ifndef OVERLAY_BOOT_COMMON_H
#define OVERLAY_BOOT_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define countof(a) (sizeof(a) / sizeof((a)[0]))

extern const char prog_name[];
extern const char usage_text[];

/* "PROG: WHAT ARG: strerror(errno)" (ARG may be NULL), exit 1. */
void die(const char *what, const char *arg) __attribute__((noreturn));
/* "PROG: MESSAGE", exit STATUS. */
void failf(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* Bad usage: "PROG: MESSAGE", a blank line, the usage text; exit 2. */
void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/*
 * openat2(2), which libc does not wrap: PATH under DIRFD with RESOLVE_*
 * flags (linux/openat2.h), or -1 with errno. The kernel refuses unknown
 * bits in struct open_how (E2BIG/EINVAL): it is zeroed first.
 */
int openat2_resolve(int dirfd, const char *path, int flags, uint64_t resolve);

/*
 * A plan's check lines (subhost-enter's and subhost-netns's plans): does
 * environment variable NAME hold WANT ("-": unset)? Does PATH's signature
 * (lstat: "dev:ino:size:mtime.ns", or "absent") equal SIG? The same
 * signature as lib/plan/sig.ts computes (test/unit/plan-contract.test.ts
 * holds them together).
 */
int plan_env_holds(const char *name, const char *want);
int plan_stat_holds(const char *path, const char *sig);

#ifndef __GLIBC__
/*
 * glibc's sigabbrev_np(), which musl (the reaper's libc) lacks: the
 * signal's name without "SIG", or NULL. Indexed by the macros, whose
 * numbers differ between architectures.
 */
static inline const char *sigabbrev_np(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "HUP", [SIGINT] = "INT", [SIGQUIT] = "QUIT",
		[SIGILL] = "ILL", [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",
		[SIGBUS] = "BUS", [SIGFPE] = "FPE", [SIGKILL] = "KILL",
		[SIGUSR1] = "USR1", [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
		[SIGPIPE] = "PIPE", [SIGALRM] = "ALRM", [SIGTERM] = "TERM",
		[SIGCHLD] = "CHLD", [SIGCONT] = "CONT", [SIGSTOP] = "STOP",
		[SIGTSTP] = "TSTP", [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",
		[SIGURG] = "URG", [SIGXCPU] = "XCPU", [SIGXFSZ] = "XFSZ",
		[SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
		[SIGIO] = "IO", [SIGPWR] = "PWR", [SIGSYS] = "SYS",
	};

	return sig > 0 && (size_t)sig < countof(names) ? names[sig] : NULL;
}
#endif

/* A child's wait status in words, for the one journal line that says why. */
static inline void describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (SIG%s)",
			 WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		snprintf(buf, len, "ended with status 0x%x", status);
}

#endif
