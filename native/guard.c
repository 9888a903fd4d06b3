/*
 * guard.c - LIVE and UPPER hold what the subhost wrote: a symlink there
 * must never make a host-side step act outside them (1.6's
 * `mkdir -p $LIVE$S` would follow /srv -> /etc onto the host). After
 * `guard ROOT`, every op path under ROOT is resolved inside ROOT with
 * openat2(RESOLVE_IN_ROOT), as the subhost itself would see it once ROOT
 * is its /, and handed to the syscall as /proc/self/fd/N (the object
 * itself) or /proc/self/fd/N/LEAF (a new entry in that directory). The
 * fds stay open: the undo list may name them.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "guard.h"

static const char *guards[8];
static int nguards;

int guard_add(const char *root)
{
	if (nguards == (int)countof(guards)) {
		errno = E2BIG;
		return -1;
	}
	guards[nguards++] = root;
	return 0;
}

static int open_in(const char *root, const char *rel, int flags)
{
	/* The root itself is the config's (trusted); opened per use, so that
	 * LIVE means the overlay once it is mounted. */
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, err;

	if (rootfd < 0)
		return -1;
	fd = openat2_resolve(rootfd, rel, flags | O_PATH | O_CLOEXEC,
			     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	err = errno;
	close(rootfd);
	errno = err;
	return fd;
}

const char *guard_root(const char *path, const char **rel)
{
	const char *root = NULL;
	size_t best = 0;

	for (int i = 0; i < nguards; i++) {
		size_t n = strlen(guards[i]);

		if (n > best && strncmp(path, guards[i], n) == 0 && path[n] == '/') {
			root = guards[i];
			best = n;
		}
	}
	if (root != NULL)
		for (*rel = path + best; **rel == '/'; (*rel)++)
			;
	return root;
}

char *guarded(char *path, char kind)
{
	const char *root = NULL, *rel;
	size_t best = 0;
	char *out = NULL, *dir, *slash;
	int fd;

	for (int i = 0; i < nguards; i++) {
		size_t n = strlen(guards[i]);

		if (n > best && strncmp(path, guards[i], n) == 0 && path[n] == '/') {
			root = guards[i];
			best = n;
		}
	}
	if (root == NULL)
		return path;
	for (rel = path + best; *rel == '/'; rel++)
		;
	if (*rel == '\0')
		return path;
	if (kind == 'e') {
		if ((fd = open_in(root, rel, 0)) < 0)
			return NULL;
		if (asprintf(&out, "/proc/self/fd/%d", fd) < 0)
			return NULL;
		return out;
	}
	if ((dir = strdup(rel)) == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	fd = open_in(root, slash ? dir : ".", O_DIRECTORY);
	if (fd < 0 || asprintf(&out, "/proc/self/fd/%d/%s", fd,
			       slash ? slash + 1 : rel) < 0)
		out = NULL;
	free(dir);
	return out;
}
