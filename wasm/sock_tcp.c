/* TCP sockets on lwIP's raw API. lwIP's callbacks move data into the socket's receive
 * queue and keep the readiness bits current; the socket calls never block. */
#include <stdlib.h>
#include <string.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lw.h"
#include "hooks.h"

/* Linux gives up on an unanswered ARP after 3 probes, 1 s apart (ucast_solicit). */
#define ARP_FAIL_MS 3000

static err_t tcp_sock_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t tcp_sock_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void tcp_sock_on_err(void *arg, err_t err);
static void tcp_sock_connect_expired(void *arg);
static void tcp_sock_arp_check(void *arg);

static const ip_addr_t loopback4 = IPADDR4_INIT_BYTES(127, 0, 0, 1);
static const ip_addr_t loopback6 = IPADDR6_INIT_HOST(0, 0, 0, 1);

static void
tcp_sock_attach(struct lw_sock *s, struct tcp_pcb *pcb)
{
  s->pcb.tcp = pcb;
  tcp_arg(pcb, s);
  tcp_recv(pcb, tcp_sock_on_recv);
  tcp_sent(pcb, tcp_sock_on_sent);
  tcp_err(pcb, tcp_sock_on_err);
  sock_opt_apply_tcp(s);
}

/* Keeps the established connection's addresses (struct lw_ends in lw.h). */
void
tcp_sock_keep_ends(struct lw_sock *s)
{
  const struct tcp_pcb *pcb = s->pcb.tcp;
  if (pcb == NULL) {
    return;
  }
  ip_addr_copy(s->ends.local, pcb->local_ip);
  ip_addr_copy(s->ends.remote, pcb->remote_ip);
  s->ends.lport = pcb->local_port;
  s->ends.rport = pcb->remote_port;
  s->ends.set = 1;
}

/* Hands the pcb to lwIP for good: it finishes the close (LAST_ACK, TIME_WAIT) alone. */
static void
tcp_sock_detach(struct lw_sock *s)
{
  struct tcp_pcb *pcb = s->pcb.tcp;
  if (pcb == NULL) {
    return;
  }
  sock_opt_release(s);
  s->pcb.tcp = NULL;
  tcp_arg(pcb, NULL);
  if (pcb->state != LISTEN) {
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
  }
  if (tcp_close(pcb) != ERR_OK) {
    tcp_abort(pcb);   /* no memory for the FIN: reset rather than leak */
  }
}

static void
tcp_sock_rx_free(struct lw_sock *s)
{
  struct pbuf *p = s->rx_head;
  /* the receive queue: pbuf chains that end at NULL, at most the window's bytes */
  while (p != NULL) {
    struct pbuf *next = p->next;
    p->next = NULL;
    pbuf_free(p);
    p = next;
  }
  s->rx_head = s->rx_tail = NULL;
  s->rx_off = s->rx_bytes = 0;
}

/* The connection is over: record why, and make every further call see it. */
static void
tcp_sock_ended(struct lw_sock *s, int err)
{
  sys_untimeout(tcp_sock_connect_expired, s);
  sys_untimeout(tcp_sock_arp_check, s);
  s->err = err;
  s->state = LS_CLOSED;
  s->flags |= SF_EOF | SF_WR_SHUT;
  sock_refresh(s);
}

int
tcp_sock_open(struct lw_sock *s)
{
  /* An IPv6 socket's pcb takes either family: dual stack unless IPV6_V6ONLY. */
  struct tcp_pcb *pcb = tcp_new_ip_type(s->domain == LW_AF_INET6 ? IPADDR_TYPE_ANY : IPADDR_TYPE_V4);
  if (pcb == NULL) {
    return -LW_ENOMEM;
  }
  tcp_sock_attach(s, pcb);
  s->state = LS_OPEN;
  return 0;
}

/* A socket whose last connection failed gets a fresh pcb, so it may connect again. */
static int
tcp_sock_reopen(struct lw_sock *s)
{
  if (s->pcb.tcp != NULL) {
    return 0;
  }
  tcp_sock_rx_free(s);
  s->flags &= (u8_t)~(SF_EOF | SF_FIN | SF_WR_SHUT | SF_RD_SHUT | SF_BOUND);
  s->ends.set = 0;
  s->snd_full_at = 0;   /* send autotuning measures this connection's round trips only */
  s->snd_slow = 0;
  return tcp_sock_open(s);
}

int
tcp_sock_bind(struct lw_sock *s, const ip_addr_t *ip, u16_t port)
{
  int r;
  if (s->state != LS_OPEN && s->state != LS_CLOSED) {
    return -LW_EINVAL;
  }
  if ((r = tcp_sock_reopen(s)) < 0) {
    return r;
  }
  return -lw_err_to_errno(tcp_bind(s->pcb.tcp, ip, port));
}

static err_t
tcp_sock_on_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
  struct lw_sock *ls = (struct lw_sock *)arg;
  struct lw_sock *c;
  if (ls == NULL || newpcb == NULL || err != ERR_OK) {
    return ERR_VAL;
  }
  /* lwIP's backlog stops counting a queued connection once it is reset, but the socket
   * stays queued for accept(); without this, SYN, ACK, RST repeated grows the queue. */
  if (ls->aq_len >= ls->backlog) {
    tcp_abort(newpcb);
    return ERR_ABRT;
  }
  c = sock_alloc(ls->domain, LW_SOCK_STREAM);
  if (c == NULL) {
    tcp_abort(newpcb);
    return ERR_ABRT;
  }
  sock_opt_inherit(c, ls);
  /* The SYN-ACK's window is never scaled, so the peer was offered at most 64 KiB - 1,
   * though lwIP records its whole window as announced. Record what the peer saw, so an
   * inherited SO_RCVBUF holds the window from there on (tcp_buf.c). */
  if (TCP_SEQ_GT(newpcb->rcv_ann_right_edge, newpcb->rcv_nxt + 0xFFFFu)) {
    newpcb->rcv_ann_right_edge = newpcb->rcv_nxt + 0xFFFFu;
  }
  tcp_sock_attach(c, newpcb);
  tcp_sock_keep_ends(c);
  c->state = LS_CONNECTED;
  /* Count it against the backlog until accept() takes it, as Linux's accept queue does. */
  tcp_backlog_delayed(newpcb);
  if (ls->aq_tail != NULL) {
    ls->aq_tail->aq_next = c;
  } else {
    ls->aq_head = c;
  }
  ls->aq_tail = c;
  ls->aq_len++;
  sock_refresh(ls);
  return ERR_OK;
}

int
tcp_sock_listen(struct lw_sock *s, int backlog)
{
  struct tcp_pcb *lpcb;
  err_t err;
  if (s->state == LS_LISTEN) {
    /* Linux lets listen() be called again to change the backlog. */
    s->backlog = (u8_t)(backlog < 1 ? 1 : backlog > 255 ? 255 : backlog);
    ((struct tcp_pcb_listen *)s->pcb.tcp)->backlog = s->backlog;
    return 0;
  }
  if (s->state != LS_OPEN || s->pcb.tcp == NULL) {
    return -LW_EINVAL;
  }
  /* lwIP's backlog is 8-bit; Linux clamps to somaxconn (4096) the same way. */
  s->backlog = (u8_t)(backlog < 1 ? 1 : backlog > 255 ? 255 : backlog);
  if (!(s->flags & SF_BOUND)) {
    err = tcp_bind(s->pcb.tcp, s->domain == LW_AF_INET6 ? ((s->opt_flags & OF_V6ONLY) ? IP6_ADDR_ANY : IP_ANY_TYPE)
                                                       : IP4_ADDR_ANY, 0);
    if (err != ERR_OK) {
      return -lw_err_to_errno(err);
    }
    s->flags |= SF_BOUND;
  }
  lpcb = tcp_listen_with_backlog_and_err(s->pcb.tcp, s->backlog, &err);
  if (lpcb == NULL) {
    return err == ERR_USE ? -LW_EADDRINUSE : -LW_ENOMEM;
  }
  s->pcb.tcp = lpcb;
  tcp_arg(lpcb, s);
  tcp_accept(lpcb, tcp_sock_on_accept);
  s->state = LS_LISTEN;
  return 0;
}

int
tcp_sock_accept(struct lw_sock *s, struct lw_addr *peer)
{
  struct lw_sock *c;
  int fd;
  if (s->state != LS_LISTEN) {
    return -LW_EINVAL;
  }
  c = s->aq_head;
  if (c == NULL) {
    return -LW_EAGAIN;
  }
  fd = sock_assign_fd(c);
  if (fd < 0) {
    return fd;   /* EMFILE: the connection stays queued */
  }
  s->aq_head = c->aq_next;
  if (s->aq_head == NULL) {
    s->aq_tail = NULL;
  }
  s->aq_len--;
  c->aq_next = NULL;
  if (c->pcb.tcp != NULL) {
    tcp_backlog_accepted(c->pcb.tcp);
    sock_addr_out_for(c, peer, &c->pcb.tcp->remote_ip, c->pcb.tcp->remote_port);
  } else {
    sock_addr_out_for(c, peer, &c->ends.remote, c->ends.rport);   /* reset while queued */
  }
  c->events = 0;
  sock_refresh(c);
  return fd;
}

static err_t
tcp_sock_on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
  struct lw_sock *s = (struct lw_sock *)arg;
  LWIP_UNUSED_ARG(pcb);
  LWIP_UNUSED_ARG(err);   /* lwIP only calls this with ERR_OK */
  if (s != NULL) {
    sys_untimeout(tcp_sock_connect_expired, s);
    sys_untimeout(tcp_sock_arp_check, s);
    s->state = LS_CONNECTED;
    tcp_sock_keep_ends(s);
    sock_opt_apply_tcp(s);   /* TCP_MAXSEG and SO_RCVBUF take effect on the live connection */
    sock_refresh(s);
  }
  return ERR_OK;
}

/* Ends a connect in progress with err (timeout, ICMP unreachable, no ARP answer). */
void
tcp_sock_fail_connect(struct lw_sock *s, int err)
{
  struct tcp_pcb *pcb = s->pcb.tcp;
  if (s->state != LS_CONNECTING || pcb == NULL) {
    return;
  }
  s->pcb.tcp = NULL;
  tcp_arg(pcb, NULL);
  tcp_err(pcb, NULL);
  tcp_abandon(pcb, 0);   /* as Linux: a connect an ICMP error ended sends no RST */
  tcp_sock_ended(s, err);
}

static void
tcp_sock_connect_expired(void *arg)
{
  tcp_sock_fail_connect((struct lw_sock *)arg, LW_ETIMEDOUT);
}

static void
tcp_sock_arp_check(void *arg)
{
  struct lw_sock *s = (struct lw_sock *)arg;
  struct netif *netif = netif_get_by_index(s->nexthop_if);
  struct eth_addr *eth;
  const ip4_addr_t *ip;
  if (s->state == LS_CONNECTING && netif != NULL && etharp_find_addr(netif, &s->nexthop, &eth, &ip) < 0) {
    tcp_sock_fail_connect(s, LW_EHOSTUNREACH);
  }
}

/* Remembers the IPv4 next hop of a new connect on an ARP interface, to check later
 * that it answered. */
static void
tcp_sock_watch_nexthop(struct lw_sock *s, const ip_addr_t *dst)
{
  struct netif *netif;
  const ip4_addr_t *hop;
  if (!IP_IS_V4(dst)) {
    return;
  }
  netif = ip4_route(ip_2_ip4(dst));
  if (netif == NULL || !(netif->flags & NETIF_FLAG_ETHARP) || ip4_addr_isbroadcast(ip_2_ip4(dst), netif)) {
    return;
  }
  hop = route_ip4_nexthop(netif, ip_2_ip4(dst));   /* the destination, or a route's gateway */
  if (hop == NULL) {
    return;
  }
  ip4_addr_copy(s->nexthop, *hop);
  s->nexthop_if = netif_get_index(netif);
  sys_timeout(ARP_FAIL_MS, tcp_sock_arp_check, s);
}

int
tcp_sock_connect(struct lw_sock *s, const ip_addr_t *ip, u16_t port, u32_t timeout_ms)
{
  err_t err;
  int r;
  switch (s->state) {
    case LS_CONNECTING: return -LW_EALREADY;
    case LS_CONNECTED: return -LW_EISCONN;
    case LS_LISTEN: return -LW_EISCONN;
    default: break;
  }
  if (port == 0) {
    return -LW_ECONNREFUSED;   /* no TCP peer listens on port 0 */
  }
  if ((r = tcp_sock_reopen(s)) < 0) {
    return r;
  }
  s->err = 0;
  /* Linux treats a connect to the wildcard address as one to loopback. */
  if (ip_addr_isany(ip)) {
    ip = IP_IS_V6(ip) ? &loopback6 : &loopback4;
  }
  err = tcp_connect(s->pcb.tcp, ip, port, tcp_sock_on_connected);
  if (err != ERR_OK) {
    return -lw_err_to_errno(err);
  }
  s->flags |= SF_BOUND;
  s->state = LS_CONNECTING;
  sys_timeout(timeout_ms, tcp_sock_connect_expired, s);
  tcp_sock_watch_nexthop(s, ip);
  return -LW_EINPROGRESS;
}

static err_t
tcp_sock_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
  struct lw_sock *s = (struct lw_sock *)arg;
  LWIP_UNUSED_ARG(err);
  if (s == NULL) {
    /* detached: lwIP owns the pcb; drop whatever arrives */
    if (p != NULL) {
      tcp_recved(pcb, p->tot_len);
      pbuf_free(p);
    }
    return ERR_OK;
  }
  if (p == NULL) {
    s->flags |= SF_EOF | SF_FIN;
    if (s->flags & SF_WR_SHUT) {
      /* Both directions are finished: lwIP completes the close on its own. */
      tcp_sock_detach(s);
      s->state = LS_CLOSED;
    }
    sock_refresh(s);
    return ERR_OK;
  }
  if (s->flags & SF_RD_SHUT) {
    /* After SHUT_RD, arriving data is discarded; the window stays open. */
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
  }
  s->rx_bytes += p->tot_len;
  if (s->rx_tail != NULL) {
    s->rx_tail->next = p;
  } else {
    s->rx_head = p;
  }
  /* a pbuf chain: ends at NULL, at most p->tot_len bytes; only the new chain is
   * walked (rx_tail remembers the end), so each pbuf is walked once */
  while (p->next != NULL) {
    p = p->next;
  }
  s->rx_tail = p;
  sock_refresh(s);
  epoll_sock_arrival(s);
  return ERR_OK;
}

static err_t
tcp_sock_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
  LWIP_UNUSED_ARG(pcb);
  LWIP_UNUSED_ARG(len);
  if (arg != NULL) {
    sock_tcp_send_acked((struct lw_sock *)arg);
    sock_refresh((struct lw_sock *)arg);
  }
  return ERR_OK;
}

/* lwIP has already freed the pcb when this runs. */
static void
tcp_sock_on_err(void *arg, err_t err)
{
  struct lw_sock *s = (struct lw_sock *)arg;
  int e;
  if (s == NULL) {
    return;
  }
  s->pcb.tcp = NULL;
  switch (err) {
    case ERR_RST:
      /* Linux's tcp_reset(): refused while connecting, EPIPE once the peer's FIN is in
       * (CLOSE_WAIT), reset otherwise. */
      e = s->state == LS_CONNECTING ? LW_ECONNREFUSED : (s->flags & SF_FIN) ? LW_EPIPE : LW_ECONNRESET;
      break;
    case ERR_ABRT:
      /* lwIP aborts on its own only when retransmissions or keepalives run out. */
      e = LW_ETIMEDOUT;
      break;
    case ERR_CLSD:
      e = 0;   /* a graceful close completed (LAST_ACK acknowledged) */
      break;
    default:
      e = lw_err_to_errno(err);
      break;
  }
  tcp_sock_ended(s, e);
}

/* The bytes one tcp_write can take before the segment queue is full. tcp_write fails
 * whole (ERR_MEM) when a write needs more segments than the queue has room for, and the
 * segment size is the peer's to choose: an MSS of 48 or a window of a few bytes makes
 * even a 64 KiB write need thousands. Without this cut such a write never fits, though
 * POLLOUT says it would, and a sender waiting for POLLOUT spins. Each segment is one
 * pbuf (TCP_WRITE_FLAG_COPY), of at most the MSS tcp_write itself uses. */
static u32_t
tcp_sock_queue_fit(const struct tcp_pcb *pcb)
{
  u32_t mss = LWIP_MIN(pcb->mss, TCPWND_MIN16(pcb->snd_wnd_max / 2));
  u32_t segs = TCP_SND_QUEUELEN - 1u - tcp_sndqueuelen(pcb);
  mss = mss != 0 ? mss : pcb->mss;
  if (pcb->flags & TF_TIMESTAMP) {
    /* the timestamp option rides in every segment: tcp_write's room for data */
    u32_t optlen = LWIP_TCP_OPT_LEN_TS_OUT;
    mss = LWIP_MAX(mss, optlen + 1u) - optlen;
  }
  return segs * mss;
}

int
tcp_sock_send(struct lw_sock *s, const u8_t *buf, u32_t len, int flags)
{
  struct tcp_pcb *pcb = s->pcb.tcp;
  u32_t room, done = 0;
  if (s->err != 0) {
    int e = s->err;
    s->err = 0;
    return -e;
  }
  if (s->flags & SF_WR_SHUT) {
    return -LW_EPIPE;
  }
  if (s->state == LS_CONNECTING) {
    return -LW_EAGAIN;
  }
  if (s->state != LS_CONNECTED || pcb == NULL) {
    return -LW_EPIPE;   /* Linux: send on a never-connected TCP socket is EPIPE */
  }
  if (len == 0) {
    return 0;
  }
  room = sock_tcp_send_room(s);
  while (done < len && room > 0 && tcp_sndqueuelen(pcb) < TCP_SND_QUEUELEN - 1) {
    u32_t chunk = len - done;
    u8_t apiflags = TCP_WRITE_FLAG_COPY;
    err_t err;
    if (chunk > room) {
      chunk = room;
    }
    if (chunk > 0xFFFFu) {
      chunk = 0xFFFFu;
    }
    if (chunk > tcp_sock_queue_fit(pcb)) {
      chunk = tcp_sock_queue_fit(pcb);
    }
    if (done + chunk < len || (flags & LW_MSG_MORE)) {
      apiflags |= TCP_WRITE_FLAG_MORE;
    }
    err = tcp_write(pcb, buf + done, (u16_t)chunk, apiflags);
    if (err == ERR_MEM) {
      break;   /* the queue is full: report what fit */
    }
    if (err != ERR_OK) {
      if (done == 0) {
        return -lw_err_to_errno(err);
      }
      break;
    }
    done += chunk;
    room = sock_tcp_send_room(s);
  }
  if (done == 0) {
    sock_tcp_send_full(s);
    return -LW_EAGAIN;
  }
  if (!(flags & LW_MSG_MORE)) {
    tcp_output(pcb);
  }
  if (done < len) {
    sock_tcp_send_full(s);
  }
  return (int)done;
}

/* Copies up to len bytes from the receive queue; MSG_PEEK leaves them queued. */
int
tcp_sock_recv(struct lw_sock *s, u8_t *buf, u32_t len, int flags)
{
  u32_t copied = 0, off = s->rx_off, skip = 0;
  struct pbuf *p = s->rx_head;
  int peek = (flags & LW_MSG_PEEK) != 0;
  if (s->state == LS_LISTEN) {
    return -LW_ENOTCONN;
  }
  if (s->rx_bytes == 0) {
    /* After the peer's FIN, Linux returns end of stream before any pending error. */
    if (s->flags & SF_FIN) {
      return 0;
    }
    if (s->err != 0) {
      int e = s->err;
      s->err = 0;
      return -e;
    }
    if (s->flags & (SF_EOF | SF_RD_SHUT)) {
      return 0;
    }
    if (s->state == LS_OPEN) {
      return -LW_ENOTCONN;
    }
    return -LW_EAGAIN;
  }
  if (len == 0) {
    return 0;
  }
  if (peek && s->peek_off > 0) {
    /* SO_PEEK_OFF: peeking starts that far into the queue, and moves it on. */
    skip = (u32_t)s->peek_off;
    if (skip >= s->rx_bytes) {
      return -LW_EAGAIN;
    }
    /* bounded: skip < rx_bytes, and the queue ends at NULL; but it is walked from the
     * head on every peek, so one-byte segments make a peeking reader O(pbufs) a call */
    while (p != NULL && skip >= p->len - off) {
      skip -= p->len - off;
      p = p->next;
      off = 0;
    }
    off += skip;
  }
  /* bounded by len and the queue (ends at NULL); a pbuf with len 0 is stepped over */
  while (p != NULL && copied < len) {
    u32_t n = p->len - off;
    if (n > len - copied) {
      n = len - copied;
    }
    memcpy(buf + copied, (const u8_t *)p->payload + off, n);
    copied += n;
    off += n;
    if (off == p->len) {
      struct pbuf *next = p->next;
      if (!peek) {
        p->next = NULL;
        pbuf_free(p);
        s->rx_head = next;
      }
      p = next;
      off = 0;
    }
  }
  if (peek) {
    if (s->peek_off >= 0) {
      s->peek_off += (s32_t)copied;
    }
  } else {
    s->rx_off = off;
    s->rx_bytes -= copied;
    if (s->rx_head == NULL) {
      s->rx_tail = NULL;
    }
    if (s->peek_off > 0) {
      s->peek_off = s->peek_off > (s32_t)copied ? s->peek_off - (s32_t)copied : 0;
    }
    /* Reading opens the window: this is TCP's flow control. */
    sock_tcp_recved(s, copied);
  }
  return (int)copied;
}

int
tcp_sock_shutdown(struct lw_sock *s, int how)
{
  int rd = how == LW_SHUT_RD || how == LW_SHUT_RDWR;
  int wr = how == LW_SHUT_WR || how == LW_SHUT_RDWR;
  if (s->state == LS_CONNECTING) {
    tcp_sock_fail_connect(s, 0);   /* Linux disconnects a connect in progress */
    return 0;
  }
  if (s->state == LS_LISTEN) {
    return 0;
  }
  if (s->state != LS_CONNECTED) {
    return -LW_ENOTCONN;
  }
  if (rd) {
    s->flags |= SF_RD_SHUT;
    if (s->pcb.tcp != NULL && s->rx_bytes > 0) {
      u32_t left = s->rx_bytes;
      /* bounded: rx_bytes is at most the window (TCP_WND), 64 KiB a pass */
      while (left > 0) {
        u16_t step = left > 0xFFFFu ? 0xFFFFu : (u16_t)left;
        tcp_recved(s->pcb.tcp, step);
        left -= step;
      }
    }
    tcp_sock_rx_free(s);
  }
  if (wr && !(s->flags & SF_WR_SHUT)) {
    s->flags |= SF_WR_SHUT;
    if (s->pcb.tcp != NULL) {
      /* Sends our FIN. If the peer's FIN is already in (CLOSE_WAIT), lwIP reports the
       * end of LAST_ACK through the err callback with ERR_CLSD. */
      err_t err = tcp_shutdown(s->pcb.tcp, 0, 1);
      if (err != ERR_OK) {
        s->flags &= (u8_t)~SF_WR_SHUT;
        return -lw_err_to_errno(err);
      }
    }
  }
  return 0;
}

void
tcp_sock_close(struct lw_sock *s)
{
  sys_untimeout(tcp_sock_connect_expired, s);
  sys_untimeout(tcp_sock_arp_check, s);
  if (s->state == LS_LISTEN) {
    /* Queued connections nobody accepted are reset, as Linux does. */
    struct lw_sock *c = s->aq_head;
    /* a peer fills the accept queue, but only to the backlog (tcp_sock_on_accept) */
    while (c != NULL) {
      struct lw_sock *next = c->aq_next;
      if (c->pcb.tcp != NULL) {
        struct tcp_pcb *pcb = c->pcb.tcp;
        tcp_arg(pcb, NULL);
        tcp_err(pcb, NULL);
        tcp_abort(pcb);
      }
      tcp_sock_rx_free(c);
      sock_free(c);
      c = next;
    }
    s->aq_head = s->aq_tail = NULL;
    s->aq_len = 0;
  }
  if (s->pcb.tcp != NULL && s->state == LS_CONNECTING) {
    struct tcp_pcb *pcb = s->pcb.tcp;
    s->pcb.tcp = NULL;
    tcp_arg(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_abort(pcb);   /* no RST is sent for a SYN_SENT pcb */
  }
  if ((s->opt_flags & OF_LINGER) && s->linger == 0 && s->pcb.tcp != NULL && s->state == LS_CONNECTED) {
    /* SO_LINGER {on, 0}: close resets the connection at once, as Linux does. */
    struct tcp_pcb *pcb = s->pcb.tcp;
    sock_opt_release(s);
    s->pcb.tcp = NULL;
    tcp_arg(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_abort(pcb);
  }
  /* Unread data makes lwIP reset instead of closing, as Linux does; the pcb's
   * window has not been reopened for it, which is how lwIP tells. */
  tcp_sock_detach(s);
  sock_opt_release(s);
  tcp_sock_rx_free(s);
}

u32_t
tcp_sock_events(const struct lw_sock *s)
{
  u32_t ev = 0;
  int rd_closed = (s->flags & (SF_EOF | SF_RD_SHUT)) != 0;
  int wr_closed = (s->flags & SF_WR_SHUT) != 0;
  if (s->state == LS_LISTEN) {
    return s->aq_len > 0 ? LW_POLLIN : 0;
  }
  if (s->err != 0) {
    ev |= LW_POLLERR;
  }
  if (s->rx_bytes >= s->rcvlowat || rd_closed || (s->rx_bytes > 0 && s->err != 0)) {
    ev |= LW_POLLIN;
  }
  if (rd_closed) {
    ev |= LW_POLLRDHUP;
  }
  /* Linux: POLLHUP once both directions are shut, and for a socket in CLOSE state. */
  if ((rd_closed && wr_closed) || s->state == LS_OPEN || s->state == LS_CLOSED) {
    ev |= LW_POLLHUP;
  }
  if (s->state != LS_CONNECTING) {
    if (wr_closed || s->state != LS_CONNECTED) {
      ev |= LW_POLLOUT;   /* a write would not block: it fails at once */
    } else if (s->pcb.tcp != NULL && tcp_sndqueuelen(s->pcb.tcp) < TCP_SNDQUEUELOWAT) {
      /* Writable once a useful amount fits: 16 KiB, or half of a smaller SO_SNDBUF. */
      u32_t want = s->sndbuf / 4 < TCP_SNDLOWAT ? s->sndbuf / 4 : TCP_SNDLOWAT;
      if (sock_tcp_send_room(s) >= (want ? want : 1)) {
        ev |= LW_POLLOUT;
      }
    }
  }
  return ev;
}
