/*
 * rtnl.c - rtnetlink requests for subhost-netns: one socket, one request
 * at a time, each acknowledged (NLM_F_ACK) so that its error belongs to
 * the step that made it. No library: a request is a struct nlmsghdr, a
 * struct ifinfomsg and attributes, nested as rtnetlink(7) describes.
 */

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtnl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

char rtnl_error[256];

/* One request: header, link message, attributes. One buffer (not a
 * struct of the three), so that attributes are written inside an object
 * the compiler knows the size of. */
struct req {
	union {
		struct nlmsghdr nh;
		char buf[1024];
	};
};

static struct ifinfomsg *ifi(struct req *r) { return NLMSG_DATA(&r->nh); }

int rtnl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int one = 1;

	if (fd < 0)
		return -1;
	/* The kernel's own message ("Unknown device type") names the cause
	 * better than errno; with CAP_ACK the ACK does not echo the request. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return fd;
}

static void req_init(struct req *r, int type, int flags)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r->nh.nlmsg_type = (unsigned short)type;
	r->nh.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	ifi(r)->ifi_family = AF_UNSPEC;
}

/* Append attribute TYPE (LEN bytes of DATA) at the end of the message.
 * The buffer holds every request made here many times over. */
static struct rtattr *put(struct req *r, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(r->buf + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void put_str(struct req *r, int type, const char *s) { put(r, type, s, strlen(s) + 1); }
static void put_u32(struct req *r, int type, unsigned v) { put(r, type, &v, sizeof(v)); }

/* A nest is an attribute whose length is fixed once its content is in. */
static struct rtattr *nest(struct req *r, int type) { return put(r, type, NULL, 0); }
static void nest_end(struct req *r, struct rtattr *a)
{
	a->rta_len = (unsigned short)(r->buf + r->nh.nlmsg_len - (char *)a);
}

/* The kernel's message from the extended ACK's attributes, if any. */
static const char *ext_ack_msg(struct nlmsghdr *h, struct nlmsgerr *e)
{
	struct nlattr *a;
	int left;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	/* CAP_ACK: only the request's header follows the error, unless the
	 * kernel did not honour it (NLM_F_CAPPED says which). */
	a = (struct nlattr *)((char *)e + sizeof(*e) +
			      ((h->nlmsg_flags & NLM_F_CAPPED) ? 0 :
			       NLMSG_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr))));
	left = (int)((char *)h + h->nlmsg_len - (char *)a);
	while (left >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
			return (const char *)a + NLA_HDRLEN;
		left -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return NULL;
}

/* Send R, read its ACK. */
static int talk(int fd, struct req *r)
{
	static unsigned seq;
	char buf[8192];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	r->nh.nlmsg_seq = ++seq;
	rtnl_error[0] = '\0';
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		goto fail;
	for (;;) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		for (; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			struct nlmsgerr *e = NLMSG_DATA(h);
			const char *msg;
			size_t len;

			if (h->nlmsg_seq != r->nh.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (e->error == 0)
				return 0;
			errno = -e->error;
			if ((msg = ext_ack_msg(h, e)) != NULL && (len = strlen(msg)) > 0) {
				/* As ip(8) prints it: "Error: MSG." */
				snprintf(rtnl_error, sizeof(rtnl_error), "Error: %s%s", msg,
					 msg[len - 1] == '.' ? "" : ".");
				return -1;
			}
			goto fail;
		}
	}
fail:
	snprintf(rtnl_error, sizeof(rtnl_error), "RTNETLINK answers: %s", strerror(errno));
	return -1;
}

int rtnl_add_veth(int fd, const char *host, const unsigned char *host_mac, const char *peer, const unsigned char *mac, int nsfd)
{
	struct req r;
	struct rtattr *info, *data, *p;
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };

	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_str(&r, IFLA_IFNAME, host);
	if (host_mac)
		put(&r, IFLA_ADDRESS, host_mac, 6);
	info = nest(&r, IFLA_LINKINFO);
	put_str(&r, IFLA_INFO_KIND, "veth");
	data = nest(&r, IFLA_INFO_DATA);
	/* The peer is a link message of its own: ifinfomsg, then attributes. */
	p = put(&r, VETH_INFO_PEER, &peer_ifi, sizeof(peer_ifi));
	put_str(&r, IFLA_IFNAME, peer);
	if (mac)
		put(&r, IFLA_ADDRESS, mac, 6);
	put_u32(&r, IFLA_NET_NS_FD, (unsigned)nsfd);
	nest_end(&r, p);
	nest_end(&r, data);
	nest_end(&r, info);
	return talk(fd, &r);
}

int rtnl_add_vlan(int fd, const char *name, int parent, unsigned id)
{
	struct req r;
	struct rtattr *info, *data;
	unsigned short vid = (unsigned short)id;

	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_u32(&r, IFLA_LINK, (unsigned)parent);
	put_str(&r, IFLA_IFNAME, name);
	info = nest(&r, IFLA_LINKINFO);
	put_str(&r, IFLA_INFO_KIND, "vlan");
	data = nest(&r, IFLA_INFO_DATA);
	put(&r, IFLA_VLAN_ID, &vid, sizeof(vid));
	nest_end(&r, data);
	nest_end(&r, info);
	return talk(fd, &r);
}

int rtnl_set_up(int fd, int index, int master)
{
	struct req r;

	req_init(&r, RTM_NEWLINK, 0);
	ifi(&r)->ifi_index = index;
	ifi(&r)->ifi_flags = IFF_UP;
	ifi(&r)->ifi_change = IFF_UP;
	if (master > 0)
		put_u32(&r, IFLA_MASTER, (unsigned)master);
	return talk(fd, &r);
}

int rtnl_del(int fd, const char *name)
{
	struct req r;

	req_init(&r, RTM_DELLINK, 0);
	put_str(&r, IFLA_IFNAME, name);
	if (talk(fd, &r) == 0 || errno == ENODEV)
		return 0;
	return -1;
}
