/*
 * Small pieces the static helpers (reaper, subhost-enter, subhost-bind,
 * subhost-go) share. Header-only: each is still one .c file and one
 * static binary. Include after <stdio.h>, <stdlib.h>, <sys/wait.h>,
 * <string.h>, and after defining PROG (and, for usage_error, usage_text).
 */
#ifndef OVERLAY_BOOT_COMMON_H
#define OVERLAY_BOOT_COMMON_H

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

#ifdef WITH_USAGE
/* Bad usage: one line naming the problem, the usage text, exit 2. */
static inline void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n%s", usage_text);
	exit(2);
}
#endif

#endif
