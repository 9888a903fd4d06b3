/* `guard ROOT`: later op paths under ROOT resolved inside it (guard.c). */
#ifndef OVERLAY_BOOT_GUARD_H
#define OVERLAY_BOOT_GUARD_H

/* Paths under ROOT are resolved inside it from now on; -1 (E2BIG) when
 * there are too many guards already. ROOT is kept, not copied. */
int guard_add(const char *root);

/* PATH for a syscall: rewritten for KIND 'e' (an existing object, as
 * /proc/self/fd/N) or 'c' (one to create, /proc/self/fd/N/LEAF of its
 * directory); PATH itself when no guard covers it; NULL with errno when
 * it cannot be resolved inside its guard. */
char *guarded(char *path, char kind);

/* The guard ROOT that covers PATH (the longest), with *REL set to PATH
 * relative to it; NULL when none does. */
const char *guard_root(const char *path, const char **rel);

#endif
