/* The undo journal (journal.c): what a start is about to make in UPPER,
 * on disk, so that a start that is killed (a timeout's SIGTERM, SIGKILL,
 * a crash) is undone as well: the netns unit's ExecStopPost= runs
 * `subhost-enter --undo FILE`. */
#ifndef OVERLAY_BOOT_JOURNAL_H
#define OVERLAY_BOOT_JOURNAL_H

/* `undo-journal FILE UPPER`: note creations in FILE (appended to: a start
 * with custom hooks runs several plans into one journal). UPPER is the
 * tree every op path maps onto (a path under LIVE lands at the same place
 * under UPPER: LIVE is UPPER's overlay, its bind, or UPPER itself).
 * Both strings are kept, not copied. */
int journal_open(const char *file, const char *upper);

/* PATH (an op argument, before guarding) is about to be made: append each
 * of its components, from its guard's root down, that does not exist in
 * UPPER yet. Nothing when no journal is open or no guard covers PATH. */
void journal_note(const char *path);

/* The start succeeded: the journal is dropped (unlinked). */
void journal_done(void);

/* `--undo FILE`: remove, newest first, what FILE says a start made and
 * still exists (directories only when empty), inside UPPER (RESOLVE_IN_ROOT),
 * then unlink FILE. A missing FILE is nothing to undo. 0, or 1 when
 * something could not be removed. */
int journal_replay(const char *file);

#endif
