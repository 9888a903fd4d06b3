/*
 * subhost-netns - the network namespace of subhost NAME and the host
 * ends of its cables: ExecStart (up) and ExecStopPost (down) of
 * subhost-netns@NAME.service, one static program without ip(8) or a
 * shell, so that a start with a valid plan and every stop run one exec.
 *
 * The plan (lib/plan/netns.ts writes it) is tab-separated lines: check
 * lines first (the plan holds while they do), then what to make:
 *   check-env OVERLAY_BOOT_CONF VALUE|-
 *   check-stat PATH SIG|absent
 *   netns NAME [private-users]   (private-users: the netns is owned by
 *                                 the subhost's own user namespace)
 *   veth HOST PEER MAC|- BRIDGE|-     (MAC: the subhost end's)
 *   vlan HOST PARENT ID BRIDGE|-
 * Everything is recorded in STATE before it is made, so that `down`
 * removes exactly that, also after a failed or killed `up`.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "idrange.h"
#include "ifupdown.h"
#include "rtnl.h"

#define PROG "subhost-netns"
#define NETNS_DIR "/run/netns"
#define INTERFACES "/etc/network/interfaces"

const char prog_name[] = PROG;
const char usage_text[] =
"Usage: " PROG " up NAME STATE PLAN...     the first PLAN whose checks hold,\n"
"                                          else the Node.js runtime\n"
"       " PROG " up --run NAME STATE PLAN  PLAN without its checks\n"
"       " PROG " down NAME STATE [UNDO]    remove what STATE records; then,\n"
"                                          if UNDO exists, exec subhost-enter\n"
"                                          --undo UNDO\n"
"       " PROG " --check PLAN              parse only (exit 0, or 2 and why)\n"
"       " PROG " --holds PLAN              exit 0 if PLAN is valid and its\n"
"                                          checks hold, else 1 (runs nothing)\n"
"       " PROG " --ifupdown-stanza IFACE [FILE]\n"
"                 exit 0 if FILE (" INTERFACES ") or what it includes\n"
"                 has \"iface IFACE\", 1 if not, 3 if a mapping decides\n";

#define MAX_LINES 512
#define MAX_FIELDS 5

struct line {
	int nf;
	char *f[MAX_FIELDS + 1];
};

struct plan {
	const char *path;
	int n;
	struct line l[MAX_LINES];
};

/* Read PATH into P, split into lines of fields separated by SEP (tabs in
 * a plan, spaces in a state file; empty fields run together, as the sh
 * reader's IFS did). -1 with errno. */
static int plan_read(const char *path, struct plan *p, const char *sep)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf, *save = NULL, *s;
	ssize_t got;

	p->path = path;
	p->n = 0;
	if (fd < 0 || fstat(fd, &st) != 0)
		goto fail;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	got = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (got < 0)
		return -1;
	buf[got] = '\0';
	for (s = strtok_r(buf, "\n", &save); s && p->n < MAX_LINES; s = strtok_r(NULL, "\n", &save)) {
		struct line *l = &p->l[p->n++];
		char *fs = NULL, *w;

		l->nf = 0;
		for (w = strtok_r(s, sep, &fs); w; w = strtok_r(NULL, sep, &fs))
			if (l->nf <= MAX_FIELDS)
				l->f[l->nf++] = w;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int is_op(const struct line *l, const char *op, int nf)
{
	return l->nf == nf && strcmp(l->f[0], op) == 0;
}

/* digits:digits:digits:digits.digits, as lib/plan/sig.ts writes it. */
static int sig_ok(const char *s)
{
	const char *seps = ":::.";

	if (strcmp(s, "absent") == 0)
		return 1;
	for (int i = 0; i < 5; i++) {
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
		if (i < 4 && *s++ != seps[i])
			return 0;
	}
	return *s == '\0';
}

static int ifname_ok(const char *s)
{
	return *s && strlen(s) < IFNAMSIZ && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/*
 * The MAC of a cable's host end: the same at every start, as nspawn's
 * (a bridge's forwarding table and the neighbours' ARP caches keep
 * working across restarts), from this host's machine ID, the subhost's
 * NAME and the host end's name: a 64-bit FNV-1a hash, locally
 * administered and unicast. (A MAC in CABLES is the subhost end's: that
 * one is as 1.6 set it.)
 */
static void host_end_mac(const char *name, const char *ifname, unsigned char mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char id[33] = "";
	FILE *f = fopen("/etc/machine-id", "re");
	const char *parts[] = { id, name, ifname };

	if (f != NULL) {
		if (fscanf(f, "%32s", id) != 1)
			id[0] = '\0';
		fclose(f);
	}
	for (size_t k = 0; k < countof(parts); k++)
		for (const char *c = parts[k];; c++) {
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
			if (*c == '\0')
				break;
		}
	for (int k = 0; k < 6; k++)
		mac[k] = (unsigned char)(h >> (8 * k));
	mac[0] = (unsigned char)((mac[0] & 0xfe) | 0x02);
}

/* "02:00:00:00:00:42" into MAC; 0 if it is not one. */
static int parse_mac(const char *s, unsigned char mac[6])
{
	char end;

	return sscanf(s, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%c",
		      &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5], &end) == 6 &&
	       strlen(s) == 17;
}

static int parse_vlan(const char *s, unsigned *id)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	*id = (unsigned)v;
	return *s >= '0' && *s <= '9' && *end == '\0' && v >= 1 && v <= 4094;
}

/* A netns is named by a file in NETNS_DIR, not by an interface: the
 * subhost's NAME, whose limit is lib/config/name.ts's NAME_MAX (1.6's
 * `ip netns add` took long names too; only the cables' host-side
 * interface names must fit IFNAMSIZ). */
#define NETNS_NAME_MAX 64

static int netns_name_ok(const char *s)
{
	return *s && strlen(s) <= NETNS_NAME_MAX && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* Why line L (of part PART: 0 checks, 1 cables) is not one `up` reads,
 * or NULL; *PART moves to the cables at the netns line. */
static const char *line_problem(const struct line *l, int *part)
{
	unsigned char mac[6];
	unsigned id;

	if (*part == 0 && is_op(l, "check-env", 3))
		return strcmp(l->f[1], "OVERLAY_BOOT_CONF") ? "only OVERLAY_BOOT_CONF is checked" : NULL;
	if (*part == 0 && is_op(l, "check-stat", 3))
		return sig_ok(l->f[2]) ? NULL : "bad signature";
	if (*part == 0 && (is_op(l, "netns", 2) || is_op(l, "netns", 3))) {
		*part = 1;
		if (l->nf == 3 && strcmp(l->f[2], "private-users"))
			return "bad netns option";
		return netns_name_ok(l->f[1]) ? NULL : "bad namespace name";
	}
	if (*part == 1 && (is_op(l, "veth", 5) || is_op(l, "vlan", 5))) {
		int veth = l->f[0][0] == 'v' && l->f[0][1] == 'e';

		if (!ifname_ok(l->f[1]) || !ifname_ok(l->f[2]) ||
		    (strcmp(l->f[4], "-") && !ifname_ok(l->f[4])))
			return "bad interface name";
		if (veth && strcmp(l->f[3], "-") && !parse_mac(l->f[3], mac))
			return "bad MAC address";
		if (!veth && !parse_vlan(l->f[3], &id))
			return "bad VLAN id";
		return NULL;
	}
	return "not a line this program reads here";
}

/* Is every line one `up` reads, with its number of fields, in an order
 * it can use (checks first, netns before its cables)? On the first that
 * is not, say why (if LOUD) and return -1. */
static int plan_valid(const struct plan *p, int loud)
{
	int part = 0;

	for (int i = 0; i < p->n; i++) {
		const char *why = line_problem(&p->l[i], &part);

		if (why == NULL)
			continue;
		if (loud) {
			fprintf(stderr, PROG ": %s:%d: %s:", p->path, i + 1, why);
			for (int k = 0; k < p->l[i].nf; k++)
				fprintf(stderr, "%c%s", k ? '\t' : ' ', p->l[i].f[k]);
			fputc('\n', stderr);
		}
		return -1;
	}
	if (part == 0) {
		if (loud)
			fprintf(stderr, PROG ": %s: no netns line\n", p->path);
		return -1;
	}
	return 0;
}

static int check_main(const char *path)
{
	static struct plan p;

	if (plan_read(path, &p, "\t") != 0)
		failf(1, "cannot read %s: %s", path, strerror(errno));
	return plan_valid(&p, 1) == 0 ? 0 : 2;
}

/* Do the plan's check lines hold (the config and the files that chose
 * it are as they were when the plan was computed)? */
static int plan_holds(const struct plan *p)
{
	for (int i = 0; i < p->n && strncmp(p->l[i].f[0], "check-", 6) == 0; i++) {
		const struct line *l = &p->l[i];

		if (l->f[0][6] == 'e' ? !plan_env_holds(l->f[1], l->f[2]) : !plan_stat_holds(l->f[1], l->f[2]))
			return 0;
	}
	return 1;
}

static int state_fd = -1;

/* One line of STATE, written through before the thing it names is made:
 * a kill right after still leaves the record `down` needs. */
static void record(const char *what, const char *arg)
{
	char buf[16 + NETNS_NAME_MAX];	/* "netns NAME": the longest */
	int n = snprintf(buf, sizeof(buf), arg ? "%s %s\n" : "%s\n", what, arg);

	if (n < 0 || (size_t)n >= sizeof(buf) || write(state_fd, buf, (size_t)n) != n)
		die("cannot record in the state file", NULL);
}

/* Read one byte from FD into *C; 0 on EOF or error. */
static int read_byte(int fd, char *c)
{
	ssize_t r;

	while ((r = read(fd, c, 1)) < 0 && errno == EINTR)
		;
	return r == 1;
}

/*
 * CONTAINMENT=private-users: a new netns owned by a new user namespace
 * that maps 0-65535 to BASE-BASE+65535, bound on PATH. Only a process
 * inside a user namespace can make a netns it owns: a child unshares the
 * user namespace, this process (root on the host) writes its maps, and
 * the child makes the netns. setgroups stays allowed (the maps are
 * written by a privileged process): services inside call initgroups().
 * The bound netns keeps its owner alive; subhost-enter and overlay-go
 * find it again with NS_GET_USERNS, nothing else records it. *NSFD: the
 * netns, for the cables' peers, which this process moves in from the host.
 */
static int netns_in_userns(const char *path, unsigned long base, int *nsfd, char *msg, size_t len)
{
	int up[2], down[2], err = 0;
	char c, file[64], map[64];
	const char *step = "unshare the user namespace";
	pid_t pid;

	if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* 'u' unshared, 'n' netns made; on failure the errno instead. */
		close(up[0]);
		close(down[1]);	/* EOF on down[0]: the parent is done, or died */
		if (unshare(CLONE_NEWUSER) != 0)
			goto child_fail;
		c = 'u';
		if (write(up[1], &c, 1) != 1 || !read_byte(down[0], &c) || c != 'm')
			_exit(1);
		if (unshare(CLONE_NEWNET) != 0)
			goto child_fail;
		c = 'n';
		if (write(up[1], &c, 1) != 1)
			_exit(1);
		read_byte(down[0], &c);	/* until the parent is done with us */
		_exit(0);
child_fail:
		c = (char)errno;
		(void)!write(up[1], &c, 1);
		_exit(1);
	}
	close(up[1]);
	close(down[0]);
	if (!read_byte(up[0], &c) || c != 'u') {
		err = c;
		goto fail;
	}
	snprintf(map, sizeof(map), "0 %lu %lu\n", base, IDRANGE_SIZE);
	step = "write the id maps";
	for (int i = 0; i < 2; i++) {
		snprintf(file, sizeof(file), "/proc/%d/%s", (int)pid, i ? "gid_map" : "uid_map");
		int fd = open(file, O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map)) {
			err = errno;
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		close(fd);
	}
	c = 'm';
	step = "make the network namespace inside it";
	if (write(down[1], &c, 1) != 1 || !read_byte(up[0], &c) || c != 'n') {
		err = c;
		goto fail;
	}
	snprintf(file, sizeof(file), "/proc/%d/ns/net", (int)pid);
	step = "bind the network namespace";
	if ((*nsfd = open(file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    mount(file, path, "none", MS_BIND, NULL) != 0) {
		err = errno;
		goto fail;
	}
	close(down[1]);
	close(up[0]);
	waitpid(pid, NULL, 0);
	msg[0] = '\0';
	return 0;
fail:
	kill(pid, SIGKILL);
	close(down[1]);
	close(up[0]);
	waitpid(pid, NULL, 0);
	snprintf(msg, len, "CONTAINMENT=private-users: cannot %s (ids %lu-%lu): %s", step,
		 base, base + IDRANGE_SIZE - 1, err ? strerror(err) : "the helper process ended");
	return -1;
}

/*
 * /run/netns/NAME as `ip netns add NAME` makes it (iproute2's netns_add):
 * /run/netns a shared mount (a bind of itself the first time), so that
 * removing the file's mount in one mount namespace removes it in all;
 * the file made exclusively; a new netns bound onto it. The caller
 * stays in (returns to) its own netns; *NSFD is the new one's. On
 * failure, MSG says why as ip(8) would and nothing is left.
 */
static int netns_add(const char *name, long base, int *nsfd, char *msg, size_t len)
{
	char path[sizeof(NETNS_DIR "/") + NETNS_NAME_MAX];	/* names are checked to fit */
	int self, lock, fd, made_dir_mount = 0;

	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	if (mkdir(NETNS_DIR, 0755) != 0 && errno != EEXIST) {
		snprintf(msg, len, "mkdir " NETNS_DIR " failed: %s", strerror(errno));
		return -1;
	}
	/* Only one process at a time makes the directory a mount point:
	 * parallel starts would stack binds on it (Debian bug #949235). */
	if ((lock = open(NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		flock(lock, LOCK_EX);
	while (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) != 0) {
		if (errno != EINVAL || made_dir_mount) {
			snprintf(msg, len, "mount --make-shared " NETNS_DIR " failed: %s", strerror(errno));
			goto unlock_fail;
		}
		/* EINVAL: not a mount point yet. */
		if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) != 0) {
			snprintf(msg, len, "mount --bind " NETNS_DIR " " NETNS_DIR " failed: %s", strerror(errno));
			goto unlock_fail;
		}
		made_dir_mount = 1;
	}
	if (lock >= 0)
		close(lock);

	if ((fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)) < 0) {
		snprintf(msg, len, "Cannot create namespace file \"%s\": %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	if (base >= 0) {
		if (netns_in_userns(path, (unsigned long)base, nsfd, msg, len) == 0)
			return 0;
		goto remove;
	}
	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(msg, len, "cannot open /proc/self/ns/net: %s", strerror(errno));
		goto remove;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(msg, len, "Failed to create a new network namespace \"%s\": %s", name, strerror(errno));
		close(self);
		goto remove;
	}
	*nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) != 0)
		snprintf(msg, len, "Bind /proc/self/ns/net -> %s failed: %s", path, strerror(errno));
	else if (*nsfd < 0)
		snprintf(msg, len, "cannot open the new /proc/self/ns/net: %s", strerror(errno));
	else
		msg[0] = '\0';
	/* Back to the host's netns: the cables' host ends are made there. */
	if (setns(self, CLONE_NEWNET) != 0)
		die("cannot return to the host network namespace", NULL);
	close(self);
	if (msg[0] == '\0')
		return 0;
remove:
	umount2(path, MNT_DETACH);
	unlink(path);
	return -1;
unlock_fail:
	if (lock >= 0)
		close(lock);
	return -1;
}

/* Run PROG ARG (argv[0] found in PATH) and wait; its exit status, 127 if
 * it could not be started. QUIET: its output to /dev/null. */
static int run(const char *const argv[], int quiet)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 127;
	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Is PROG an executable in PATH? */
static int in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];

	if (path == NULL)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, path, prog);
		if (n && access(dir, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* Does ifupdown configure HOST (as `ifquery HOST` would say)? Read from
 * its files; only a mapping stanza, which runs a script, asks ifquery. */
static int ifupdown_knows(const char *host)
{
	switch (ifupdown_stanza(INTERFACES, host)) {
	case STANZA_IFACE:
		return 1;
	case STANZA_MAPPING: {
		const char *argv[] = { "ifquery", host, NULL };

		return run(argv, 1) == 0;
	}
	default:
		return 0;
	}
}

/* The ip(8) command a step stands for: errors name the cable and the
 * step in the words the sh version (and its tests) used. */
static void fail_step(const char *desc, const char *what)
{
	const char *hint = "";

	if (strstr(desc, "type vlan") && strstr(what, "Unknown device type"))
		hint = " (this kernel has no 802.1Q VLAN support: CONFIG_VLAN_8021Q)";
	fprintf(stderr, "%s: %s%s\n", desc, what, hint);
	exit(1);
}

static int ifindex(const char *name, char *what, size_t len)
{
	int i = (int)if_nametoindex(name);

	if (i == 0)
		snprintf(what, len, "Cannot find device \"%s\"", name);
	return i;
}

/* A run error: one line, as the sh version printed it (no prefix). */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Is the name of link NAME taken in this network namespace? Asked of the
 * kernel's name table (as creating it would), not of /sys/class/net: a
 * link being dismantled leaves the table before its sysfs entry does. */
static int link_exists(int sock, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ioctl(sock, SIOCGIFINDEX, &ifr) == 0;
}

/* Refuse before making anything: names in use, missing bridges. */
static void precheck(const struct plan *p)
{
	char path[PATH_MAX];
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	for (int i = 0; i < p->n; i++) {
		const struct line *l = &p->l[i];

		if (is_op(l, "netns", 2) || is_op(l, "netns", 3)) {
			snprintf(path, sizeof(path), NETNS_DIR "/%s", l->f[1]);
			if (access(path, F_OK) == 0)
				fail("network namespace %s already exists (not made by this unit): a subhost %s "
				     "still running under overlay-boot 1.6? stop it with its overlay-stop; "
				     "else remove it with \"ip netns delete %s\" if it is stale",
				     l->f[1], l->f[1], l->f[1]);
		} else if (is_op(l, "veth", 5) || is_op(l, "vlan", 5)) {
			if (sock < 0)
				die("cannot open a socket", NULL);
			if (link_exists(sock, l->f[1]))
				fail("host interface %s already exists: another subhost or a leftover uses that name",
				     l->f[1]);
			snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", l->f[4]);
			if (strcmp(l->f[4], "-") && access(path, F_OK) != 0) {
				if (link_exists(sock, l->f[4]))
					fail("CABLES: %s is not a bridge (the host end %s can only join a bridge)",
					     l->f[4], l->f[1]);
				fail("CABLES: bridge %s for %s does not exist", l->f[4], l->f[1]);
			}
		}
	}
	if (sock >= 0)
		close(sock);
}

/* Make what plan P describes, recording each thing in STATE first. */
static int up_run(const char *state, struct plan *p)
{
	char desc[256], what[512];
	const char *name = NULL;
	int nl, nsfd = -1, hosts = 0;

	if (plan_valid(p, 1) != 0)
		return 2;
	precheck(p);
	if ((state_fd = open(state, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		die("cannot open", state);
	/* Before the netns: its socket belongs to the host's netns. */
	if ((nl = rtnl_open()) < 0)
		die("cannot open a netlink socket", NULL);
	for (int i = 0; i < p->n; i++) {
		struct line *l = &p->l[i];
		unsigned char mac[6], host_mac[6];
		unsigned id;
		int parent;

		if (is_op(l, "netns", 2) || is_op(l, "netns", 3)) {
			unsigned long base;

			name = l->f[1];
			/* The range first: a start that cannot have one makes nothing. */
			if (l->nf == 3 && idrange_claim(name, &base, what, sizeof(what)) != 0)
				fail("CONTAINMENT=private-users: %s", what);
			record("netns", name);
			/* lo is brought up by the subhost's own start (subhost-enter
			 * link-up, already inside the netns). */
			if (netns_add(name, l->nf == 3 ? (long)base : -1, &nsfd, what, sizeof(what)) != 0) {
				snprintf(desc, sizeof(desc), "ip netns add %s", name);
				fail_step(desc, what);
			}
		} else if (is_op(l, "veth", 5)) {
			int has_mac = strcmp(l->f[3], "-") != 0;

			record("link", l->f[1]);
			snprintf(desc, sizeof(desc), "CABLES: cannot create %s: ip link add %s type veth peer name %s%s%s netns %s",
				 l->f[1], l->f[1], l->f[2], has_mac ? " address " : "", has_mac ? l->f[3] : "", name);
			if (has_mac)
				parse_mac(l->f[3], mac);
			host_end_mac(name ? name : "", l->f[1], host_mac);
			if (rtnl_add_veth(nl, l->f[1], host_mac, l->f[2], has_mac ? mac : NULL, nsfd) != 0)
				fail_step(desc, rtnl_error);
			hosts++;
		} else if (is_op(l, "vlan", 5)) {
			record("link", l->f[1]);
			snprintf(desc, sizeof(desc), "CABLES: cannot create %s: ip link add link %s name %s type vlan id %s",
				 l->f[1], l->f[2], l->f[1], l->f[3]);
			parse_vlan(l->f[3], &id);
			if ((parent = ifindex(l->f[2], what, sizeof(what))) == 0)
				fail_step(desc, what);
			if (rtnl_add_vlan(nl, l->f[1], parent, id) != 0)
				fail_step(desc, rtnl_error);
			hosts++;
		}
	}
	/* Up (and on their bridge) once all exist, as the sh batch did. */
	for (int i = 0; i < p->n; i++) {
		struct line *l = &p->l[i];
		int br = strcmp(l->f[0], "netns") && l->nf == 5 && strcmp(l->f[4], "-");
		int index, master = 0;

		if (!is_op(l, "veth", 5) && !is_op(l, "vlan", 5))
			continue;
		if (br)
			snprintf(desc, sizeof(desc), "CABLES: cannot attach %s to bridge %s", l->f[1], l->f[4]);
		else
			snprintf(desc, sizeof(desc), "cannot bring %s up", l->f[1]);
		if ((index = ifindex(l->f[1], what, sizeof(what))) == 0 ||
		    (br && (master = ifindex(l->f[4], what, sizeof(what))) == 0))
			fail_step(desc, what);
		if (rtnl_set_up(nl, index, master) != 0)
			fail_step(desc, rtnl_error);
	}
	/* Host ends ifupdown knows are configured by ifup, as 1.6 did; found
	 * in its files, so that no ifquery runs for the others. */
	if (hosts && access(INTERFACES, F_OK) == 0 && in_path("ifup")) {
		for (int i = 0; i < p->n; i++) {
			struct line *l = &p->l[i];
			const char *argv[] = { "ifup", l->f[1], NULL };
			int r;

			if ((!is_op(l, "veth", 5) && !is_op(l, "vlan", 5)) || strcmp(l->f[4], "-") ||
			    !ifupdown_knows(l->f[1]))
				continue;
			record("ifup", l->f[1]);
			if ((r = run(argv, 0)) != 0)
				fail("ifup %s failed (exit status %d)", l->f[1], r);
		}
	}
	return 0;
}

/* The path of program NAME installed beside this one (LIBDIR). */
static void sibling(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		die("cannot read", "/proc/self/exe");
	self[n] = '\0';
	snprintf(buf, len, "%.*s/%s", (int)(strrchr(self, '/') - self), self, name);
}

static int up_main(int argc, char **argv)
{
	static struct plan p;
	char runtime[PATH_MAX + 32];

	if (argc >= 1 && strcmp(argv[0], "--run") == 0) {
		if (argc != 4)
			usage_error("up --run takes NAME STATE PLAN");
		if (plan_read(argv[3], &p, "\t") != 0)
			failf(1, "cannot read %s: %s", argv[3], strerror(errno));
		return up_run(argv[2], &p);
	}
	if (argc < 2)
		usage_error("up takes NAME STATE PLAN...");
	for (int i = 2; i < argc; i++) {
		/* A plan that is missing, stale or not one this program reads
		 * (written by another version) is recomputed by the runtime. */
		if (argv[i][0] && plan_read(argv[i], &p, "\t") == 0 && plan_valid(&p, 0) == 0 && plan_holds(&p))
			return up_run(argv[1], &p);
	}
	/* The runtime computes the plan and calls back with up --run. */
	sibling("overlay-boot-runtime.cjs", runtime, sizeof(runtime));
	execl(runtime, runtime, "netns-up", argv[0], (char *)NULL);
	die("cannot run", runtime);
}

/* How long `down` leaves the kernel to take the host ends away with the
 * netns before deleting them itself. */
#define LINK_GRACE_MS 250

/*
 * Undo what STATE records: ifdown what was ifup'ed (while the links
 * exist: its scripts may need them), remove the named netns, then see the
 * host links gone. Removing the netns (as `ip netns delete`) lets the
 * kernel dismantle it in the background, the veth pairs (and VLANs on
 * their host ends) with it, many namespaces in one batch: their names are
 * free within a few milliseconds (50 stopped at once: all within about
 * 110 ms), while deleting a link here waits for RCU grace periods under
 * the RTNL lock (15-40 ms each, one at a time). So the links are deleted
 * only if still there after LINK_GRACE_MS (the netns kept alive by a
 * process, or made without one): either way their names are free when
 * `down` ends, and a restart finds them so. The wait sleeps until the
 * kernel announces a link change (RTMGRP_LINK, subscribed before the
 * netns goes): 200 stops at once must not poll.
 */
/* A socket told of every link change in this netns, or -1 (then: poll). */
static int link_monitor(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Until the next link change (what it was does not matter: the caller
 * looks again), or at most MS milliseconds. */
static void wait_link_change(int mon, int ms)
{
	struct pollfd p = { .fd = mon, .events = POLLIN };
	char buf[8192];

	if (mon < 0) {
		usleep(1000);
		return;
	}
	if (poll(&p, 1, ms) > 0)
		while (recv(mon, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;	/* drained: ENOBUFS (missed messages) only means look again */
}

static void down_links(const char *name, const char *state)
{
	static struct plan st;
	char path[PATH_MAX];
	const char *netns = NULL;
	int nl = -1, sock, left, mon;
	long long until;

	if (plan_read(state, &st, " ") != 0)
		return;	/* nothing was made */
	for (int i = st.n - 1; i >= 0; i--) {
		const char *ifdown[] = { "ifdown", "--force", st.l[i].f[1], NULL };

		if (is_op(&st.l[i], "ifup", 2))
			run(ifdown, 1);
	}
	/* "netns NAME" (a bare "netns": NAME is the unit's, as the sh
	 * version recorded it before an upgrade). */
	for (int i = 0; i < st.n; i++) {
		if (is_op(&st.l[i], "netns", 1))
			netns = name;
		else if (is_op(&st.l[i], "netns", 2))
			netns = st.l[i].f[1];
	}
	mon = link_monitor();
	if (netns && netns_name_ok(netns)) {
		snprintf(path, sizeof(path), NETNS_DIR "/%s", netns);
		umount2(path, MNT_DETACH);
		if (unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, PROG ": cannot remove %s: %s\n", path, strerror(errno));
	}
	if ((sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		die("cannot open a socket", NULL);
	for (until = now_ms() + LINK_GRACE_MS;;) {
		long long rest = until - now_ms();

		left = 0;
		for (int i = 0; i < st.n; i++)
			if (is_op(&st.l[i], "link", 2) && link_exists(sock, st.l[i].f[1]))
				left++;
		if (left == 0 || rest <= 0)
			break;
		wait_link_change(mon, (int)rest);
	}
	for (int i = 0; left && i < st.n; i++) {
		if (!is_op(&st.l[i], "link", 2) || !link_exists(sock, st.l[i].f[1]))
			continue;
		if (nl < 0 && (nl = rtnl_open()) < 0)
			die("cannot open a netlink socket", NULL);
		if (rtnl_del(nl, st.l[i].f[1]) != 0)
			fprintf(stderr, PROG ": cannot delete %s: %s\n", st.l[i].f[1], rtnl_error);
	}
}

/*
 * UNDO is the subhost's undo journal (native/journal.c): a start of it
 * that did not succeed left one, replayed here, as this unit stops right
 * after the subhost does. subhost-enter does that; it is exec'd only when
 * there is a journal, so that a normal stop costs no second process.
 */
static int down_main(int argc, char **argv)
{
	char enter[PATH_MAX + 32];

	if (argc != 2 && argc != 3)
		usage_error("down takes NAME STATE [UNDO]");
	down_links(argv[0], argv[1]);
	if (argc == 3 && access(argv[2], F_OK) == 0) {
		sibling("subhost-enter", enter, sizeof(enter));
		execl(enter, enter, "--undo", argv[2], (char *)NULL);
		die("cannot run", enter);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "up") == 0)
		return up_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "down") == 0)
		return down_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "--check") == 0) {
		if (argc != 3)
			usage_error("--check takes one PLAN");
		return check_main(argv[2]);
	}
	if (argc == 3 && strcmp(argv[1], "--holds") == 0) {
		static struct plan p;

		return plan_read(argv[2], &p, "\t") == 0 && plan_valid(&p, 0) == 0 && plan_holds(&p) ? 0 : 1;
	}
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "--ifupdown-stanza") == 0) {
		switch (ifupdown_stanza(argc == 4 ? argv[3] : INTERFACES, argv[2])) {
		case STANZA_IFACE: return 0;
		case STANZA_MAPPING: return 3;
		default: return 1;
		}
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	usage_error("no such command");
}
