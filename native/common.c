/* common.c - messages, openat2 and plan checks for subhost-enter, -netns,
 * -bind and -go. */

#include <errno.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

void die(const char *what, const char *arg)
{
	int err = errno;

	if (arg)
		fprintf(stderr, "%s: %s %s: %s\n", prog_name, what, arg, strerror(err));
	else
		fprintf(stderr, "%s: %s: %s\n", prog_name, what, strerror(err));
	exit(1);
}

void failf(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", usage_text);
	exit(2);
}

int openat2_resolve(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.resolve = resolve;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int plan_env_holds(const char *name, const char *want)
{
	const char *v = getenv(name);

	return strcmp(want, "-") == 0 ? v == NULL : v != NULL && strcmp(v, want) == 0;
}

/* The signature a plan was computed against: device, inode, size and
 * modification time (lstat), or "absent". Any edit of the config, a new
 * registry link or a changed /etc/subhosts.conf changes it. */
int plan_stat_holds(const char *path, const char *sig)
{
	struct stat st;
	char now[128];

	if (lstat(path, &st) != 0)
		return errno == ENOENT && strcmp(sig, "absent") == 0;
	snprintf(now, sizeof(now), "%llu:%llu:%lld:%lld.%09ld",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
	return strcmp(now, sig) == 0;
}
