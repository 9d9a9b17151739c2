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
/* our rmem_max and wmem_max, doubled form: what SO_RCVBUF and SO_SNDBUF may ask for
 * (the receive buffer may still grow past it by itself, to TCP_WND, as on Linux). A
 * send buffer may ask for all lwIP has (TCP_SND_BUF), for paths whose round trip holds
 * more than the default 256 KiB: the relay's gateway towards a browser, a real network. */
#define RCVBUF_MAX  (2u * TCP_BUF_DEFAULT)
#define SNDBUF_MAX  (2u * TCP_SND_BUF)

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
    s->sndbuf = 2u * TCP_BUF_DEFAULT;
    s->rcvbuf = 2u * TCP_BUF_DEFAULT;
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
  c->userlocks = p->userlocks;
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

/* The socket is closing: give back held window (tcp_buf.c) and leave its groups. */
void
sock_opt_release(struct lw_sock *s)
{
  sock_tcp_window_release(s);
  mcast_sock_leave_all(s);
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
  sock_tcp_window_adjust(s);
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
clamp_buf(s32_t v, u32_t min, u32_t max)
{
  u32_t d = (u32_t)v > max / 2 ? max : 2u * (u32_t)v;
  return d < min ? min : d;
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
    struct lw_linger l;
    if (len < sizeof(l)) {
      return -LW_EINVAL;
    }
    memcpy(&l, val, sizeof(l));
    s->opt_flags = (u8_t)(l.onoff ? s->opt_flags | OF_LINGER : s->opt_flags & ~OF_LINGER);
    s->linger = (u16_t)(l.linger < 0 ? 0 : l.linger > 0xFFFF ? 0xFFFF : l.linger);
    return 0;
  }
  if ((level == LW_IPPROTO_IP && (name == LW_IP_ADD_MEMBERSHIP || name == LW_IP_DROP_MEMBERSHIP)) ||
      (level == LW_IPPROTO_IPV6 && (name == LW_IPV6_JOIN_GROUP || name == LW_IPV6_LEAVE_GROUP))) {
    if ((level == LW_IPPROTO_IPV6) != (s->domain == LW_AF_INET6) && level == LW_IPPROTO_IPV6) {
      return -LW_ENOPROTOOPT;
    }
    return mcast_sock_membership(s, name, val, len);
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
          s->sndbuf = clamp_buf(v, BUF_MIN_SND, SNDBUF_MAX);
          s->userlocks |= LOCK_SNDBUF;
          break;
        case LW_SO_RCVBUF:
          s->rcvbuf = clamp_buf(v, BUF_MIN_RCV, RCVBUF_MAX);
          s->userlocks |= LOCK_RCVBUF;
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
          struct lw_linger l;
          if (cap < sizeof(l)) {
            return -LW_EINVAL;
          }
          l.onoff = (s->opt_flags & OF_LINGER) != 0;
          l.linger = s->linger;
          memcpy(out, &l, sizeof(l));
          return (int)sizeof(l);
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
