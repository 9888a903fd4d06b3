/*
 * Priorities for what the helpers write to stderr, as the journal reads
 * them: a line starting with "<N>" (sd-daemon(3): SD_ERR "<3>" ...) is
 * logged at priority N, so `journalctl -p err -u subhost@NAME` shows the
 * errors. Only when fd 2 is the journal stream ($JOURNAL_STREAM,
 * systemd.exec(5)) of a unit that reads the prefix: on a terminal, in a
 * test or a pipe, or with OVERLAY_BOOT_LOG_PRIORITIES=no (subhost@, whose
 * SyslogLevelPrefix=no keeps the subhost's own "<0>" lines from being
 * emergencies), no prefix.
 *
 * log.c (linked into every helper but the reaper) installs a stderr that
 * does it for every line: <3> (an error: what these helpers write to
 * stderr is why they fail) unless the line starts with its own prefix,
 * written as fprintf(stderr, "%s...", log_prefix(SD_NOTICE), ...). The
 * reaper writes none: it runs only under subhost@.
 */
#ifndef OVERLAY_BOOT_LOG_H
#define OVERLAY_BOOT_LOG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SD_ERR "<3>"
#define SD_WARNING "<4>"
#define SD_NOTICE "<5>"
#define SD_INFO "<6>"

/* Is fd 2 the stream systemd connected to the journal ("DEV:INODE" of it)? */
static inline int stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	const char *off = getenv("OVERLAY_BOOT_LOG_PRIORITIES");

	/* A unit with SyslogLevelPrefix=no (subhost@) would show "<3>" as text. */
	if (off != NULL && strcmp(off, "no") == 0)
		return 0;
	return v != NULL && sscanf(v, "%llu:%llu", &dev, &ino) == 2 &&
	       fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/* PRIO ("<N>") when stderr is the journal, else "". */
static inline const char *log_prefix(const char *prio)
{
	static int journal = -1;

	if (journal < 0)
		journal = stderr_is_journal();
	return journal ? prio : "";
}

#endif
