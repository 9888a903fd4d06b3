/* The subhost's /dev/console and /dev/log, relayed to the journal (console.c). */
#ifndef OVERLAY_BOOT_CONSOLE_H
#define OVERLAY_BOOT_CONSOLE_H

#include <sys/types.h>

/* The `relay` op: makes the console pty and the /dev/log socket and
 * forks the relay (native/relay.c); 0, or -1 with a message printed. */
int run_relay(char **a);
/* After `enter` forked the subhost's PID 1: tells the relay its PID
 * (it ends when that process ends). Nothing without a relay. */
void relay_tell(pid_t pid);

#endif
