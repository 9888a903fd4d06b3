/*
 * subhost-addrs NAME... - the addresses inside the network namespaces
 * /run/netns/NAME, for `overlay-boot list` and `status`: one process for
 * every subhost (1.6's way, `ip -n NAME addr` per subhost, costs a process
 * and a mount namespace of its own each: ip(8) remounts /sys for -n).
 *
 * For each NAME, in order:
 *   NAME<TAB>ok                                   the namespace was read
 *   NAME<TAB>IFNAME<TAB>inet|inet6<TAB>ADDR/PLEN  an address (loopback links left out)
 * or
 *   NAME<TAB>error<TAB>MESSAGE                    no such namespace, not allowed...
 * Addresses come link by link in the kernel's link order, each link's in
 * the kernel's address order: what `ip -j addr show` lists.
 *
 * How: setns(CLONE_NEWNET) into each namespace in turn; a netlink socket
 * belongs to the namespace it was created in, so each NAME gets its own
 * socket and nothing is entered but the network namespace (no mount
 * namespace, no fork). Never returns to the caller's namespace: nothing
 * after the dumps needs it. Needs CAP_SYS_ADMIN (root); anyone else gets
 * an error line per NAME (the commands then ask systemd-machined).
 *
 * Static like the other helpers.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "common.h"

const char prog_name[] = "subhost-addrs";
const char usage_text[] =
	"Usage: subhost-addrs NAME...\n"
	"Prints the addresses inside /run/netns/NAME for each NAME (see the source).\n";

#define NETNS_DIR "/run/netns"

struct link {
	int index;
	unsigned flags;
	char name[IF_NAMESIZE];
};

struct addr {
	int index;
	int family;
	unsigned char prefixlen;
	char text[INET6_ADDRSTRLEN];
};

struct dump {
	struct link *links;
	size_t nlinks, caplinks;
	struct addr *addrs;
	size_t naddrs, capaddrs;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * size);
	if (!p)
		die("realloc", NULL);
	return p;
}

static void on_link(struct dump *d, struct nlmsghdr *h)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	d->links = grow(d->links, &d->caplinks, d->nlinks, sizeof(*d->links));
	struct link *l = &d->links[d->nlinks];
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->name[0] = 0;
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME)
			snprintf(l->name, sizeof(l->name), "%.*s", (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
	d->nlinks++;
}

static void on_addr(struct dump *d, struct nlmsghdr *h)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa));
	void *local = NULL, *address = NULL;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return;
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_LOCAL)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS)
			address = RTA_DATA(a);
	}
	/* ip(8)'s "local": IFA_LOCAL where there is one (IPv4, and the
	 * local end of a point-to-point address), else IFA_ADDRESS. */
	void *raw = local ? local : address;
	if (!raw)
		return;
	d->addrs = grow(d->addrs, &d->capaddrs, d->naddrs, sizeof(*d->addrs));
	struct addr *x = &d->addrs[d->naddrs];
	x->index = ifa->ifa_index;
	x->family = ifa->ifa_family;
	x->prefixlen = ifa->ifa_prefixlen;
	if (!inet_ntop(ifa->ifa_family, raw, x->text, sizeof(x->text)))
		return;
	d->naddrs++;
}

/* One RTM_GETLINK or RTM_GETADDR dump on FD; 0, or an errno value. */
static int dump(int fd, int type, struct dump *d)
{
	struct {
		struct nlmsghdr h;
		union {
			struct ifinfomsg link;
			struct ifaddrmsg addr;
		};
	} req;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = type;
	req.h.nlmsg_len = NLMSG_LENGTH(type == RTM_GETLINK ? sizeof(req.link) : sizeof(req.addr));
	if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
		return errno;
	static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EPROTO;
		int len = n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error ? -e->error : EPROTO;
			}
			if (h->nlmsg_type == RTM_NEWLINK)
				on_link(d, h);
			else if (h->nlmsg_type == RTM_NEWADDR)
				on_addr(d, h);
		}
	}
}

/* The addresses of NAME's namespace, or an error line. */
static void one(int dir, const char *name)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		printf("%s\terror\tnot a subhost name\n", name);
		return;
	}
	/* O_NOFOLLOW: /run/netns/NAME is the namespace's bind mount, never a link. */
	int ns = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (ns < 0) {
		printf("%s\terror\t%s/%s: %s\n", name, NETNS_DIR, name, strerror(errno));
		return;
	}
	/* EINVAL if it is some other file: only a network namespace is entered. */
	int r = setns(ns, CLONE_NEWNET);
	int err = errno;
	close(ns);
	if (r < 0) {
		printf("%s\terror\tsetns %s/%s: %s\n", name, NETNS_DIR, name, strerror(err));
		return;
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		printf("%s\terror\tnetlink socket: %s\n", name, strerror(errno));
		return;
	}
	struct dump d = { 0 };
	if ((err = dump(fd, RTM_GETLINK, &d)) || (err = dump(fd, RTM_GETADDR, &d))) {
		printf("%s\terror\tnetlink dump: %s\n", name, strerror(err));
	} else {
		printf("%s\tok\n", name);
		for (size_t i = 0; i < d.nlinks; i++) {
			const struct link *l = &d.links[i];
			if (l->flags & IFF_LOOPBACK)
				continue;
			for (size_t j = 0; j < d.naddrs; j++) {
				const struct addr *a = &d.addrs[j];
				if (a->index == l->index)
					printf("%s\t%s\t%s\t%s/%u\n", name, l->name, a->family == AF_INET ? "inet" : "inet6",
					       a->text, a->prefixlen);
			}
		}
	}
	free(d.links);
	free(d.addrs);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		if (argc < 2)
			usage_error("no NAME given");
		fputs(usage_text, stdout);
		return 0;
	}
	int dir = open(NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 1; i < argc; i++) {
		if (dir < 0)
			printf("%s\terror\t%s: %s\n", argv[i], NETNS_DIR, strerror(errno));
		else
			one(dir, argv[i]);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die("write", "stdout");
	return 0;
}
