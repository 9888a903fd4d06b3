/*
 * identity.c - the hostname inside a subhost: its own /etc/hostname (as
 * 1.6's manual sets it, `echo mta > /opt/mta/root/etc/hostname`), unless
 * that is only the host's, seen through an overlay of the host's root;
 * then the subhost's NAME.
 *
 * The file is read before pivot_root, in LIVE, which the subhost writes:
 * it is resolved inside ROOT (RESOLVE_IN_ROOT: a symlink cannot lead to a
 * host file), opened without blocking (a FIFO there cannot stall the
 * start) and read only when it is a regular file, 64 bytes at most.
 * The machine id likewise: subhost-machine@ passes it to machined, but
 * cannot read it itself (the leader's root is out of its reach: it has no
 * capability), so subhost-enter leaves it beside the pidfile.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "identity.h"

#define HOSTNAME_MAX 64

/* The first word of the regular file DIRFD/PATH (resolved as RESOLVE
 * says) into BUF; 0, or -1 when there is none. */
static int first_word(int dirfd, const char *path, uint64_t resolve, char *buf, size_t len)
{
	char raw[HOSTNAME_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t i = 0, k = 0;
	int fd = openat2_resolve(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, resolve);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (n = read(fd, raw, sizeof(raw) - 1)) <= 0) {
		close(fd);
		return -1;
	}
	close(fd);
	raw[n] = '\0';
	while (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n')
		i++;
	while (raw[i] && raw[i] != ' ' && raw[i] != '\t' && raw[i] != '\n' && k + 1 < len)
		buf[k++] = raw[i++];
	buf[k] = '\0';
	/* Longer than a hostname may be: not one. */
	return k > 0 && (raw[i] == '\0' || raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n') ? 0 : -1;
}

/* hostname(7): letters, digits, '-' and '.'; no label starting with '-'. */
static int valid_hostname(const char *s)
{
	int start = 1;

	for (; *s; s++) {
		if (*s == '.') {
			if (start)
				return 0;
			start = 1;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || (*s == '-' && !start)))
			return 0;
		start = 0;
	}
	return !start;
}

const char *root_hostname(const char *root, const char *fallback)
{
	static char mine[HOSTNAME_MAX + 1];
	char host[HOSTNAME_MAX + 1];
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int found;

	if (rootfd < 0)
		return fallback;
	found = first_word(rootfd, "etc/hostname", RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
			   mine, sizeof(mine)) == 0 && valid_hostname(mine);
	close(rootfd);
	if (!found)
		return fallback;
	/* The host's own, through an overlay of its root: not the subhost's. */
	if (first_word(AT_FDCWD, "/etc/hostname", 0, host, sizeof(host)) == 0 && strcmp(host, mine) == 0)
		return fallback;
	if (gethostname(host, sizeof(host)) == 0 && strcmp(host, mine) == 0)
		return fallback;
	return mine;
}

int root_machine_id(const char *root, char id[33])
{
	char host[HOSTNAME_MAX + 1];
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int found;
	size_t i;

	if (rootfd < 0)
		return -1;
	found = first_word(rootfd, "etc/machine-id", RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, id, 33) == 0;
	close(rootfd);
	if (!found || strlen(id) != 32)
		return -1;
	for (i = 0; i < 32; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return -1;
	/* The host's own, through an overlay of its root: not the subhost's. */
	if (first_word(AT_FDCWD, "/etc/machine-id", 0, host, sizeof(host)) == 0 && strcmp(host, id) == 0)
		return -1;
	return 0;
}
