/*
 * subhost-enter's parts and what they share:
 *   subhost-enter.c  main: the command line, plan files, --check, --undo
 *   ops.c            the op interpreter (parse all, then run in order)
 *   guard.c          paths under LIVE/UPPER resolved inside them
 *   undo.c           what the ops made, removed again on failure
 *   journal.c        the same on disk, for a start that is killed (--undo)
 *   enter.c          the subhost's namespaces, readiness, pidfile
 *   contain.c        CONTAINMENT=contained (contain.h)
 *   identity.c       the hostname from the root (identity.h)
 */
#ifndef OVERLAY_BOOT_SUBHOST_ENTER_H
#define OVERLAY_BOOT_SUBHOST_ENTER_H

#define PROG "subhost-enter"

/* Exit status of a plan whose check-env/check-stat ops no longer hold. */
#define EX_STALE 75

/* Fault injection for the hardening tests: OVERLAY_BOOT_FAULT_KILL_AT=N
 * (before the Nth op), =enter (before the namespaces are made) or =ready
 * (the subhost is ready, its pidfile not written yet) SIGKILLs this
 * process there, as a crash at that point would. STAGE NULL: op N. */
void fault_point(int n, const char *stage);

/* A unique sibling name of PATH for write-then-rename (malloc'd), or NULL. */
char *tmp_name(const char *path);

#endif
