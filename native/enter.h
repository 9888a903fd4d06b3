/* `enter [OPTIONS] ROOT -- PROGRAM [ARG...]` (enter.c). */
#ifndef OVERLAY_BOOT_ENTER_H
#define OVERLAY_BOOT_ENTER_H

struct enter_args {
	const char *hostname;
	int hostname_from_root;	/* the root's /etc/hostname when its own (identity.c) */
	const char *pidfile;
	const char *machine_id;	/* its own (identity.c), kept beside the pidfile; or NULL */
	int no_wait;
	int contain;		/* CONTAINMENT=contained or private-users */
	int private_users;	/* CONTAINMENT=private-users (userns.c) */
	int timeout_ms;		/* -1: wait forever */
	const char *root;
	char **argv;		/* PROGRAM ARG... */
};

/* Parse enter's options and operands, ARGV[I] onwards (after "enter");
 * bad ones are a usage error (exit 2). */
void parse_enter(int argc, char **argv, int i, struct enter_args *e);

/* Start PROGRAM as PID 1 of new namespaces, wait until it is ready,
 * write the pidfile and exit 0; or exit 1 having killed it. */
void enter(const struct enter_args *e) __attribute__((noreturn));

#endif
