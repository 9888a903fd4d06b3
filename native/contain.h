/* CONTAINMENT=contained: the part subhost-enter does itself (contain.c). */
#ifndef OVERLAY_BOOT_CONTAIN_H
#define OVERLAY_BOOT_CONTAIN_H

/* In the subhost's first process, after its /proc is mounted: /proc/sys
 * read-only but for /proc/sys/net, the host kernel's files masked. */
int contain_proc(void);
/* Right before exec'ing the init: no new user namespaces, no
 * CAP_SYS_ADMIN (nor the rest of the list) for anything inside; with
 * PRIVATE_USERS, CAP_SYS_ADMIN stays (it counts only for what the
 * subhost's user namespace owns: its hostname, its own mounts). */
int contain_before_exec(int private_users);
/* Does this process run under the unit's fence the config asks for?
 * Prints why not and returns -1. */
int contain_check(int contained);

#endif
