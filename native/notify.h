/*
 * sd_notify(3) without libsystemd: the start's readiness and status for
 * a Type=notify unit (subhost@.service), one datagram to $NOTIFY_SOCKET.
 */
#ifndef OVERLAY_BOOT_NOTIFY_H
#define OVERLAY_BOOT_NOTIFY_H

#include <sys/types.h>

/* Takes $NOTIFY_SOCKET and $OVERLAY_BOOT_MAIN_PID out of the environment
 * (the subhost's processes must not inherit them) and keeps them for
 * notify(). Call before forking. */
void notify_init(void);

/*
 * Sends FMT's text ("READY=1\nMAINPID=..."), as the unit's main process:
 * this one, or the runtime that runs it ($OVERLAY_BOOT_MAIN_PID, its
 * parent), so that NotifyAccess=main accepts it. A no-op without
 * $NOTIFY_SOCKET. Returns 0, or -1 with errno.
 */
int notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same with descriptors (SCM_RIGHTS), for FDSTORE=1 (lock.c): TEXT as
 * is, at most 8 descriptors. */
int notify_fds(const int *fds, int nfds, const char *text);

/* Is there a socket to notify (notify_init found $NOTIFY_SOCKET)? */
int notify_available(void);

#endif
