/*
 * subhost-enter - the native last step of starting an overlay-boot subhost.
 *
 * Node computes the plan and execs this once, inside the subhost's
 * network namespace (NetworkNamespacePath=), and first makes the unit's
 * own mount namespace (own_mount_namespace() below). It runs the mount/mknod/...
 * ops of the plan (ops.c), then starts the subhost's init in fresh
 * namespaces with the subhost root pivoted to / (enter.c), waits until the
 * reaper says "ready" and exits, leaving the subhost to the service
 * manager (Type=forking with PIDFile=). This file: the command line and
 * the plan files (see subhost-enter.h for the other parts).
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "enter.h"
#include "identity.h"
#include "ops.h"
#include "subhost-enter.h"
#include "journal.h"
#include "lock.h"
#include "undo.h"

const char prog_name[] = PROG;

const char usage_text[] =
"Usage: " PROG " [OP ...] [enter [OPTIONS] ROOT -- PROGRAM [ARG ...]]\n"
"\n"
"OPs run in order in the current mount namespace:\n"
"  mount FSTYPE SOURCE TARGET FLAGS DATA\n"
"        FLAGS: comma list of ro,nosuid,nodev,noexec,bind,rec,remount,\n"
"        private,slave,shared,unbindable,relatime,noatime,nodiratime,\n"
"        strictatime, or \"-\". FSTYPE, SOURCE, DATA: \"-\" for none.\n"
"        bind with ro/nosuid/nodev/noexec also remounts the bind so.\n"
"  mkdir PATH MODE\n"
"  mknod PATH MODE TYPE MAJOR MINOR UID GID     (TYPE c or b)\n"
"  symlink TARGET PATH                         (like ln -sTf)\n"
"  chmod PATH MODE\n"
"  install-if-missing SRC DST MODE\n"
"  bind-file-ro SRC DST\n"
"  bind-socket-ro SRC DST                      (a socket on a new file, read-only;\n"
"                                              nothing when SRC is no socket)\n"
"  bind-if-exists SRC DST                      (bind when both exist)\n"
"  bind-ro-if-exists SRC DST                   (the same, read-only)\n"
"  bind-nofollow SRC DST   recursive bind; no component of SRC may be a\n"
"                          symlink (RESOLVE_NO_SYMLINKS)\n"
"  check-containment private-users|contained|none  (the unit's fence matches)\n"
"  write-if-missing PATH MODE CONTENT          (parents made as needed)\n"
"  require-dir PATH MESSAGE                    (else print MESSAGE, fail)\n"
"  refuse-mountpoint PATH MESSAGE              (fail if PATH is a mount point)\n"
"  check-env VAR VALUE                         (\"-\": unset; else exit 75)\n"
"  check-stat PATH SIG                         (lstat signature; else exit 75)\n"
"  link-up IFNAME                              (in the current netns)\n"
"  lock OWNER ROLE DIR    lock DIR (whatever path leads to it) for subhost\n"
"                   OWNER as its ROLE, or fail naming the holder; held by\n"
"                   systemd's descriptor store of the unit once ready\n"
"  refuse-foreign-mounts   fail when a locked DIR is the upperdir or\n"
"                   workdir of an overlay in any mount namespace\n"
"  guard ROOT       later paths under ROOT are resolved inside it: a symlink\n"
"                   there cannot lead a step out of ROOT (RESOLVE_IN_ROOT)\n"
"  undo-journal FILE UPPER   note in FILE, before each creation under a\n"
"                   guard, the path it makes that UPPER lacks (appended to)\n"
"  relay PROGRAM NAME PTS CONSOLE DEVLOG HOSTLOG   a pty of the devpts at\n"
"                   PTS bound over CONSOLE, a syslog socket at DEVLOG, and\n"
"                   PROGRAM relaying both to the journal (\"-\": none)\n"
"  private-users NAME   CONTAINMENT=private-users: the user namespace owning\n"
"                   this netns, NAME's recorded id range; from here on what\n"
"                   is made belongs to root inside (fsuid BASE), mknod's and\n"
"                   devpts' ids are the subhost's, bind-nofollow idmaps\n"
"  overlay-idmapped LOWER UPPER WORK LIVE   the overlay of idmapped layers\n"
"  bind-idmapped SRC DST rec|-                 an idmapped bind\n"
"MODE is octal, UID/GID/MAJOR/MINOR decimal.\n"
"What mkdir, mknod, symlink, install-if-missing and write-if-missing create\n"
"is removed again when a later step fails (a failed start leaves UPPER as\n"
"it was); the undo journal is deleted when enter succeeds.\n"
"\n"
"  " PROG " --undo FILE\n"
"removes, newest first, what undo journal FILE names and still exists in\n"
"its UPPER (directories only when empty), then FILE: the netns unit's\n"
"ExecStopPost=, for a start that was killed. A missing FILE: nothing to do.\n"
"\n"
"  " PROG " --plan FILE [--plan FILE ...] --or PROGRAM [ARG ...]\n"
"runs the first FILE (NUL-separated arguments as above) whose leading\n"
"check-env/check-stat ops all hold; if none does (missing or stale),\n"
"execs PROGRAM (which computes a fresh plan).\n"
"\n"
"  " PROG " --check FILE\n"
"parses the plan FILE as --plan reads it and runs nothing: exit 0 when\n"
"every op is known, with its number of arguments and valid values, and\n"
"so is enter; else 2 with the usual error (1: FILE cannot be read).\n"
"\n"
"enter starts PROGRAM as PID 1 of new pid/mount/ipc/uts/time namespaces,\n"
"with ROOT (a mount point) pivoted to / and a fresh /proc, and waits until\n"
"PROGRAM (the reaper) writes \"R\" to $OVERLAY_BOOT_READY_FD.\n"
"  --hostname NAME         hostname of the new uts namespace\n"
"  --hostname-from-root    rather ROOT's /etc/hostname, when it is a valid\n"
"                          hostname other than the host's\n"
"  --pidfile FILE          write PROGRAM's pid here once ready\n"
"  --no-wait               do not wait for readiness\n"
"  --contain               CONTAINMENT=contained: a cgroup namespace too,\n"
"                          /proc/sys read-only (but /proc/sys/net), host\n"
"                          kernel files in /proc masked, no new user\n"
"                          namespaces, CAP_SYS_ADMIN & co. dropped\n"
"  --private-users         --contain, and the user namespace of the\n"
"                          private-users op: joined after /proc, with new\n"
"                          mount/ipc/uts/cgroup namespaces it owns; keeps\n"
"                          CAP_SYS_ADMIN (its own), refuses mount calls\n"
"  --ready-timeout SECS    give up after SECS (default 90, 0 = never)\n"
"\n"
"Exit status: 0 ready, 1 failure, 2 bad usage, 75 stale plan.\n";

void fault_point(int n, const char *stage)
{
	const char *at = getenv("OVERLAY_BOOT_FAULT_KILL_AT");
	char num[16];

	if (at == NULL)
		return;
	snprintf(num, sizeof(num), "%d", n);
	if (stage ? strcmp(at, stage) == 0 : strcmp(at, num) == 0)
		raise(SIGKILL);
}

char *tmp_name(const char *path)
{
	static unsigned counter;
	struct timespec ts;
	char *s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (asprintf(&s, "%s.tmp-%d-%u-%lx", path, (int)getpid(), counter++,
		     (unsigned long)ts.tv_nsec) < 0)
		return NULL;
	return s;
}

/* Parse everything before running anything: a typo in the plan must not
 * leave half of it done. Returns whether there is an enter (then in E). */
static int parse_args(int argc, char **argv, struct enter_args *e)
{
	int i = ops_check(argc, argv, 1);

	if (i >= argc)
		return 0;
	parse_enter(argc, argv, i + 1, e);
	return 1;
}

static int run_args(int argc, char **argv)
{
	static char machine_id[33];
	struct enter_args e;
	int have_enter = parse_args(argc, argv, &e);

	/* fds 0-2 may be closed by a careless caller; keep the readiness
	 * pipe and the files we open from landing on them. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			die("open", "/dev/null");

	ops_run(argc, argv, 1);
	/* Read now, ROOT assembled, at every start: root inside may have
	 * changed its /etc/hostname since the last one (identity.c). */
	if (have_enter && e.hostname_from_root && e.hostname)
		e.hostname = root_hostname(e.root, e.hostname);
	if (have_enter && e.pidfile && root_machine_id(e.root, machine_id) == 0)
		e.machine_id = machine_id;
	if (have_enter) {
		/* Before enter (which exits): from here systemd holds the
		 * locks too, until the unit is fully stopped, ready or not. */
		lock_handover();
		enter(&e);
	}
	undo_keep();
	return 0;
}

/* ---- plans ---------------------------------------------------------- */

/* A plan file: the arguments of one run, NUL-separated (argv[0] first).
 * NULL with errno when it cannot be read; EBADMSG when it is empty or
 * torn (not NUL-terminated). */
static char **read_plan(const char *path, int *argc)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf, **argv;
	size_t n = 0;
	ssize_t got = 0;
	int count = 0, err;

	if (fd < 0)
		return NULL;
	err = fstat(fd, &st) != 0 ? errno : st.st_size <= 0 ? EBADMSG : 0;
	if (err) {
		close(fd);
		errno = err;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && n < (size_t)st.st_size &&
	       (got = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)got;
	err = buf == NULL ? ENOMEM : got < 0 ? errno : EBADMSG;
	close(fd);
	if (buf == NULL || n != (size_t)st.st_size || buf[n - 1] != '\0') {
		free(buf);
		errno = err;
		return NULL;	/* unreadable or torn: treat as missing */
	}
	for (size_t i = 0; i < n; i++)
		count += buf[i] == '\0';
	if ((argv = calloc((size_t)count + 1, sizeof(*argv))) == NULL)
		return NULL;
	for (size_t i = 0, k = 0; i < n; i += strlen(buf + i) + 1)
		argv[k++] = buf + i;
	*argc = count;
	return argv;
}

/* --check FILE: the contract test's entry (test/unit/plan-contract.test.ts):
 * the plan is parsed exactly as a run would parse it, and nothing runs. */
static int check_plan(const char *path)
{
	struct enter_args e;
	int pargc;
	char **pargv = read_plan(path, &pargc);

	if (pargv == NULL && errno == EBADMSG)
		usage_error("--check: %s is not a plan (empty, or not NUL-terminated)", path);
	if (pargv == NULL)
		die("--check: cannot read", path);
	parse_args(pargc, pargv, &e);
	return 0;
}

/*
 * Everything a start mounts (the overlay, /dev, SHARE binds...) is made in
 * a mount namespace of the unit's own, so that none of it shows on the
 * host and all of it goes when the unit's processes do, even after a
 * crash: unshare(CLONE_NEWNS) with every mount a slave of the host's (host
 * mounts made later still reach it; its own never go back). This used to
 * be the unit's PrivateMounts=yes; systemd 252 builds that namespace with
 * several passes over the whole host mount table (a recursive bind of /,
 * moves, unmounts), and every running subhost adds a mount to that table
 * (/run/netns/NAME): with 200 running, a start cost 7-9 ms more than with
 * none. A copy here is one pass.
 *
 * Once per start: the namespace's inode goes into $OVERLAY_BOOT_MNTNS, so
 * that a helper run by the runtime (exec'd from here, see --or) knows it
 * is inside it already. A value naming another namespace is ignored. The
 * native tests set it to stand in for a unit's namespace of their own.
 */
#define MNTNS_ENV "OVERLAY_BOOT_MNTNS"

static unsigned long long mntns_ino(void)
{
	struct stat st;

	if (stat("/proc/self/ns/mnt", &st) != 0)
		die("cannot read", "/proc/self/ns/mnt");
	return (unsigned long long)st.st_ino;
}

static void own_mount_namespace(void)
{
	const char *have = getenv(MNTNS_ENV);
	char ino[24];

	snprintf(ino, sizeof(ino), "%llu", mntns_ino());
	if (have != NULL && strcmp(have, ino) == 0)
		return;
	if (unshare(CLONE_NEWNS) != 0)
		die("cannot make a mount namespace", NULL);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
		die("cannot make the mount namespace a slave of the host's", NULL);
	/* The named netns of every running subhost are mounts in /run/netns
	 * (a mount itself, as ip-netns(8) makes it): this process is in its
	 * netns already (NetworkNamespacePath=), and nothing of a start uses
	 * the others. Dropped from this copy in one step, so that the
	 * subhost's own mount namespace (enter.c) copies, and then detaches
	 * with the old root, a table that does not grow with their number. */
	if (umount2("/run/netns", MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
		die("cannot detach", "/run/netns");
	snprintf(ino, sizeof(ino), "%llu", mntns_ino());
	if (setenv(MNTNS_ENV, ino, 1) != 0)
		die("setenv", MNTNS_ENV);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage_error("nothing to do");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--check") == 0) {
		if (argc != 3)
			usage_error("--check needs one FILE");
		return check_plan(argv[2]);
	}
	if (strcmp(argv[1], "--undo") == 0) {
		if (argc != 3)
			usage_error("--undo needs one FILE");
		return journal_replay(argv[2]);
	}
	own_mount_namespace();
	lock_init();
	atexit(undo_run);
	if (strcmp(argv[1], "--plan") == 0) {
		int i = 1;

		for (; i + 1 < argc && strcmp(argv[i], "--plan") == 0; i += 2) {
			int pargc;
			char **pargv;

			if (argv[i + 1][0] == '\0')
				continue;	/* an unset ${VAR} in a unit */
			pargv = read_plan(argv[i + 1], &pargc);
			if (pargv && pargc >= 1 && ops_hold(pargc, pargv))
				return run_args(pargc, pargv);
			free(pargv ? pargv[0] : NULL);
			free(pargv);
		}
		if (i >= argc || strcmp(argv[i], "--or") != 0 || i + 1 >= argc)
			usage_error("--plan FILE ... needs --or PROGRAM");
		if (argv[i + 1][0] != '/')
			usage_error("--or: PROGRAM must be an absolute path: %s", argv[i + 1]);
		execv(argv[i + 1], &argv[i + 1]);
		die("exec", argv[i + 1]);
	}
	return run_args(argc, argv);
}
