/*
 * ifupdown.h - does ifupdown know interface NAME? Read from its
 * interfaces(5) files, so that the common case (no stanza) runs no
 * ifquery(8).
 */
#ifndef OVERLAY_BOOT_IFUPDOWN_H
#define OVERLAY_BOOT_IFUPDOWN_H

enum stanza { STANZA_NONE, STANZA_IFACE, STANZA_MAPPING };

/*
 * Look for "iface NAME ..." in FILE and what it includes ("source",
 * "source-directory", with shell wildcards; relative to the including
 * file's directory). STANZA_MAPPING: a "mapping" stanza matches NAME, so
 * only ifquery(8), which runs the mapping script, can say.
 */
enum stanza ifupdown_stanza(const char *file, const char *name);

#endif
