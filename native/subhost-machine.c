/*
 * subhost-machine NAME: registers the running subhost NAME with
 * systemd-machined (org.freedesktop.machine1), so that machinectl and
 * other machine1 clients see it: class container, the reaper (the unit's
 * main PID, from its PIDFile) as leader, LIVE as root directory and the
 * host ends of its cables as network interfaces. machined takes the unit
 * (subhost@NAME.service) from the leader's cgroup and forgets the machine
 * when that unit stops, fails or is killed.
 *
 * Run by subhost-machine@NAME.service once the subhost is up, off its
 * start path. Without machined (not installed, masked, or NAME not a
 * valid machine name) it exits 0 with at most a line in the journal:
 * registration is a convenience, never a reason for a failed unit.
 *
 * Dynamically linked with libsystemd (sd-bus), unlike the static helpers:
 * it only ever runs on the host, next to the systemd it talks to.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#define MAX_LINKS 64

static int valid_name(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l > 64)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

/* A whole small file, NUL-terminated; NULL when missing or unreadable. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (!buf) {
			close(fd);
			return NULL;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/*
 * LIVE from the start plan subhost-enter ran (NUL-separated argv, see
 * runtime/plan.ts): the first argument of "enter" that is not an option.
 * Display only: machined enters the leader's own root for copy-to/from.
 */
static char *live_from_plan(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len);
	if (!buf)
		return NULL;
	char *end = buf + len, *p = buf, *live = NULL;
	int in_enter = 0;
	while (p < end) {
		char *tok = p;
		p += strlen(p) + 1;
		if (!in_enter) {
			in_enter = strcmp(tok, "enter") == 0;
			continue;
		}
		if (strcmp(tok, "--hostname") == 0 || strcmp(tok, "--pidfile") == 0) {
			if (p < end)
				p += strlen(p) + 1;
			continue;
		}
		if (strncmp(tok, "--", 2) == 0)
			continue;
		live = strdup(tok);
		break;
	}
	free(buf);
	return live;
}

/* machine-id(5) of the file FD: 32 hex digits (and a newline); 0 or -1. */
static int read_id(int fd, sd_id128_t *id)
{
	char buf[34];
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (n = read(fd, buf, sizeof(buf) - 1)) < 32) {
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	if (n == 33 && buf[32] == '\n')
		buf[32] = '\0';
	return sd_id128_from_string(buf, id) == 0 && !sd_id128_is_null(*id) ? 0 : -1;
}

/*
 * The subhost's own machine id: its /etc/machine-id, which subhost-enter
 * read inside its root at the start (RESOLVE_IN_ROOT, never blocking) and
 * left beside the pidfile when it is not the host's: this unit has no
 * capability, so the leader's root (/proc/PID/root) is out of its reach.
 * None when there is no such file: machined would otherwise show two
 * machines with the host's id.
 */
static int subhost_id(const char *name, sd_id128_t *id)
{
	char path[256];

	snprintf(path, sizeof path, "/run/subhost/%s/machine-id", name);
	return read_id(open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), id);
}

int main(int argc, char **argv)
{
	if (argc != 2 || !valid_name(argv[1])) {
		fprintf(stderr, "usage: subhost-machine NAME\n");
		return 2;
	}
	const char *name = argv[1];
	char path[256];

	snprintf(path, sizeof path, "/run/subhost/%s/pid", name);
	char *pidtext = slurp(path, NULL);
	long leader = pidtext ? strtol(pidtext, NULL, 10) : 0;
	free(pidtext);
	if (leader <= 1) {
		fprintf(stderr, "subhost-machine: %s is not running (no %s)\n", name, path);
		return 0;
	}

	/* The plan the unit's ExecStart tried first, then the generator's. */
	char *live = NULL;
	snprintf(path, sizeof path, "/run/overlay-boot/plans/%s.start", name);
	live = live_from_plan(path);
	if (!live) {
		snprintf(path, sizeof path, "/run/systemd/generator/overlay-boot/%s.start", name);
		live = live_from_plan(path);
	}

	/* Host ends: the "link IFNAME" lines subhost-netns recorded. */
	int32_t ifindex[MAX_LINKS];
	size_t nif = 0;
	snprintf(path, sizeof path, "/run/subhost-netns/%s/state", name);
	char *state = slurp(path, NULL);
	for (char *line = state ? strtok(state, "\n") : NULL; line && nif < MAX_LINKS; line = strtok(NULL, "\n")) {
		if (strncmp(line, "link ", 5) != 0)
			continue;
		unsigned idx = if_nametoindex(line + 5);
		if (idx)
			ifindex[nif++] = (int32_t)idx;
	}
	free(state);

	sd_bus *bus = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr, "subhost-machine: system bus: %s\n", strerror(-r));
		return 0;
	}
	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.machine1", "/org/freedesktop/machine1",
					   "org.freedesktop.machine1.Manager", "RegisterMachineWithNetwork");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", name);
	/* Its own id, when it has one; else none (machined shows none). */
	sd_id128_t id;
	int has_id = subhost_id(name, &id) == 0;
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', has_id ? id.bytes : NULL, has_id ? sizeof id.bytes : 0);
	if (r >= 0)
		r = sd_bus_message_append(m, "ssus", "overlay-boot", "container", (uint32_t)leader, live ? live : "");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'i', ifindex, nif * sizeof ifindex[0]);
	if (r < 0) {
		fprintf(stderr, "subhost-machine: message: %s\n", strerror(-r));
		return 0;
	}
	r = sd_bus_call(bus, m, 0, &err, &reply);
	if (r < 0) {
		/* machined not installed or masked: say nothing, as without it. */
		if (!sd_bus_error_has_names(&err, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
					   "org.freedesktop.systemd1.UnitMasked", "org.freedesktop.DBus.Error.Spawn.ServiceNotFound"))
			fprintf(stderr, "subhost-machine: %s not registered with systemd-machined: %s\n", name,
				err.message ? err.message : strerror(-r));
		return 0;
	}
	return 0;
}
