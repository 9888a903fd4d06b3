/*
 * ifupdown.c - a reader of interfaces(5) just deep enough to find an
 * "iface NAME" stanza: comments, "\" continuations, "source" and
 * "source-directory" as ifupdown 0.8 reads them. test/unit/netns.test.ts
 * holds it to what ifquery -i FILE says.
 */

#include <dirent.h>
#include <fnmatch.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifupdown.h"

/* Includes nested deeper than this are a loop: ifupdown would not end
 * either, and nothing is found there. */
#define MAX_DEPTH 16

static enum stanza scan_file(const char *file, const char *name, int depth);

/* PATTERN as written in FILE: relative to FILE's directory. */
static void resolve(const char *file, const char *pattern, char *out, size_t len)
{
	char dir[PATH_MAX];

	if (pattern[0] == '/') {
		snprintf(out, len, "%s", pattern);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", file);
	snprintf(out, len, "%s/%s", dirname(dir), pattern);
}

/* source-directory reads only names run-parts would: [A-Za-z0-9_-]+. */
static int runparts_name(const struct dirent *d)
{
	const char *s = d->d_name;

	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static enum stanza scan_dir(const char *dir, const char *name, int depth)
{
	struct dirent **list;
	enum stanza r = STANZA_NONE;
	int n = scandir(dir, &list, runparts_name, alphasort);
	char path[PATH_MAX];

	for (int i = 0; i < n; i++) {
		if (r == STANZA_NONE) {
			snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
			r = scan_file(path, name, depth + 1);
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return r;
}

/* Every path PATTERN names (shell wildcards), each given to SCAN. */
static enum stanza scan_glob(const char *file, const char *pattern, const char *name, int depth,
			     enum stanza (*scan)(const char *, const char *, int))
{
	char path[PATH_MAX];
	glob_t g;
	enum stanza r = STANZA_NONE;

	resolve(file, pattern, path, sizeof(path));
	if (glob(path, 0, NULL, &g) != 0)
		return STANZA_NONE;
	for (size_t i = 0; i < g.gl_pathc && r == STANZA_NONE; i++)
		r = scan(g.gl_pathv[i], name, depth + 1);
	globfree(&g);
	return r;
}

/* The next logical line: "\" at the end joins the next one. */
static char *next_line(FILE *f, char **buf, size_t *cap)
{
	size_t used = 0;
	char *part = NULL;
	size_t pcap = 0;
	ssize_t n;

	while ((n = getline(&part, &pcap, f)) > 0) {
		int more;

		while (n > 0 && (part[n - 1] == '\n' || part[n - 1] == '\r'))
			part[--n] = '\0';
		more = n > 0 && part[n - 1] == '\\';
		if (more)
			part[--n] = '\0';
		if (used + (size_t)n + 1 > *cap) {
			*cap = used + (size_t)n + 128;
			*buf = realloc(*buf, *cap);
			if (*buf == NULL)
				break;
		}
		memcpy(*buf + used, part, (size_t)n + 1);
		used += (size_t)n;
		if (!more)
			break;
	}
	free(part);
	return used || n > 0 ? *buf : NULL;
}

static enum stanza scan_file(const char *file, const char *name, int depth)
{
	FILE *f;
	char *line = NULL, *save, *word, *arg;
	size_t cap = 0;
	enum stanza r = STANZA_NONE;

	if (depth > MAX_DEPTH || (f = fopen(file, "re")) == NULL)
		return STANZA_NONE;
	while (r == STANZA_NONE && next_line(f, &line, &cap)) {
		word = strtok_r(line, " \t", &save);
		if (word == NULL || word[0] == '#')
			continue;
		arg = strtok_r(NULL, " \t", &save);
		if (arg == NULL)
			continue;
		if (strcmp(word, "iface") == 0) {
			if (strcmp(arg, name) == 0)
				r = STANZA_IFACE;
		} else if (strcmp(word, "mapping") == 0) {
			/* mapping PATTERN...: ifquery maps NAME by a script. */
			for (; arg; arg = strtok_r(NULL, " \t", &save))
				if (fnmatch(arg, name, 0) == 0)
					r = STANZA_MAPPING;
		} else if (strcmp(word, "source") == 0) {
			r = scan_glob(file, arg, name, depth, scan_file);
		} else if (strcmp(word, "source-directory") == 0) {
			r = scan_glob(file, arg, name, depth, scan_dir);
		}
	}
	free(line);
	fclose(f);
	return r;
}

enum stanza ifupdown_stanza(const char *file, const char *name)
{
	return scan_file(file, name, 0);
}
