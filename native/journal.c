/*
 * journal.c - the on-disk half of the undo (undo.c is the in-memory half,
 * run at exit). SIGKILL cannot be caught, and a start that times out is
 * killed by systemd: so before each creation, what is about to be made is
 * appended to a journal (/run/overlay-boot/undo/NAME) and synced; the
 * netns unit's ExecStopPost= replays it (`subhost-enter --undo FILE`)
 * after any stop of the subhost, and the journal is unlinked when the
 * start succeeds, so that a subhost that ran is never touched. A journal
 * left by a killed start that was not replayed yet is appended to: a
 * replay undoes both runs, a success drops both (what the earlier run
 * made is what this one uses).
 *
 * Only what does not exist in UPPER before is noted (checked just before
 * the creation; nothing else writes to UPPER while a start runs), so a
 * replay can only remove what this start made: paths made on a tmpfs
 * inside LIVE (/dev/console) map to UPPER paths that stay absent and are
 * skipped; a directory copied up into UPPER because the start made
 * something inside it is removed with it when it is empty again.
 *
 * Format: NUL-terminated words, "u" UPPER (a run's header) or "c" REL (a
 * path relative to UPPER). A torn last word (killed mid-write) is ignored.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "guard.h"
#include "journal.h"
#include "subhost-enter.h"

static int jfd = -1;
static const char *jfile, *jupper;
static char **noted;
static size_t nnoted;

static int put(const char *kind, const char *word)
{
	size_t a = strlen(kind) + 1, b = strlen(word) + 1;
	char *buf = malloc(a + b);
	ssize_t w;

	if (buf == NULL)
		return -1;
	memcpy(buf, kind, a);
	memcpy(buf + a, word, b);
	/* One write per record (O_APPEND): a kill tears at most the last. */
	w = write(jfd, buf, a + b);
	free(buf);
	if (w != (ssize_t)(a + b))
		return -1;
	return fdatasync(jfd);
}

/* The journal's directory (/run/overlay-boot/undo) is made at the first
 * start after boot: /run is a fresh tmpfs. */
static void make_parents(const char *file)
{
	char *p = strdup(file);

	if (p == NULL)
		return;
	for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		(void)mkdir(p, 0755);	/* EEXIST: fine; else open() says why */
		*s = '/';
	}
	free(p);
}

int journal_open(const char *file, const char *upper)
{
	if (jfd >= 0)
		close(jfd);
	jfd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (jfd < 0 && errno == ENOENT) {
		make_parents(file);
		jfd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (jfd < 0)
		return -1;
	jfile = file;
	jupper = upper;
	return put("u", upper);
}

/* Does REL exist in UPPER (the entry itself, a symlink not followed)? */
static int exists_in_upper(const char *rel)
{
	int root = open(jupper, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, err;

	if (root < 0)
		return 1;	/* no UPPER to undo in: note nothing */
	fd = openat2_resolve(root, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC,
			     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	err = errno;
	close(root);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return err != ENOENT;	/* ENOTDIR, ELOOP...: not ours either way */
}

static int already_noted(const char *rel)
{
	for (size_t i = 0; i < nnoted; i++)
		if (strcmp(noted[i], rel) == 0)
			return 1;
	return 0;
}

void journal_note(const char *path)
{
	const char *rel;
	char *p;

	if (jfd < 0 || guard_root(path, &rel) == NULL || *rel == '\0')
		return;
	if ((p = strdup(rel)) == NULL)
		return;
	/* Each component in turn: "a", "a/b", "a/b/c". */
	for (char *s = p;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (*p && !already_noted(p) && !exists_in_upper(p)) {
			char **n = realloc(noted, (nnoted + 1) * sizeof(*n));

			if (n != NULL && (n[nnoted] = strdup(p)) != NULL) {
				noted = n;
				nnoted++;
			} else if (n != NULL) {
				noted = n;
			}
			if (put("c", p) != 0)
				fprintf(stderr, PROG ": undo journal %s: %s\n",
					jfile, strerror(errno));
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
}

void journal_done(void)
{
	if (jfd < 0)
		return;
	close(jfd);
	jfd = -1;
	unlink(jfile);
}

/* Remove REL inside UPPER: 0 when removed or nothing to do, else -1. */
static int remove_in(const char *upper, const char *rel)
{
	char *dir = strdup(rel), *slash, *leaf;
	int root = -1, dfd = -1, r = -1;
	struct stat st;

	if (dir == NULL)
		return -1;
	slash = strrchr(dir, '/');
	leaf = slash ? slash + 1 : dir;
	if (slash)
		*slash = '\0';
	if (*leaf == '\0' || strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0) {
		r = 0;
		goto out;
	}
	if ((root = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = errno == ENOENT ? 0 : -1;
		goto out;
	}
	dfd = slash ? openat2_resolve(root, dir, O_PATH | O_DIRECTORY | O_CLOEXEC,
				      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
		    : dup(root);
	if (dfd < 0) {
		r = errno == ENOENT || errno == ENOTDIR ? 0 : -1;
		goto out;
	}
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		r = errno == ENOENT ? 0 : -1;
		goto out;
	}
	if (unlinkat(dfd, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0 ||
	    errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST)
		r = 0;	/* a directory now holding more than we made: kept */
out:
	if (dfd >= 0)
		close(dfd);
	if (root >= 0)
		close(root);
	free(dir);
	return r;
}

int journal_replay(const char *file)
{
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), status = 0;
	const char **upper, **rel;
	size_t n = 0, len = 0, cap = 1 << 16, count = 0;
	const char *cur = NULL;
	char *buf;
	ssize_t got;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;	/* the start succeeded, or never began */
		die("--undo: cannot open", file);
	}
	if ((buf = malloc(cap)) == NULL)
		die("--undo", file);
	while ((got = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)got;
		if (len == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			die("--undo", file);
	}
	close(fd);
	/* Words: only complete (NUL-terminated) ones. */
	for (size_t i = 0; i < len; i++)
		count += buf[i] == '\0';
	upper = calloc(count + 1, sizeof(*upper));
	rel = calloc(count + 1, sizeof(*rel));
	if (upper == NULL || rel == NULL)
		die("--undo", file);
	for (size_t i = 0; i < len;) {
		const char *kind = buf + i, *word;
		size_t k = strnlen(kind, len - i);

		if (i + k >= len)
			break;
		word = kind + k + 1;
		i += k + 1;
		if (i >= len || strnlen(word, len - i) == len - i)
			break;	/* torn */
		i += strlen(word) + 1;
		if (strcmp(kind, "u") == 0) {
			cur = word;
		} else if (strcmp(kind, "c") == 0 && cur != NULL) {
			upper[n] = cur;
			rel[n++] = word;
		}
	}
	while (n-- > 0)
		if (remove_in(upper[n], rel[n]) != 0) {
			fprintf(stderr, PROG ": could not remove %s/%s after the "
				"failed start: %s\n", upper[n], rel[n], strerror(errno));
			status = 1;
		}
	if (status == 0 && unlink(file) != 0 && errno != ENOENT)
		status = 1;
	free(upper);
	free(rel);
	free(buf);
	return status;
}
