/* The subhost's hostname, chosen from its root at each start (identity.c). */
#ifndef OVERLAY_BOOT_IDENTITY_H
#define OVERLAY_BOOT_IDENTITY_H

/* The hostname of the subhost whose root is ROOT (a mount point): the
 * first word of ROOT's own /etc/hostname when it is a valid hostname that
 * differs from the host's (its /etc/hostname and its current name), else
 * FALLBACK (the NAME). The returned string is static or FALLBACK. */
const char *root_hostname(const char *root, const char *fallback);

/* The machine id of the subhost whose root is ROOT: its own
 * /etc/machine-id (32 hex digits) when it is not the host's, copied to
 * ID (33 bytes); 0, or -1 when it has none of its own. */
int root_machine_id(const char *root, char id[33]);

#endif
