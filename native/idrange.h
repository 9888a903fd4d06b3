/*
 * The host id range of a subhost at CONTAINMENT=private-users (idrange.c):
 * 65536 uids and gids, 0 inside being BASE on the host. Recorded under
 * IDS_DIR, where lib/idrange.ts reads it (check, status) and frees it
 * (an explicit purge):
 *   by-name/NAME -> "BASE"    (a symlink: made in one step, read in one)
 *   by-base/BASE -> "NAME"    (the claim: symlink(2) fails if it exists)
 */
#ifndef OVERLAY_BOOT_IDRANGE_H
#define OVERLAY_BOOT_IDRANGE_H

#include <stddef.h>

#define IDS_DIR "/var/lib/overlay-boot/ids"
#define IDRANGE_SIZE 0x10000UL
/* As systemd-nspawn's --private-users=pick: above the ids a distribution
 * hands out and systemd's dynamic users, below 2^31 (signed uid_t users). */
#define IDRANGE_FIRST 0x80000UL
#define IDRANGE_END 0x6FFF0000UL

/* NAME's recorded BASE: 0, or -1 with errno (ENOENT: none recorded). */
int idrange_read(const char *name, unsigned long *base);

/* NAME's recorded BASE, allocated and recorded first if there is none:
 * 0, or -1 with MSG saying why in one line. */
int idrange_claim(const char *name, unsigned long *base, char *msg, size_t len);

#endif
