/*
 * idrange.c - which 65536 host ids a subhost's user namespace maps
 * (idrange.h). Allocated at the subhost's first start by subhost-netns,
 * kept across restarts and reboots, freed only by an explicit purge.
 *
 * The first candidate is a hash of NAME (as nspawn's --private-users=pick
 * hashes the machine name), so that a subhost tends to get the same range
 * on every host; the next ones follow it in 0x10000 steps, wrapping. A
 * candidate is skipped when any id in it is a host user's or group's
 * (/etc/passwd, /etc/group) or delegated (/etc/subuid, /etc/subgid), or
 * when another subhost's claim exists. Claims are symlinks made under an
 * exclusive lock of IDS_DIR; symlink(2) itself refuses an existing one.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idrange.h"

static int name_ok(const char *name)
{
	return *name && strlen(name) < 64 && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

int idrange_read(const char *name, unsigned long *base)
{
	char path[PATH_MAX], buf[32], *end;
	ssize_t n;

	if (!name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), IDS_DIR "/by-name/%s", name);
	if ((n = readlink(path, buf, sizeof(buf) - 1)) < 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	*base = strtoul(buf, &end, 10);
	if (errno || *end || end == buf || *base < IDRANGE_FIRST ||
	    *base >= IDRANGE_END || *base % IDRANGE_SIZE) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Does [LO, LO+IDRANGE_SIZE) meet [START, START+COUNT)? */
static int meets(unsigned long lo, unsigned long start, unsigned long count)
{
	return start < lo + IDRANGE_SIZE && lo < start + count;
}

/* Is an id of the range at BASE named in FILE: field FIELD (0-based) of
 * its colon-separated lines, with COUNT_FIELD the length of a range that
 * starts there (subuid), or -1 for single ids (passwd, group)? */
static int file_uses(const char *file, int field, int count_field, unsigned long base)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	int used = 0;

	if (f == NULL)
		return 0;	/* no such file: no such ids */
	while (!used && getline(&line, &cap, f) > 0) {
		char *fields[4] = { 0 }, *save = NULL, *w = line;
		int n = 0;

		for (char *s = strtok_r(w, ":\n", &save); s && n < 4; s = strtok_r(NULL, ":\n", &save))
			fields[n++] = s;
		if (n <= field || (count_field >= 0 && n <= count_field))
			continue;
		unsigned long start = strtoul(fields[field], NULL, 10);
		unsigned long count = count_field >= 0 ? strtoul(fields[count_field], NULL, 10) : 1;

		used = meets(base, start, count);
	}
	free(line);
	fclose(f);
	return used;
}

static int host_uses(unsigned long base)
{
	/* passwd: name:pw:UID:..., group: name:pw:GID:..., sub[ug]id: name:START:COUNT */
	return file_uses("/etc/passwd", 2, -1, base) || file_uses("/etc/group", 2, -1, base) ||
	       file_uses("/etc/subuid", 1, 2, base) || file_uses("/etc/subgid", 1, 2, base);
}

/* FNV-1a: small, and the same on every host. */
static unsigned long hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* 0755: the ranges are no secret (as /etc/subuid), and status and check
 * show them to every user. */
static int mkdir_ok(const char *path)
{
	return mkdir(path, 0755) == 0 || errno == EEXIST;
}

static int sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int idrange_claim(const char *name, unsigned long *base, char *msg, size_t len)
{
	const unsigned long slots = (IDRANGE_END - IDRANGE_FIRST) / IDRANGE_SIZE;
	char byname[PATH_MAX], bybase[PATH_MAX], num[32];
	unsigned long first = hash(name) % slots;
	int lock = -1, r = -1;

	if (idrange_read(name, base) == 0)
		return 0;
	if (errno != ENOENT) {
		snprintf(msg, len, IDS_DIR "/by-name/%s: not a range record (%s): "
			 "remove it to allocate a new range", name, strerror(errno));
		return -1;
	}
	if (!mkdir_ok("/var/lib/overlay-boot") || !mkdir_ok(IDS_DIR) ||
	    !mkdir_ok(IDS_DIR "/by-name") || !mkdir_ok(IDS_DIR "/by-base") ||
	    (lock = open(IDS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(lock, LOCK_EX) != 0) {
		snprintf(msg, len, "cannot record id ranges in " IDS_DIR ": %s", strerror(errno));
		goto out;
	}
	/* Another start of NAME may have recorded one while we waited. */
	if (idrange_read(name, base) == 0) {
		r = 0;
		goto out;
	}
	snprintf(byname, sizeof(byname), IDS_DIR "/by-name/%s", name);
	for (unsigned long i = 0; i < slots; i++) {
		unsigned long b = IDRANGE_FIRST + (first + i) % slots * IDRANGE_SIZE;

		if (host_uses(b))
			continue;
		snprintf(bybase, sizeof(bybase), IDS_DIR "/by-base/%lu", b);
		if (symlink(name, bybase) != 0) {
			if (errno == EEXIST)
				continue;
			snprintf(msg, len, "cannot record %s: %s", bybase, strerror(errno));
			goto out;
		}
		snprintf(num, sizeof(num), "%lu", b);
		if (symlink(num, byname) != 0 || sync_dir(IDS_DIR "/by-base") != 0 ||
		    sync_dir(IDS_DIR "/by-name") != 0) {
			snprintf(msg, len, "cannot record %s: %s", byname, strerror(errno));
			unlink(bybase);
			goto out;
		}
		*base = b;
		r = 0;
		goto out;
	}
	snprintf(msg, len, "no free range of %lu ids left between %lu and %lu "
		 "(see " IDS_DIR ")", IDRANGE_SIZE, IDRANGE_FIRST, IDRANGE_END);
out:
	if (lock >= 0)
		close(lock);
	return r;
}
