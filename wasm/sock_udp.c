/* UDP sockets: each datagram is queued whole with its source, so boundaries survive. */
#include <stdlib.h>
#include <string.h>
#include "lwip/udp.h"
#include "lwip/prot/udp.h"
#include "lwip/stats.h"
#include "lwip/netif.h"
#include "lw.h"

/* The largest payload one datagram can carry. IPv6 is lower than Linux's 65527
 * because lwIP's pbuf lengths are 16-bit and include the 48 bytes of headers. */
#define UDP_MAX_V4 65507u
#define UDP_MAX_V6 65487u
/* The least a queued datagram is charged against SO_RCVBUF: about what its record, its
 * pbuf and their malloc headers take. */
#define LW_DGRAM_MIN_CHARGE 128u
#define udp_sock_charge(len) ((len) > LW_DGRAM_MIN_CHARGE ? (len) : LW_DGRAM_MIN_CHARGE)

static int
udp_is_broadcast(const ip_addr_t *ip)
{
  struct netif *n;
  if (!IP_IS_V4(ip)) {
    return 0;
  }
  NETIF_FOREACH(n) {
    if (ip4_addr_isbroadcast(ip_2_ip4(ip), n)) {
      return 1;
    }
  }
  return 0;
}

static void
udp_sock_on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
  struct lw_sock *s = (struct lw_sock *)arg;
  struct lw_dgram *d;
  u8_t *hdr;
  u16_t ulen;
  LWIP_UNUSED_ARG(pcb);
  /* lwIP does not check the UDP length field against the packet; Linux drops a datagram
   * that claims more than it carries and trims one that carries more than it claims. */
  if (pbuf_add_header(p, UDP_HLEN) == 0) {
    hdr = (u8_t *)p->payload;
    ulen = (u16_t)((hdr[4] << 8) | hdr[5]);
    pbuf_remove_header(p, UDP_HLEN);
    if (ulen < UDP_HLEN || ulen - UDP_HLEN > p->tot_len) {
      UDP_STATS_INC(udp.lenerr);
      pbuf_free(p);
      return;
    }
    if (ulen - UDP_HLEN < p->tot_len) {
      pbuf_realloc(p, (u16_t)(ulen - UDP_HLEN));
    }
  }
  /* A queued datagram is charged its payload bytes, but at least LW_DGRAM_MIN_CHARGE
   * (Linux charges an skb's truesize): otherwise empty datagrams would cost nothing
   * against SO_RCVBUF, and a peer could queue them until memory ran out. */
  if (s == NULL || (s->flags & SF_RD_SHUT) ||
      s->dg_charge + udp_sock_charge(p->tot_len) > s->rcvbuf ||
      (d = (struct lw_dgram *)malloc(sizeof(*d))) == NULL) {
    if (s != NULL) {
      s->dg_drops++;
    }
    pbuf_free(p);
    return;
  }
  d->next = NULL;
  d->p = p;
  ip_addr_copy(d->from, *addr);
  d->port = port;
  if (s->dg_tail != NULL) {
    s->dg_tail->next = d;
  } else {
    s->dg_head = d;
  }
  s->dg_tail = d;
  s->dg_count++;
  s->dg_bytes += p->tot_len;
  s->dg_charge += udp_sock_charge(p->tot_len);
  sock_refresh(s);
  epoll_sock_arrival(s);
}

int
udp_sock_open(struct lw_sock *s)
{
  struct udp_pcb *pcb = udp_new_ip_type(s->domain == LW_AF_INET6 ? IPADDR_TYPE_ANY : IPADDR_TYPE_V4);
  if (pcb == NULL) {
    return -LW_ENOMEM;
  }
  s->pcb.udp = pcb;
  pcb->ttl = s->ttl;
  /* Linux's multicast defaults: TTL 1, and our own datagrams loop back to us. */
  udp_set_multicast_ttl(pcb, 1);
  udp_setflags(pcb, pcb->flags | UDP_FLAGS_MULTICAST_LOOP);
  udp_recv(pcb, udp_sock_on_recv, s);
  return 0;
}

int
udp_sock_bind(struct lw_sock *s, const ip_addr_t *ip, u16_t port)
{
  return -lw_err_to_errno(udp_bind(s->pcb.udp, ip, port));
}

int
udp_sock_connect(struct lw_sock *s, const ip_addr_t *ip, u16_t port)
{
  err_t err;
  if (port == 0) {
    return -LW_EINVAL;
  }
  err = udp_connect(s->pcb.udp, ip, port);
  if (err != ERR_OK) {
    return -lw_err_to_errno(err);
  }
  s->flags |= SF_UDP_CONN | SF_BOUND;
  return 0;
}

/* ip == NULL sends to the connected peer. */
int
udp_sock_sendto(struct lw_sock *s, const u8_t *buf, u32_t len, const ip_addr_t *ip, u16_t port)
{
  struct pbuf *p;
  err_t err;
  if (s->err != 0) {
    int e = s->err;
    s->err = 0;
    return -e;
  }
  if (s->flags & SF_WR_SHUT) {
    return -LW_EPIPE;
  }
  if (len > (s->domain == LW_AF_INET6 ? UDP_MAX_V6 : UDP_MAX_V4)) {
    return -LW_EMSGSIZE;
  }
  p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
  if (p == NULL) {
    return -LW_ENOBUFS;
  }
  if (len > 0) {
    memcpy(p->payload, buf, len);
  }
  s->pcb.udp->ttl = s->ttl;
  s->pcb.udp->tos = s->tos;
  err = ip == NULL ? udp_send(s->pcb.udp, p) : udp_sendto(s->pcb.udp, p, ip, port);
  pbuf_free(p);
  if (err == ERR_VAL && ip != NULL && udp_is_broadcast(ip) && !(s->opt_flags & OF_BROADCAST)) {
    return -LW_EACCES;   /* a broadcast needs SO_BROADCAST, as on Linux */
  }
  if (err == ERR_RTE) {
    return -LW_ENETUNREACH;
  }
  if (err != ERR_OK && err != ERR_MEM) {
    return -lw_err_to_errno(err);
  }
  /* ERR_MEM here means a queue on the way (ARP) was full: the datagram is lost, which
   * UDP allows; Linux reports success in the same case. */
  s->flags |= SF_BOUND;
  return (int)len;
}

int
udp_sock_recvfrom(struct lw_sock *s, u8_t *buf, u32_t len, int flags, struct lw_addr *from)
{
  struct lw_dgram *d = s->dg_head;
  u32_t n;
  if (d == NULL) {
    if (s->err != 0) {
      int e = s->err;
      s->err = 0;
      return -e;
    }
    if (s->flags & SF_RD_SHUT) {
      return 0;
    }
    return -LW_EAGAIN;
  }
  {
    /* SO_PEEK_OFF: a peek starts that far into the first datagram. */
    u32_t off = (flags & LW_MSG_PEEK) && s->peek_off > 0 ? (u32_t)s->peek_off : 0;
    u32_t avail = d->p->tot_len > off ? d->p->tot_len - off : 0;
    n = avail < len ? avail : len;
    if (n > 0) {
      pbuf_copy_partial(d->p, buf, (u16_t)n, (u16_t)off);
    }
    if ((flags & LW_MSG_PEEK) && s->peek_off >= 0) {
      s->peek_off += (s32_t)n;
    } else if (!(flags & LW_MSG_PEEK) && s->peek_off > 0) {
      s->peek_off = s->peek_off > (s32_t)d->p->tot_len ? s->peek_off - (s32_t)d->p->tot_len : 0;
    }
  }
  if (from != NULL) {
    sock_addr_out_for(s, from, &d->from, d->port);
  }
  if (flags & LW_MSG_TRUNC) {
    n = d->p->tot_len;   /* the real length, as Linux reports with MSG_TRUNC */
  }
  if (!(flags & LW_MSG_PEEK)) {
    /* The rest of a datagram longer than the buffer is discarded. */
    s->dg_head = d->next;
    if (s->dg_head == NULL) {
      s->dg_tail = NULL;
    }
    s->dg_count--;
    s->dg_bytes -= d->p->tot_len;
    s->dg_charge -= udp_sock_charge(d->p->tot_len);
    pbuf_free(d->p);
    free(d);
  }
  return (int)n;
}

int
udp_sock_shutdown(struct lw_sock *s, int how)
{
  if (!(s->flags & SF_UDP_CONN)) {
    return -LW_ENOTCONN;
  }
  if (how == LW_SHUT_RD || how == LW_SHUT_RDWR) {
    s->flags |= SF_RD_SHUT;
  }
  if (how == LW_SHUT_WR || how == LW_SHUT_RDWR) {
    s->flags |= SF_WR_SHUT;
  }
  return 0;
}

void
udp_sock_close(struct lw_sock *s)
{
  struct lw_dgram *d = s->dg_head;
  sock_opt_release(s);
  if (s->pcb.udp != NULL) {
    udp_remove(s->pcb.udp);
    s->pcb.udp = NULL;
  }
  /* the datagram queue: ends at NULL; its charge is at most rcvbuf */
  while (d != NULL) {
    struct lw_dgram *next = d->next;
    pbuf_free(d->p);
    free(d);
    d = next;
  }
  s->dg_head = s->dg_tail = NULL;
}

u32_t
udp_sock_events(const struct lw_sock *s)
{
  u32_t ev = LW_POLLOUT;
  if (s->dg_head != NULL) {
    ev |= LW_POLLIN;
  }
  if (s->err != 0) {
    ev |= LW_POLLERR;
  }
  if (s->flags & SF_RD_SHUT) {
    ev |= LW_POLLIN | LW_POLLRDHUP;
  }
  if ((s->flags & (SF_RD_SHUT | SF_WR_SHUT)) == (SF_RD_SHUT | SF_WR_SHUT)) {
    ev |= LW_POLLHUP;
  }
  return ev;
}
