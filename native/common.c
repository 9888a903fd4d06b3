/* common.c - messages and openat2 for subhost-enter, -bind and -go. */

#include <errno.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdlib.h>
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
