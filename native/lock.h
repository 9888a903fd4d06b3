/* One owner per UPPER, WORK and LIVE (lock.c): a kernel lock per
 * directory, held by systemd for the unit while the subhost runs. */
#ifndef OVERLAY_BOOT_LOCK_H
#define OVERLAY_BOOT_LOCK_H

/* Before anything else: the locks systemd passed back at a restart
 * (LISTEN_FDS) closed, so that no process started from here has one. */
void lock_init(void);

/* `lock OWNER ROLE DIR`: lock directory DIR (any path to it) for subhost
 * OWNER, as its ROLE (UPPER, WORK, LIVE). Held: one line naming the
 * holder, exit 1. 0, or -1 with errno. */
int lock_dir(const char *owner, const char *role, const char *dir);

/* Every lock held: is one of the directories the upperdir or workdir of
 * an overlay in any mount namespace (1.6, by hand)? Then one line, exit 1. */
void lock_refuse_foreign_overlays(void);

/* The start succeeded: the locks go to systemd's descriptor store of the
 * unit, which keeps them until the unit is fully stopped. */
void lock_handover(void);

#endif
