/*
 * log.c - stderr with a syslog priority on every line when it is the
 * journal (log.h). Installed before main() (a constructor), so that every
 * message of every helper, its own or libc's, goes through it; nothing
 * else changes for a helper run on a terminal.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int at_line_start = 1;

static int is_prefix(const char *b, size_t n)
{
	return n >= 3 && b[0] == '<' && b[1] >= '0' && b[1] <= '7' && b[2] == '>';
}

static int write_all(const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(2, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The stream is line-buffered: BUF is whole lines but for a last part
 * without its newline yet. Each line leaves in one write(2) with its
 * prefix, so that lines of two processes sharing the stream stay whole. */
static ssize_t journal_write(void *cookie, const char *buf, size_t size)
{
	char out[4096 + 3];
	size_t done = 0;

	(void)cookie;
	while (done < size) {
		const char *line = buf + done, *nl = memchr(line, '\n', size - done);
		size_t n = nl ? (size_t)(nl - line) + 1 : size - done, o = 0;

		if (at_line_start && !is_prefix(line, n)) {
			memcpy(out, SD_ERR, 3);
			o = 3;
		}
		while (n > 0) {
			size_t k = n < sizeof(out) - o ? n : sizeof(out) - o;

			memcpy(out + o, line, k);
			if (write_all(out, o + k) != 0)
				return -1;
			line += k;
			n -= k;
			done += k;
			o = 0;
		}
		at_line_start = nl != NULL;
	}
	return (ssize_t)size;
}

__attribute__((constructor)) static void log_init(void)
{
	static char buf[4096];
	cookie_io_functions_t io = { .write = journal_write };
	FILE *f;

	if (!stderr_is_journal())
		return;
	f = fopencookie(NULL, "w", io);
	if (f == NULL || setvbuf(f, buf, _IOLBF, sizeof(buf)) != 0)
		return;
	stderr = f;
}
