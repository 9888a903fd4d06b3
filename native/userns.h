/* CONTAINMENT=private-users: the subhost's user namespace as subhost-enter
 * uses it (userns.c). */
#ifndef OVERLAY_BOOT_USERNS_H
#define OVERLAY_BOOT_USERNS_H

/* The user namespace that owns this process's network namespace (the
 * subhost's, made by subhost-netns), and NAME's recorded id range. 0, or
 * -1 having printed one line saying why. */
int userns_open(const char *name);

/* Is private-users on (userns_open succeeded)? Its fd, and BASE (host id
 * of uid 0 inside). */
int userns_fd(void);
unsigned long userns_base(void);

/* A detached clone of the mount at PATH (DIRFD-relative; "" with an
 * O_PATH DIRFD: that directory), submounts too if RECURSIVE, whose owners
 * are seen through the subhost's id map: on-disk 0 is BASE. -1 with errno. */
int userns_idmapped_tree(int dirfd, const char *path, int recursive);

/* From now on until userns_fsuid_leave(), files this process creates
 * belong to root inside (BASE); its capabilities stay. -1 with errno. */
int userns_fsuid_enter(void);
void userns_fsuid_leave(void);

/* In the subhost's first process: become root of the user namespace
 * (no supplementary groups). -1 having printed why. */
int userns_join(void);

#endif
