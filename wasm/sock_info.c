/* Introspection in the shape of Linux's tools: `ss` rows (sockets, plus the connections
 * lwIP finishes alone: orphans and TIME_WAIT), /proc/net/sockstat counts, and lwIP's
 * protocol counters. */
#include <string.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/udp.h"
#include "lwip/stats.h"
#include "lw.h"


static int
pcb_linux_state(const struct tcp_pcb *pcb)
{
  switch (pcb->state) {
    case LISTEN: return LW_TCP_LISTEN;
    case SYN_SENT: return LW_TCP_SYN_SENT;
    case SYN_RCVD: return LW_TCP_SYN_RECV;
    case ESTABLISHED: return LW_TCP_ESTABLISHED;
    case FIN_WAIT_1: return LW_TCP_FIN_WAIT1;
    case FIN_WAIT_2: return LW_TCP_FIN_WAIT2;
    case CLOSE_WAIT: return LW_TCP_CLOSE_WAIT;
    case CLOSING: return LW_TCP_CLOSING;
    case LAST_ACK: return LW_TCP_LAST_ACK;
    case TIME_WAIT: return LW_TCP_TIME_WAIT;
    default: return LW_TCP_CLOSE;
  }
}

static void
row_tcp_pcb(struct lw_ss_row *r, const struct tcp_pcb *pcb, u8_t domain)
{
  struct lw_sock fake;
  memset(&fake, 0, sizeof(fake));
  fake.domain = domain;
  r->proto = LW_IPPROTO_TCP;
  r->state = (u32_t)pcb_linux_state(pcb);
  sock_addr_out_for(&fake, &r->local, &pcb->local_ip, pcb->local_port);
  if (pcb->state != LISTEN) {
    sock_addr_out_for(&fake, &r->remote, &pcb->remote_ip, pcb->remote_port);
    r->send_q = pcb->snd_lbb - pcb->lastack;   /* sent or queued, not yet acknowledged */
    r->flags |= LW_SSF_TCPINFO;
    r->mss = pcb->mss;
    r->cwnd = pcb->cwnd;
    r->ssthresh = pcb->ssthresh;
    r->rto_ms = pcb->loss.rto;
    r->rtt_ms = pcb->loss.srtt8 >> 3;
    r->retrans = pcb->nrtx;
    r->snd_wnd = pcb->snd_wnd;
    r->rcv_wnd = pcb->rcv_wnd;
    r->wmem = TCP_SND_BUF - pcb->snd_buf;   /* tcp_sndbuf() stops at 64 KiB */
  } else {
    r->remote.family = r->local.family;
  }
}

static void
row_sock(struct lw_ss_row *r, const struct lw_sock *s)
{
  r->fd = s->fd;
  r->rcvbuf = s->rcvbuf;
  r->sndbuf = s->sndbuf;
  if (s->type == LW_SOCK_STREAM) {
    if (s->pcb.tcp != NULL) {
      row_tcp_pcb(r, s->pcb.tcp, s->domain);
    } else {
      r->proto = LW_IPPROTO_TCP;
      r->state = LW_TCP_CLOSE;
      r->local.family = r->remote.family = s->domain;
    }
    if (s->state == LS_LISTEN) {
      r->recv_q = s->aq_len;        /* ss: current accept queue ... */
      r->send_q = s->backlog;       /* ... and its limit */
    } else {
      r->recv_q = s->rx_bytes;
      r->rmem = s->rx_bytes;
    }
    if (s->state == LS_OPEN && s->pcb.tcp != NULL && s->pcb.tcp->state == CLOSED) {
      r->state = LW_TCP_CLOSE;
    }
  } else {
    r->proto = LW_IPPROTO_UDP;
    r->state = (s->flags & SF_UDP_CONN) ? LW_TCP_ESTABLISHED : LW_TCP_CLOSE;   /* ss: ESTAB / UNCONN */
    if (s->pcb.udp != NULL) {
      sock_addr_out_for(s, &r->local, &s->pcb.udp->local_ip, s->pcb.udp->local_port);
      if (s->flags & SF_UDP_CONN) {
        sock_addr_out_for(s, &r->remote, &s->pcb.udp->remote_ip, s->pcb.udp->remote_port);
      } else {
        r->remote.family = r->local.family;
      }
    }
    r->recv_q = s->dg_bytes;
    r->rmem = s->dg_bytes;
  }
}

/* Writes up to max rows: every socket with a descriptor, then
 * connections waiting in accept queues, then pcbs lwIP owns alone (closed by the
 * application but not finished: FIN_WAIT, LAST_ACK, TIME_WAIT). Returns the count. */
LW_EXPORT int
stack_ss(struct lw_ss_row *rows, int max)
{
  int fd_limit = (int)sock_fd_cap();
  const struct tcp_pcb *pcb;
  int n = 0, fd;
  for (fd = 0; fd < fd_limit && n < max; fd++) {
    struct lw_sock *s = sock_get(fd);
    struct lw_sock *c;
    if (s == NULL) {
      continue;
    }
    memset(&rows[n], 0, sizeof(rows[n]));
    row_sock(&rows[n++], s);
    /* a peer fills the accept queue, but only to the backlog (tcp_sock_on_accept) */
    for (c = s->aq_head; c != NULL && n < max; c = c->aq_next) {
      memset(&rows[n], 0, sizeof(rows[n]));
      row_sock(&rows[n], c);
      rows[n++].fd = -1;
    }
  }
  /* bounded by max; peers add active pcbs only up to each listener's backlog (SYN_RCVD
   * and unaccepted ones count against it), and TIME_WAIT ones come from our closes */
  for (pcb = tcp_active_pcbs; pcb != NULL && n < max; pcb = pcb->next) {
    if (pcb->callback_arg == NULL) {
      memset(&rows[n], 0, sizeof(rows[n]));
      row_tcp_pcb(&rows[n], pcb, IP_IS_V6_VAL(pcb->local_ip) ? LW_AF_INET6 : LW_AF_INET);
      rows[n++].fd = -1;
    }
  }
  for (pcb = tcp_tw_pcbs; pcb != NULL && n < max; pcb = pcb->next) {
    memset(&rows[n], 0, sizeof(rows[n]));
    row_tcp_pcb(&rows[n], pcb, IP_IS_V6_VAL(pcb->local_ip) ? LW_AF_INET6 : LW_AF_INET);
    rows[n].fd = -1;
    rows[n++].flags &= ~LW_SSF_TCPINFO;
  }
  return n;
}

/* /proc/net/sockstat's counts. mem is bytes queued (Linux counts pages). */
LW_EXPORT int
stack_sockstat(struct lw_sockstat *out)
{
  int fd_limit = (int)sock_fd_cap();
  const struct tcp_pcb *pcb;
  u32_t tcp_inuse = 0, orphan = 0, tw = 0, alloc = 0, tcp_mem = 0, udp_inuse = 0, udp_mem = 0, used = 0;
  int fd;
  for (fd = 0; fd < fd_limit; fd++) {
    struct lw_sock *s = sock_get(fd);
    if (s == NULL) {
      continue;
    }
    used++;
    if (s->type == LW_SOCK_STREAM) {
      tcp_inuse++;
      tcp_mem += s->rx_bytes + (s->pcb.tcp && s->state != LS_LISTEN ? TCP_SND_BUF - s->pcb.tcp->snd_buf : 0);
    } else {
      udp_inuse++;
      udp_mem += s->dg_bytes;
    }
  }
  /* JS's call, not a packet's. The pcb lists are lwIP's, which tcp_input walks for
   * every segment anyway; peers grow them only as in stack_ss. */
  for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
    alloc++;
    if (pcb->callback_arg == NULL) {
      orphan++;
    }
  }
  for (pcb = tcp_bound_pcbs; pcb != NULL; pcb = pcb->next) {
    alloc++;
  }
  for (pcb = (const struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs; pcb != NULL; pcb = pcb->next) {
    alloc++;
  }
  for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next) {
    tw++;
    alloc++;
  }
  out->sockets_used = used;
  out->tcp_inuse = tcp_inuse;
  out->tcp_orphan = orphan;
  out->tcp_tw = tw;
  out->tcp_alloc = alloc;
  out->tcp_mem = tcp_mem;
  out->udp_inuse = udp_inuse;
  out->udp_mem = udp_mem;
  return 0;
}

static void
stats_copy(struct lw_proto_stats *out, const struct stats_proto *p)
{
  out->xmit = p->xmit;
  out->recv = p->recv;
  out->fw = p->fw;
  out->drop = p->drop;
  out->chkerr = p->chkerr;
  out->lenerr = p->lenerr;
  out->memerr = p->memerr;
  out->rterr = p->rterr;
  out->proterr = p->proterr;
  out->opterr = p->opterr;
  out->err = p->err;
  out->cachehit = p->cachehit;
}

/* lwIP's protocol counters. */
LW_EXPORT int
stack_stats(struct lw_stats *out)
{
  stats_copy(&out->link, &lwip_stats.link);
  stats_copy(&out->etharp, &lwip_stats.etharp);
  stats_copy(&out->ip_frag, &lwip_stats.ip_frag);
  stats_copy(&out->ip, &lwip_stats.ip);
  stats_copy(&out->icmp, &lwip_stats.icmp);
  stats_copy(&out->udp, &lwip_stats.udp);
  stats_copy(&out->tcp, &lwip_stats.tcp);
  stats_copy(&out->ip6, &lwip_stats.ip6);
  stats_copy(&out->icmp6, &lwip_stats.icmp6);
  stats_copy(&out->ip6_frag, &lwip_stats.ip6_frag);
  stats_copy(&out->nd6, &lwip_stats.nd6);
  return 0;
}
