/* The op interpreter (ops.c): the steps of a start plan before `enter`. */
#ifndef OVERLAY_BOOT_OPS_H
#define OVERLAY_BOOT_OPS_H

/* Check the ops of ARGV from index I up to "enter" (or the end): every op
 * known, with its arity and valid arguments. The first bad one is a usage
 * error (exit 2). Returns the index of "enter", or ARGC. */
int ops_check(int argc, char **argv, int i);

/* Run the ops checked by ops_check, in order; the first failure prints
 * one line naming the op and exits 1 (or EX_STALE for a stale plan). */
void ops_run(int argc, char **argv, int i);

/* Do the leading check-env/check-stat ops of ARGV (a plan, argv[0]
 * first) all hold? Other ops are not looked at. */
int ops_hold(int argc, char **argv);

#endif
