/* setsockopt/getsockopt with Linux's names, values and errors. Where lwIP has no such
 * knob, the glue provides the behaviour (SO_RCVBUF withholds receive window, SO_SNDBUF
 * caps the send queue); where nothing can, the option is refused with ENOPROTOOPT. */
#include <stdlib.h>
#include <string.h>
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "lwip/igmp.h"
#include "lwip/mld6.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/netif.h"
#include "lw.h"

#define BUF_MIN_RCV 2304u            /* Linux SOCK_MIN_RCVBUF, doubled form */
#define BUF_MIN_SND 4608u            /* Linux SOCK_MIN_SNDBUF */
#define BUF_MAX     (2u * TCP_WND)   /* our rmem_max/wmem_max, doubled form */
#define MAX_GROUPS  20               /* Linux's IP_MAX_MEMBERSHIPS */

void
sock_opt_init(struct lw_sock *s)
{
  s->rcvlowat = 1;
  s->peek_off = -1;
  s->ttl = 64;
  s->keep_idle = 7200000;   /* Linux: tcp_keepalive_time 7200 s */
  s->keep_intvl = 75000;    /* tcp_keepalive_intvl 75 s */
  s->keep_cnt = 9;          /* tcp_keepalive_probes */
  if (s->type == LW_SOCK_STREAM) {
    s->sndbuf = 2u * TCP_SND_BUF;
    s->rcvbuf = 2u * TCP_WND;
  } else {
    s->sndbuf = 212992u;
    s->rcvbuf = lw_cfg.udp_rcvbuf;
  }
}

/* Accepted sockets start with the listener's options, as on Linux. */
void
sock_opt_inherit(struct lw_sock *c, const struct lw_sock *p)
{
  c->sndbuf = p->sndbuf;
  c->rcvbuf = p->rcvbuf;
  c->rcvlowat = p->rcvlowat;
  c->rcvtimeo = p->rcvtimeo;
  c->sndtimeo = p->sndtimeo;
  c->keep_idle = p->keep_idle;
  c->keep_intvl = p->keep_intvl;
  c->keep_cnt = p->keep_cnt;
  c->maxseg = p->maxseg;
  c->linger = p->linger;
  c->ttl = p->ttl;
  c->tos = p->tos;
  c->opt_flags = p->opt_flags;
}

static u32_t
tcp_window_target_held(const struct lw_sock *s)
{
  u32_t wnd = s->rcvbuf / 2;   /* half the doubled value: what the caller asked for */
  if (wnd < 2u * 536u) {
    wnd = 2u * 536u;
  }
  return wnd >= TCP_WND ? 0 : TCP_WND - wnd;
}

static void
tcp_give_window(struct tcp_pcb *pcb, u32_t n)
{
  /* bounded: n is bytes read or held back, at most the window; 64 KiB a pass */
  while (n > 0) {
    u16_t step = n > 0xFFFFu ? 0xFFFFu : (u16_t)n;
    tcp_recved(pcb, step);
    n -= step;
  }
}

/* Reading consumed bytes: reopen the window, less what SO_RCVBUF still holds back. */
u32_t
sock_tcp_recved(struct lw_sock *s, u32_t consumed)
{
  u32_t target = tcp_window_target_held(s);
  u32_t pay = 0;
  if (s->pcb.tcp == NULL) {
    return 0;
  }
  if (target > s->wnd_held) {
    pay = target - s->wnd_held;
    if (pay > consumed) {
      pay = consumed;
    }
    s->wnd_held += pay;
  }
  tcp_give_window(s->pcb.tcp, consumed - pay);
  if (target > 0) {
    /* lwIP announces a reopened window at once only when it grew by a quarter of
     * TCP_WND; a small SO_RCVBUF window never grows that much, and the peer would wait
     * for its persist timer. Announce it once it grew by a quarter of the cap, as
     * Linux does when its window grows substantially. */
    struct tcp_pcb *pcb = s->pcb.tcp;
    u32_t cap = TCP_WND - target;
    u32_t edge = pcb->rcv_nxt + pcb->rcv_wnd;
    u32_t want = LWIP_MAX(cap / 4, pcb->mss);
    if (TCP_SEQ_GEQ(edge, pcb->rcv_ann_right_edge + want) && pcb->state == ESTABLISHED) {
      tcp_ack_now(pcb);
      tcp_output(pcb);
    }
  }
  return consumed - pay;
}

static void
tcp_window_adjust(struct lw_sock *s)
{
  struct tcp_pcb *pcb = s->pcb.tcp;
  u32_t target = tcp_window_target_held(s);
  if (pcb == NULL || pcb->state == CLOSED || pcb->state == LISTEN ||
      pcb->state == SYN_SENT || pcb->state == SYN_RCVD) {
    /* Before the handshake completes, lwIP resets the window itself (tcp_connect, and
     * again when window scaling is agreed), so nothing can be held yet. */
    s->wnd_held = 0;
    return;
  }
  if (target > s->wnd_held) {
    u32_t take = target - s->wnd_held;
    /* Data the peer was already allowed to send must still fit: lwIP would trim it
     * and the peer would only recover by retransmission timeouts. */
    u32_t promised = TCP_SEQ_GT(pcb->rcv_ann_right_edge, pcb->rcv_nxt) ? pcb->rcv_ann_right_edge - pcb->rcv_nxt : 0;
    u32_t spare = pcb->rcv_wnd > promised ? pcb->rcv_wnd - promised : 0;
    if (take > spare) {
      take = spare;   /* the rest is held back as data is read */
    }
    pcb->rcv_wnd -= take;
    s->wnd_held += take;
    if (pcb->rcv_ann_wnd > pcb->rcv_wnd) {
      pcb->rcv_ann_wnd = pcb->rcv_wnd;   /* announce no more than is left */
    }
  } else if (target < s->wnd_held) {
    u32_t give = s->wnd_held - target;
    s->wnd_held -= give;
    tcp_give_window(pcb, give);
  }
}

/* Returns the withheld window before lwIP closes the pcb, so that its "unread data
 * means RST" test sees only real unread data. */
void
sock_opt_release(struct lw_sock *s)
{
  struct lw_group *g = s->groups;
  if (s->type == LW_SOCK_STREAM && s->pcb.tcp != NULL && s->pcb.tcp->state != LISTEN && s->wnd_held > 0) {
    tcp_give_window(s->pcb.tcp, s->wnd_held);
    s->wnd_held = 0;
  }
  while (g != NULL) {
    struct lw_group *next = g->next;
    if (IP_IS_V6_VAL(g->group)) {
      struct netif *n = g->ifindex ? netif_get_by_index((u8_t)g->ifindex) : NULL;
      if (n != NULL) {
        mld6_leavegroup_netif(n, ip_2_ip6(&g->group));
      } else if (g->ifindex == 0) {
        mld6_leavegroup(IP6_ADDR_ANY6, ip_2_ip6(&g->group));
      }
    } else {
      igmp_leavegroup(&g->ifaddr, ip_2_ip4(&g->group));
    }
    free(g);
    g = next;
  }
  s->groups = NULL;
}

u32_t
sock_tcp_send_room(const struct lw_sock *s)
{
  const struct tcp_pcb *pcb = s->pcb.tcp;
  u32_t limit = s->sndbuf / 2;
  u32_t free_ = pcb->snd_buf;   /* not tcp_sndbuf(), which stops at 64 KiB */
  u32_t queued = TCP_SND_BUF - free_;
  u32_t room = limit > queued ? limit - queued : 0;
  return room < free_ ? room : free_;
}

/* Copies the socket's options onto its current pcb (new, reopened, or accepted). */
void
sock_opt_apply_tcp(struct lw_sock *s)
{
  struct tcp_pcb *pcb = s->pcb.tcp;
  if (pcb == NULL) {
    return;
  }
  pcb->ttl = s->ttl;
  pcb->tos = s->tos;
  if (s->opt_flags & (OF_REUSEADDR | OF_REUSEPORT)) {
    ip_set_option(pcb, SOF_REUSEADDR);
  } else {
    ip_reset_option(pcb, SOF_REUSEADDR);
  }
  if (s->opt_flags & OF_KEEPALIVE) {
    ip_set_option(pcb, SOF_KEEPALIVE);
  } else {
    ip_reset_option(pcb, SOF_KEEPALIVE);
  }
  if (pcb->state == LISTEN) {
    return;
  }
  if (s->opt_flags & OF_NODELAY) {
    tcp_nagle_disable(pcb);
  } else {
    tcp_nagle_enable(pcb);
  }
  pcb->keep_idle = s->keep_idle;
  pcb->keep_intvl = s->keep_intvl;
  pcb->keep_cnt = s->keep_cnt;
  if (s->maxseg != 0 && pcb->state != SYN_SENT && pcb->mss > s->maxseg) {
    pcb->mss = s->maxseg;
  }
  tcp_window_adjust(s);
}

static int
get_int(const u8_t *val, u32_t len, s32_t *out)
{
  if (len < 4) {
    return -LW_EINVAL;
  }
  memcpy(out, val, 4);
  return 0;
}

static int
put_int(u8_t *out, u32_t cap, s32_t v)
{
  if (cap < 4) {
    return -LW_EINVAL;
  }
  memcpy(out, &v, 4);
  return 4;
}

/* Linux: min_t(u32, val, rmem_max) (so a negative value means the maximum), doubled,
 * then at least the minimum. */
static u32_t
clamp_buf(s32_t v, u32_t min)
{
  u32_t d = (u32_t)v > BUF_MAX / 2 ? BUF_MAX : 2u * (u32_t)v;
  return d < min ? min : d;
}

static int
group_change(struct lw_sock *s, int join, const ip_addr_t *group, const ip4_addr_t *ifaddr, u32_t ifindex)
{
  struct lw_group **pp = &s->groups, *g;
  int count = 0;
  err_t err;
  for (; *pp != NULL; pp = &(*pp)->next, count++) {
    g = *pp;
    if (ip_addr_cmp(&g->group, group) &&
        (IP_IS_V6(group) ? g->ifindex == ifindex : ip4_addr_cmp(&g->ifaddr, ifaddr))) {
      break;
    }
  }
  if (join) {
    if (*pp != NULL) {
      return -LW_EADDRINUSE;   /* Linux: already a member */
    }
    if (count >= MAX_GROUPS) {
      return -LW_ENOBUFS;
    }
    if (IP_IS_V6(group)) {
      struct netif *n = ifindex ? netif_get_by_index((u8_t)ifindex) : NULL;
      if (ifindex && n == NULL) {
        return -LW_ENODEV;
      }
      err = n ? mld6_joingroup_netif(n, ip_2_ip6(group)) : mld6_joingroup(IP6_ADDR_ANY6, ip_2_ip6(group));
    } else {
      err = igmp_joingroup(ifaddr, ip_2_ip4(group));
    }
    if (err != ERR_OK) {
      return err == ERR_VAL ? -LW_EADDRNOTAVAIL : -LW_ENOBUFS;
    }
    g = (struct lw_group *)calloc(1, sizeof(*g));
    if (g == NULL) {
      return -LW_ENOMEM;
    }
    ip_addr_copy(g->group, *group);
    g->ifindex = ifindex;
    ip4_addr_copy(g->ifaddr, *ifaddr);
    *pp = g;
    return 0;
  }
  if (*pp == NULL) {
    return -LW_EADDRNOTAVAIL;   /* Linux: not a member */
  }
  g = *pp;
  *pp = g->next;
  if (IP_IS_V6(group)) {
    struct netif *n = ifindex ? netif_get_by_index((u8_t)ifindex) : NULL;
    if (n) {
      mld6_leavegroup_netif(n, ip_2_ip6(group));
    } else {
      mld6_leavegroup(IP6_ADDR_ANY6, ip_2_ip6(group));
    }
  } else {
    igmp_leavegroup(ifaddr, ip_2_ip4(group));
  }
  free(g);
  return 0;
}

static int
opt_membership(struct lw_sock *s, int name, const u8_t *val, u32_t len)
{
  ip_addr_t group;
  ip4_addr_t ifaddr;
  u32_t ifindex = 0;
  if (s->type != LW_SOCK_DGRAM) {
    return -LW_EPROTO;   /* Linux refuses memberships on TCP sockets with EPROTO */
  }
  memset(&group, 0, sizeof(group));
  ip4_addr_set_any(&ifaddr);
  if (name == LW_IP_ADD_MEMBERSHIP || name == LW_IP_DROP_MEMBERSHIP) {
    u32_t g, i;
    if (len < 8) {
      return -LW_EINVAL;
    }
    memcpy(&g, val, 4);
    memcpy(&i, val + 4, 4);
    ip_addr_set_ip4_u32_val(group, g);
    ip4_addr_set_u32(&ifaddr, i);
    if (!ip4_addr_ismulticast(ip_2_ip4(&group))) {
      return -LW_EINVAL;
    }
    return group_change(s, name == LW_IP_ADD_MEMBERSHIP, &group, &ifaddr, 0);
  }
  if (len < 20) {
    return -LW_EINVAL;
  }
  IP_SET_TYPE_VAL(group, IPADDR_TYPE_V6);
  memcpy(ip_2_ip6(&group)->addr, val, 16);
  ip6_addr_clear_zone(ip_2_ip6(&group));
  memcpy(&ifindex, val + 16, 4);
  if (!ip6_addr_ismulticast(ip_2_ip6(&group))) {
    return -LW_EINVAL;
  }
  return group_change(s, name == LW_IPV6_JOIN_GROUP, &group, &ifaddr, ifindex);
}

LW_EXPORT int
sock_setsockopt(int fd, int level, int name, const u8_t *val, u32_t len)
{
  struct lw_sock *s = sock_get(fd);
  s32_t v = 0;
  int tcp = 0;
  if (s == NULL) {
    return -LW_EBADF;
  }
  tcp = s->type == LW_SOCK_STREAM;
  /* Options that take a structure. */
  if (level == LW_SOL_SOCKET && name == LW_SO_LINGER) {
    s32_t onoff, secs;
    if (len < 8) {
      return -LW_EINVAL;
    }
    memcpy(&onoff, val, 4);
    memcpy(&secs, val + 4, 4);
    s->opt_flags = (u8_t)(onoff ? s->opt_flags | OF_LINGER : s->opt_flags & ~OF_LINGER);
    s->linger = (u16_t)(secs < 0 ? 0 : secs > 0xFFFF ? 0xFFFF : secs);
    return 0;
  }
  if ((level == LW_IPPROTO_IP && (name == LW_IP_ADD_MEMBERSHIP || name == LW_IP_DROP_MEMBERSHIP)) ||
      (level == LW_IPPROTO_IPV6 && (name == LW_IPV6_JOIN_GROUP || name == LW_IPV6_LEAVE_GROUP))) {
    if ((level == LW_IPPROTO_IPV6) != (s->domain == LW_AF_INET6) && level == LW_IPPROTO_IPV6) {
      return -LW_ENOPROTOOPT;
    }
    return opt_membership(s, name, val, len);
  }
  if (get_int(val, len, &v) < 0) {
    return -LW_EINVAL;
  }
  switch (level) {
    case LW_SOL_SOCKET:
      switch (name) {
        case LW_SO_REUSEADDR:
        case LW_SO_REUSEPORT: {
          u8_t f = name == LW_SO_REUSEADDR ? OF_REUSEADDR : OF_REUSEPORT;
          s->opt_flags = (u8_t)(v ? s->opt_flags | f : s->opt_flags & ~f);
          if (s->pcb.any != NULL) {
            if (s->opt_flags & (OF_REUSEADDR | OF_REUSEPORT)) {
              ip_set_option((struct ip_pcb *)s->pcb.any, SOF_REUSEADDR);
            } else {
              ip_reset_option((struct ip_pcb *)s->pcb.any, SOF_REUSEADDR);
            }
          }
          return 0;
        }
        case LW_SO_KEEPALIVE:
          s->opt_flags = (u8_t)(v ? s->opt_flags | OF_KEEPALIVE : s->opt_flags & ~OF_KEEPALIVE);
          break;
        case LW_SO_BROADCAST:
          s->opt_flags = (u8_t)(v ? s->opt_flags | OF_BROADCAST : s->opt_flags & ~OF_BROADCAST);
          if (!tcp && s->pcb.udp != NULL) {
            if (v) {
              ip_set_option(s->pcb.udp, SOF_BROADCAST);
            } else {
              ip_reset_option(s->pcb.udp, SOF_BROADCAST);
            }
          }
          return 0;
        case LW_SO_SNDBUF:
          s->sndbuf = clamp_buf(v, BUF_MIN_SND);
          break;
        case LW_SO_RCVBUF:
          s->rcvbuf = clamp_buf(v, BUF_MIN_RCV);
          break;
        case LW_SO_RCVLOWAT:
          if (v < 0) {
            v = 0x7fffffff;   /* Linux: INT_MAX */
          }
          if (tcp && (u32_t)v > s->rcvbuf / 2) {
            v = (s32_t)(s->rcvbuf / 2);   /* tcp_set_rcvlowat: never more than the window */
          }
          s->rcvlowat = v == 0 ? 1 : (u32_t)v;   /* Linux treats 0 as 1 */
          break;
        case LW_SO_RCVTIMEO:
        case LW_SO_SNDTIMEO:
          if (v < 0) {
            v = 0;   /* Linux: a negative time means no timeout */
          }
          if (name == LW_SO_RCVTIMEO) {
            s->rcvtimeo = (u32_t)v;
          } else {
            s->sndtimeo = (u32_t)v;
          }
          return 0;
        case LW_SO_PEEK_OFF:
          s->peek_off = v < 0 ? -1 : v;
          return 0;
        default:
          return -LW_ENOPROTOOPT;   /* unknown, or read-only (SO_TYPE, SO_ERROR, ...) */
      }
      break;
    case LW_IPPROTO_TCP:
      if (!tcp) {
        return -LW_ENOPROTOOPT;
      }
      switch (name) {
        case LW_TCP_NODELAY:
          s->opt_flags = (u8_t)(v ? s->opt_flags | OF_NODELAY : s->opt_flags & ~OF_NODELAY);
          break;
        case LW_TCP_MAXSEG:
          if (v < 88 || v > 32767) {
            return -LW_EINVAL;   /* Linux: TCP_MIN_MSS to MAX_TCP_WINDOW */
          }
          s->maxseg = (u16_t)v;
          break;
        case LW_TCP_KEEPIDLE:
        case LW_TCP_KEEPINTVL:
          if (v < 1 || v > 32767) {
            return -LW_EINVAL;
          }
          if (name == LW_TCP_KEEPIDLE) {
            s->keep_idle = (u32_t)v * 1000u;
          } else {
            s->keep_intvl = (u32_t)v * 1000u;
          }
          break;
        case LW_TCP_KEEPCNT:
          if (v < 1 || v > 127) {
            return -LW_EINVAL;
          }
          s->keep_cnt = (u32_t)v;
          break;
        default:
          return -LW_ENOPROTOOPT;
      }
      break;
    case LW_IPPROTO_IP:
    case LW_IPPROTO_IPV6:
      if (level == LW_IPPROTO_IPV6 && s->domain != LW_AF_INET6) {
        return -LW_ENOPROTOOPT;
      }
      switch (name | (level << 8)) {
        case LW_IP_TTL | (LW_IPPROTO_IP << 8):
        case LW_IPV6_UNICAST_HOPS | (LW_IPPROTO_IPV6 << 8):
          if (v == -1) {
            v = 64;
          }
          if (v < (level == LW_IPPROTO_IP ? 1 : 0) || v > 255) {
            return -LW_EINVAL;
          }
          s->ttl = (u8_t)v;
          break;
        case LW_IP_TOS | (LW_IPPROTO_IP << 8):
        case LW_IPV6_TCLASS | (LW_IPPROTO_IPV6 << 8):
          /* Linux: IP_TOS takes any int and keeps its low byte; IPV6_TCLASS takes -1
           * (default) to 255. TCP keeps the ECN bits to itself. */
          if (level == LW_IPPROTO_IPV6) {
            if (v < -1 || v > 255) {
              return -LW_EINVAL;
            }
            if (v == -1) {
              v = 0;
            }
          }
          s->tos = (u8_t)((u32_t)v & (tcp ? 0xfcu : 0xffu));
          break;
        case LW_IPV6_V6ONLY | (LW_IPPROTO_IPV6 << 8):
          if (s->flags & SF_BOUND) {
            return -LW_EINVAL;   /* Linux: only before bind/connect */
          }
          s->opt_flags = (u8_t)(v ? s->opt_flags | OF_V6ONLY : s->opt_flags & ~OF_V6ONLY);
          return 0;
        case LW_IP_MULTICAST_TTL | (LW_IPPROTO_IP << 8):
        case LW_IPV6_MULTICAST_HOPS | (LW_IPPROTO_IPV6 << 8):
          if (tcp) {
            return level == LW_IPPROTO_IP ? -LW_EINVAL : -LW_ENOPROTOOPT;   /* as Linux */
          }
          if (v == -1) {
            v = 1;
          }
          if (v < 0 || v > 255) {
            return -LW_EINVAL;
          }
          udp_set_multicast_ttl(s->pcb.udp, (u8_t)v);
          return 0;
        case LW_IP_MULTICAST_LOOP | (LW_IPPROTO_IP << 8):
        case LW_IPV6_MULTICAST_LOOP | (LW_IPPROTO_IPV6 << 8):
          if (tcp) {
            /* Linux accepts it on TCP and reads it back; it has no effect there. */
            s->opt_flags = (u8_t)(v ? s->opt_flags & ~OF_NOMCLOOP : s->opt_flags | OF_NOMCLOOP);
            return 0;
          }
          udp_setflags(s->pcb.udp, (u8_t)(v ? s->pcb.udp->flags | UDP_FLAGS_MULTICAST_LOOP
                                           : s->pcb.udp->flags & ~UDP_FLAGS_MULTICAST_LOOP));
          return 0;
        case LW_IPV6_MULTICAST_IF | (LW_IPPROTO_IPV6 << 8):
          if (tcp) {
            return -LW_ENOPROTOOPT;
          }
          if (v != 0 && (v > 255 || netif_get_by_index((u8_t)v) == NULL)) {
            return -LW_ENODEV;
          }
          udp_set_multicast_netif_index(s->pcb.udp, (u8_t)v);
          return 0;
        case LW_IP_MULTICAST_IF | (LW_IPPROTO_IP << 8): {
          ip4_addr_t a;
          if (tcp) {
            return -LW_EINVAL;   /* as Linux */
          }
          ip4_addr_set_u32(&a, (u32_t)v);
          udp_set_multicast_netif_addr(s->pcb.udp, &a);
          return 0;
        }
        default:
          return -LW_ENOPROTOOPT;
      }
      if (!tcp && s->pcb.udp != NULL) {
        s->pcb.udp->ttl = s->ttl;
        s->pcb.udp->tos = s->tos;
      }
      break;
    default:
      return -LW_ENOPROTOOPT;
  }
  if (tcp) {
    sock_opt_apply_tcp(s);
  }
  sock_refresh(s);
  return 0;
}

static int
tcp_linux_state(const struct lw_sock *s)
{
  if (s->pcb.tcp == NULL) {
    return LW_TCP_CLOSE;
  }
  switch (s->pcb.tcp->state) {
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

LW_EXPORT int
sock_getsockopt(int fd, int level, int name, u8_t *out, u32_t cap)
{
  struct lw_sock *s = sock_get(fd);
  int tcp;
  if (s == NULL) {
    return -LW_EBADF;
  }
  tcp = s->type == LW_SOCK_STREAM;
  switch (level) {
    case LW_SOL_SOCKET:
      switch (name) {
        case LW_SO_TYPE: return put_int(out, cap, s->type);
        case LW_SO_PROTOCOL: return put_int(out, cap, tcp ? LW_IPPROTO_TCP : LW_IPPROTO_UDP);
        case LW_SO_DOMAIN: return put_int(out, cap, s->domain);
        case LW_SO_ERROR: {
          int e = s->err;
          s->err = 0;
          sock_refresh(s);
          return put_int(out, cap, e);
        }
        case LW_SO_ACCEPTCONN: return put_int(out, cap, s->state == LS_LISTEN);
        case LW_SO_REUSEADDR: return put_int(out, cap, (s->opt_flags & OF_REUSEADDR) != 0);
        case LW_SO_REUSEPORT: return put_int(out, cap, (s->opt_flags & OF_REUSEPORT) != 0);
        case LW_SO_KEEPALIVE: return put_int(out, cap, (s->opt_flags & OF_KEEPALIVE) != 0);
        case LW_SO_BROADCAST: return put_int(out, cap, (s->opt_flags & OF_BROADCAST) != 0);
        case LW_SO_SNDBUF: return put_int(out, cap, (s32_t)s->sndbuf);
        case LW_SO_RCVBUF: return put_int(out, cap, (s32_t)s->rcvbuf);
        case LW_SO_RCVLOWAT: return put_int(out, cap, (s32_t)s->rcvlowat);
        case LW_SO_RCVTIMEO: return put_int(out, cap, (s32_t)s->rcvtimeo);
        case LW_SO_SNDTIMEO: return put_int(out, cap, (s32_t)s->sndtimeo);
        case LW_SO_PEEK_OFF: return put_int(out, cap, s->peek_off);
        case LW_SO_LINGER: {
          s32_t pair[2];
          if (cap < 8) {
            return -LW_EINVAL;
          }
          pair[0] = (s->opt_flags & OF_LINGER) != 0;
          pair[1] = s->linger;
          memcpy(out, pair, 8);
          return 8;
        }
        default: return -LW_ENOPROTOOPT;
      }
    case LW_IPPROTO_TCP:
      if (!tcp) {
        return -LW_ENOPROTOOPT;
      }
      switch (name) {
        case LW_TCP_NODELAY: return put_int(out, cap, (s->opt_flags & OF_NODELAY) != 0);
        case LW_TCP_MAXSEG:
          if (s->pcb.tcp != NULL && s->state == LS_CONNECTED) {
            return put_int(out, cap, s->pcb.tcp->mss);
          }
          return put_int(out, cap, s->maxseg ? s->maxseg : 536);   /* Linux's default before connect */
        case LW_TCP_KEEPIDLE: return put_int(out, cap, (s32_t)(s->keep_idle / 1000u));
        case LW_TCP_KEEPINTVL: return put_int(out, cap, (s32_t)(s->keep_intvl / 1000u));
        case LW_TCP_KEEPCNT: return put_int(out, cap, (s32_t)s->keep_cnt);
        default: return -LW_ENOPROTOOPT;
      }
    case LW_IPPROTO_IP:
    case LW_IPPROTO_IPV6:
      if (level == LW_IPPROTO_IPV6 && s->domain != LW_AF_INET6) {
        return -LW_ENOPROTOOPT;
      }
      switch (name | (level << 8)) {
        case LW_IP_TTL | (LW_IPPROTO_IP << 8):
        case LW_IPV6_UNICAST_HOPS | (LW_IPPROTO_IPV6 << 8):
          return put_int(out, cap, s->ttl);
        case LW_IP_TOS | (LW_IPPROTO_IP << 8):
        case LW_IPV6_TCLASS | (LW_IPPROTO_IPV6 << 8):
          return put_int(out, cap, s->tos);
        case LW_IPV6_V6ONLY | (LW_IPPROTO_IPV6 << 8):
          return put_int(out, cap, (s->opt_flags & OF_V6ONLY) != 0);
        case LW_IP_MULTICAST_TTL | (LW_IPPROTO_IP << 8):
          return put_int(out, cap, tcp ? 1 : udp_get_multicast_ttl(s->pcb.udp));   /* TCP: Linux's default */
        case LW_IPV6_MULTICAST_HOPS | (LW_IPPROTO_IPV6 << 8):
          return tcp ? -LW_ENOPROTOOPT : put_int(out, cap, udp_get_multicast_ttl(s->pcb.udp));
        case LW_IP_MULTICAST_LOOP | (LW_IPPROTO_IP << 8):
        case LW_IPV6_MULTICAST_LOOP | (LW_IPPROTO_IPV6 << 8):
          return put_int(out, cap, tcp ? (s->opt_flags & OF_NOMCLOOP) == 0
                                       : (s->pcb.udp->flags & UDP_FLAGS_MULTICAST_LOOP) != 0);
        case LW_IP_MULTICAST_IF | (LW_IPPROTO_IP << 8):
          return put_int(out, cap, tcp ? 0 : (s32_t)ip4_addr_get_u32(udp_get_multicast_netif_addr(s->pcb.udp)));
        case LW_IPV6_MULTICAST_IF | (LW_IPPROTO_IPV6 << 8):
          return tcp ? -LW_ENOPROTOOPT : put_int(out, cap, udp_get_multicast_netif_index(s->pcb.udp));
        default:
          return -LW_ENOPROTOOPT;
      }
    default:
      return -LW_ENOPROTOOPT;
  }
}

/* The Linux TCP state of a socket (for ss and TCP_INFO). */
int
sock_tcp_state(const struct lw_sock *s)
{
  return tcp_linux_state(s);
}
