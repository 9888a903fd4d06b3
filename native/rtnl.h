/*
 * rtnl.h - the few rtnetlink requests subhost-netns makes (what
 * `ip link add/set/delete` would send), over one NETLINK_ROUTE socket.
 * Each returns 0, or -1 with errno set and rtnl_error holding the line
 * ip(8) would print for it ("Error: MESSAGE." when the kernel said why,
 * else "RTNETLINK answers: strerror").
 */
#ifndef OVERLAY_BOOT_RTNL_H
#define OVERLAY_BOOT_RTNL_H

extern char rtnl_error[256];

/* A NETLINK_ROUTE socket in the caller's network namespace, asking the
 * kernel for its error messages (extended ACK); -1 with errno. */
int rtnl_open(void);

/* veth pair HOST <-> PEER; PEER gets MAC (6 bytes, or NULL: the kernel's
 * random one) and is moved into the network namespace NSFD. */
int rtnl_add_veth(int fd, const char *host, const unsigned char *host_mac, const char *peer, const unsigned char *mac, int nsfd);

/* VLAN NAME with ID on the link with index PARENT. */
int rtnl_add_vlan(int fd, const char *name, int parent, unsigned id);

/* Link INDEX up, and enslaved to link MASTER first when MASTER > 0: one
 * request, as `ip link set DEV master BR up`. */
int rtnl_set_up(int fd, int index, int master);

/* Delete link NAME; a missing one is not an error. */
int rtnl_del(int fd, const char *name);

#endif
