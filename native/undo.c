/*
 * undo.c - a failed start must leave UPPER as it found it. Mounts need no
 * undo (they die with the unit's mount namespace); files and directories
 * made by the ops do. They are recorded as made and removed, newest
 * first, when the process exits without having succeeded.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subhost-enter.h"
#include "undo.h"

static char **undo_list;
static size_t undo_len, undo_cap;
static int succeeded;

void undo_add(const char *path)
{
	if (undo_len == undo_cap) {
		size_t cap = undo_cap ? undo_cap * 2 : 16;
		char **n = realloc(undo_list, cap * sizeof(*n));

		if (n == NULL)
			return;	/* best effort: better a leftover than a crash */
		undo_list = n;
		undo_cap = cap;
	}
	if ((undo_list[undo_len] = strdup(path)) != NULL)
		undo_len++;
}

void undo_keep(void)
{
	succeeded = 1;
}

static int remove_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	for (int tries = 0; tries < 2; tries++) {
		if ((S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) == 0)
			return 0;
		/* Something of ours is mounted on it (/.reaper, /dev, ...). */
		if (errno != EBUSY || umount2(path, MNT_DETACH) != 0)
			return -1;
	}
	return -1;
}

/* Silent when it works: the failure itself is the one line to read. */
void undo_run(void)
{
	if (succeeded)
		return;
	for (size_t i = undo_len; i-- > 0; )
		if (remove_path(undo_list[i]) != 0)
			fprintf(stderr, PROG ": could not remove %s after the "
				"failure: %s\n", undo_list[i], strerror(errno));
}
