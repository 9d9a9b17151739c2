/* Internal declarations shared by the lwip-wasm C glue. What crosses into TypeScript
 * (exports, imports, records, enums) is declared in abi.h, which this includes; the
 * boundary's contract (errno returns, borrowed pointers) is stated there. */
#ifndef LW_H
#define LW_H

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "abi.h"

/* Marks a definition that abi.h's LW_EXPORTS lists (the linker exports that list). */
#define LW_EXPORT

/* An entry in the change stream (change.c): an object JS may be waiting on. It is
 * queued at most once, carries the latest events posted, and leaves the queue when its
 * owner goes away. */
struct lw_changer {
  struct lw_changer *next, *prev;
  s32_t id;
  u32_t events;
  u8_t kind;      /* LW_CHANGE_* */
  u8_t queued;
};
void change_init(struct lw_changer *c, u8_t kind, s32_t id);
void change_post(struct lw_changer *c, u32_t events);
void change_drop(struct lw_changer *c);

/* Socket states, a reduced form of Linux's sk_state. */
enum lw_state {
  LS_OPEN = 0,      /* created, maybe bound, never connected */
  LS_LISTEN,
  LS_CONNECTING,
  LS_CONNECTED,
  LS_CLOSED         /* was connected (or tried); connection over */
};

/* sock->flags */
#define SF_RD_SHUT   0x01u  /* shutdown(SHUT_RD) */
#define SF_WR_SHUT   0x02u  /* shutdown(SHUT_WR), or the connection ended */
#define SF_EOF       0x04u  /* the peer's FIN arrived */
#define SF_BOUND     0x10u
#define SF_UDP_CONN  0x20u  /* connected UDP socket */
#define SF_FIN       0x40u  /* the peer's FIN itself arrived (not just "the stream ended") */

/* A layer over a stream socket: while s->layer is set, the socket calls carry its
 * plaintext, and it reads and writes the TCP byte stream below with tcp_sock_recv and
 * tcp_sock_send. TLS is one (wasm/tls/tls_sock.c, in lwip-tls.wasm only); the plain
 * build never sets one, so it links none of this. */
struct lw_sock;
struct lw_layer_ops {
  int (*send)(struct lw_sock *s, const u8_t *buf, u32_t len, int flags);
  int (*recv)(struct lw_sock *s, u8_t *buf, u32_t len, int flags);
  int (*shutdown)(struct lw_sock *s, int how);
  int (*pending)(const struct lw_sock *s);
  /* Moves the layer on (the TCP side changed), then gives its readiness from TCP's. */
  u32_t (*events)(struct lw_sock *s, u32_t tcp_events);
  /* Before the TCP close: says goodbye if it can, and frees the layer. */
  void (*close)(struct lw_sock *s);
};
struct lw_layer {
  const struct lw_layer_ops *ops;
};

struct lw_dgram {
  struct lw_dgram *next;
  struct pbuf *p;
  ip_addr_t from;
  u16_t port;
};

struct lw_sock {
  int fd;                 /* -1 while waiting in an accept queue */
  u8_t domain;            /* LW_AF_INET / LW_AF_INET6 */
  u8_t type;              /* LW_SOCK_STREAM / LW_SOCK_DGRAM */
  u8_t state;             /* enum lw_state */
  u8_t flags;
  int err;                /* pending error (SO_ERROR), positive errno */
  u32_t events;           /* last computed readiness */
  union {
    struct tcp_pcb *tcp;
    struct udp_pcb *udp;
    void *any;
  } pcb;

  /* TCP receive queue: pbufs linked through ->next, each one consumed on its own.
   * A chain's tot_len is never used, so queues may exceed 64 KiB. */
  struct pbuf *rx_head, *rx_tail;
  u32_t rx_off;           /* bytes already read from rx_head */
  u32_t rx_bytes;         /* unread bytes in the queue */

  /* UDP receive queue */
  struct lw_dgram *dg_head, *dg_tail;
  u32_t dg_count, dg_bytes, dg_drops;
  u32_t dg_charge;   /* what the queue counts against rcvbuf (sock_udp.c) */
  u32_t rcvbuf;
  u8_t userlocks;   /* LOCK_*: buffers the application sized, which autotuning leaves alone */

  /* Listening sockets: established connections not yet accepted. */
  struct lw_sock *aq_head, *aq_tail, *aq_next;
  u32_t aq_len;
  u8_t backlog;

  /* A connect in progress on an ethernet link: the IPv4 next hop whose ARP answer is
   * checked, so a silent neighbour gives EHOSTUNREACH as on Linux. */
  ip4_addr_t nexthop;
  u8_t nexthop_if;

  struct lw_changer change;  /* id: the fd; events: the readiness bits */
  struct lw_layer *layer;    /* TLS over this connection, or NULL (see struct lw_layer) */

  /* Options (sock_opt.c). Buffer sizes are stored doubled, as Linux reports them. */
  u32_t sndbuf;            /* SO_SNDBUF; TCP queues at most half of it */
  u32_t rcvlowat;          /* SO_RCVLOWAT (>= 1) */
  u32_t rcvtimeo, sndtimeo;/* SO_RCVTIMEO / SO_SNDTIMEO in ms; the async forms honour them */
  s32_t peek_off;          /* SO_PEEK_OFF; -1 when off */
  u32_t wnd_held;          /* receive window withheld to honour a small SO_RCVBUF */
  u32_t snd_full_at;       /* sys_now() when a send found SO_SNDBUF the limit, or 0 (tcp_buf.c) */
  u8_t snd_slow;           /* long waits for an ACK in a row, with SO_SNDBUF the limit */
  u32_t keep_idle, keep_intvl, keep_cnt; /* TCP keepalive, ms / ms / probes */
  u16_t maxseg;            /* TCP_MAXSEG cap on segments we send; 0 for none */
  u16_t linger;            /* SO_LINGER seconds */
  u8_t ttl, tos;
  u8_t opt_flags;          /* OF_* */
  struct lw_group *groups; /* multicast memberships, left on close */

  /* epoll registrations watching this socket (sock_epoll.c) */
  struct lw_epitem *watchers;

  /* A connection's addresses, kept from when it was established: lwIP frees the pcb when
   * the connection ends, but accept() still names the peer, and getsockname() the local
   * address, of one that was reset meanwhile, as on Linux. */
  struct lw_ends {
    ip_addr_t local, remote;
    u16_t lport, rport;
    u8_t set;
  } ends;
};

/* lw_sock.userlocks, as Linux's sk_userlocks */
#define LOCK_SNDBUF   0x01u  /* SO_SNDBUF was set */
#define LOCK_RCVBUF   0x02u  /* SO_RCVBUF was set */

#define OF_LINGER     0x01u
#define OF_V6ONLY     0x02u
#define OF_REUSEPORT  0x04u
#define OF_NODELAY    0x08u
#define OF_KEEPALIVE  0x10u
#define OF_REUSEADDR  0x20u
#define OF_BROADCAST  0x40u
#define OF_NOMCLOOP   0x80u  /* TCP only: IP_MULTICAST_LOOP 0, stored as Linux does */

struct lw_group {
  struct lw_group *next;
  ip_addr_t group;
  u32_t ifindex;      /* IPv6: interface; 0 for all */
  ip4_addr_t ifaddr;  /* IPv4: interface address; any for all */
};

/* stack.c */
struct lw_config {
  u32_t connect_timeout_ms;   /* default limit for a TCP connect */
  u32_t max_fds;
  u32_t udp_rcvbuf;           /* bytes queued per UDP socket before drops */
};
extern struct lw_config lw_cfg;
u8_t *lw_outbox_reserve(u32_t ifindex, u32_t len, u32_t seg_max);
extern u32_t lw_input_drops;   /* frames dropped at input (stack_rx.c) */
int stack_rx_feed(struct netif *netif, struct pbuf *p, int check);
int rx_gso_feed(struct netif *netif, struct pbuf *p, u32_t flags);

/* tcp_tso.c: an interface with segmentation offload (netif->flags); while a segment of
 * several MSS is being sent, the largest IP packet to cut it into */
#define LW_NETIF_FLAG_TSO 0x80U
extern u32_t lw_tx_seg_max;

/* sock_opt.c */
void sock_opt_init(struct lw_sock *s);
void sock_opt_inherit(struct lw_sock *child, const struct lw_sock *parent);
void sock_opt_apply_tcp(struct lw_sock *s);
void sock_opt_release(struct lw_sock *s);

/* tcp_buf.c */
u32_t sock_tcp_send_room(const struct lw_sock *s);
void sock_tcp_send_full(struct lw_sock *s);
void sock_tcp_send_acked(struct lw_sock *s);
u32_t sock_tcp_recved(struct lw_sock *s, u32_t consumed);
void sock_tcp_window_adjust(struct lw_sock *s);
void sock_tcp_window_release(struct lw_sock *s);

/* sock_mcast.c */
int mcast_sock_membership(struct lw_sock *s, int name, const u8_t *val, u32_t len);
void mcast_sock_leave_all(struct lw_sock *s);

/* sock_epoll.c */
void epoll_sock_changed(struct lw_sock *s, u32_t old);
void epoll_sock_gone(struct lw_sock *s);
void epoll_sock_arrival(struct lw_sock *s);

/* sock_fd.c */
u32_t sock_count(void);
struct lw_sock *sock_get(int fd);
u32_t sock_fd_cap(void);
struct lw_sock *sock_alloc(u8_t domain, u8_t type);
int sock_assign_fd(struct lw_sock *s);
void sock_free(struct lw_sock *s);
void sock_refresh(struct lw_sock *s);

/* sock_addr.c */
int sock_addr_in(const struct lw_sock *s, const struct lw_addr *a, ip_addr_t *ip, u16_t *port);
void sock_addr_out(struct lw_addr *a, const ip_addr_t *ip, u16_t port);
void sock_addr_out_for(const struct lw_sock *s, struct lw_addr *a, const ip_addr_t *ip, u16_t port);
int sock_addr_is_local(const ip_addr_t *ip);
int sock_route_check(const ip_addr_t *dst);
int lw_err_to_errno(err_t err);
int sock_tcp_state(const struct lw_sock *s);

/* sock_tcp.c / sock_udp.c: per-protocol halves of the socket calls. */
int tcp_sock_open(struct lw_sock *s);
int tcp_sock_bind(struct lw_sock *s, const ip_addr_t *ip, u16_t port);
int tcp_sock_listen(struct lw_sock *s, int backlog);
int tcp_sock_accept(struct lw_sock *s, struct lw_addr *peer);
int tcp_sock_connect(struct lw_sock *s, const ip_addr_t *ip, u16_t port, u32_t timeout_ms);
int tcp_sock_send(struct lw_sock *s, const u8_t *buf, u32_t len, int flags);
int tcp_sock_recv(struct lw_sock *s, u8_t *buf, u32_t len, int flags);
int tcp_sock_shutdown(struct lw_sock *s, int how);
void tcp_sock_close(struct lw_sock *s);
u32_t tcp_sock_events(const struct lw_sock *s);
void tcp_sock_fail_connect(struct lw_sock *s, int err);
void tcp_sock_keep_ends(struct lw_sock *s);

/* dhcp.c */
void dhcp_tick_check(void);

/* sock_icmp.c */
int icmp_sock_init(void);

int udp_sock_open(struct lw_sock *s);
int udp_sock_bind(struct lw_sock *s, const ip_addr_t *ip, u16_t port);
int udp_sock_connect(struct lw_sock *s, const ip_addr_t *ip, u16_t port);
int udp_sock_sendto(struct lw_sock *s, const u8_t *buf, u32_t len, const ip_addr_t *ip, u16_t port);
int udp_sock_recvfrom(struct lw_sock *s, u8_t *buf, u32_t len, int flags, struct lw_addr *from);
int udp_sock_shutdown(struct lw_sock *s, int how);
void udp_sock_close(struct lw_sock *s);
u32_t udp_sock_events(const struct lw_sock *s);

#endif /* LW_H */
