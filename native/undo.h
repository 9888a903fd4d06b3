/* What the start made in UPPER, removed again when it fails (undo.c). */
#ifndef OVERLAY_BOOT_UNDO_H
#define OVERLAY_BOOT_UNDO_H

/* PATH was made by this start (a file, directory, node or symlink). */
void undo_add(const char *path);
/* The start succeeded: keep everything (call before exiting 0). */
void undo_keep(void);
/* At exit (atexit): remove, newest first, unless undo_keep() was called. */
void undo_run(void);

#endif
