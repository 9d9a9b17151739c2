/* The socket calls JS makes (abi.h): each finds the socket, checks what applies to
 * every protocol, and hands the rest to sock_tcp.c or sock_udp.c. Nothing below this
 * file is exported. */
#include <string.h>
#include "lw.h"

LW_EXPORT int
sock_socket(int domain, int type)
{
  struct lw_sock *s;
  int fd, r;
  if (domain != LW_AF_INET && domain != LW_AF_INET6) {
    return -LW_EAFNOSUPPORT;
  }
  if (type != LW_SOCK_STREAM && type != LW_SOCK_DGRAM) {
    return -LW_EPROTONOSUPPORT;
  }
  s = sock_alloc((u8_t)domain, (u8_t)type);
  if (s == NULL) {
    return -LW_ENOMEM;
  }
  r = type == LW_SOCK_STREAM ? tcp_sock_open(s) : udp_sock_open(s);
  if (r < 0) {
    sock_free(s);
    return r;
  }
  fd = sock_assign_fd(s);
  if (fd < 0) {
    if (type == LW_SOCK_STREAM) {
      tcp_sock_close(s);
    } else {
      udp_sock_close(s);
    }
    sock_free(s);
    return fd;
  }
  sock_refresh(s);
  return fd;
}

#define SOCK_OR_EBADF(s, fd) \
  struct lw_sock *s = sock_get(fd); \
  if (s == NULL) { \
    return -LW_EBADF; \
  }

LW_EXPORT int
sock_bind(int fd, const struct lw_addr *a)
{
  ip_addr_t ip;
  u16_t port;
  int r;
  SOCK_OR_EBADF(s, fd);
  if ((r = sock_addr_in(s, a, &ip, &port)) < 0) {
    return r;
  }
  if (!sock_addr_is_local(&ip)) {
    return -LW_EADDRNOTAVAIL;
  }
  if (s->flags & SF_BOUND) {
    return -LW_EINVAL;
  }
  if (s->domain == LW_AF_INET6 && IP_IS_V6(&ip) && ip_addr_isany(&ip) && !(s->opt_flags & OF_V6ONLY)) {
    ip_addr_copy(ip, *IP_ANY_TYPE);   /* "::" takes IPv4 too, as Linux's default */
  }
  r = s->type == LW_SOCK_STREAM ? tcp_sock_bind(s, &ip, port) : udp_sock_bind(s, &ip, port);
  if (r == 0) {
    s->flags |= SF_BOUND;
  }
  return r;
}

LW_EXPORT int
sock_listen(int fd, int backlog)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (s->type != LW_SOCK_STREAM) {
    return -LW_EOPNOTSUPP;
  }
  r = tcp_sock_listen(s, backlog);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_accept(int fd, struct lw_addr *peer)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (s->type != LW_SOCK_STREAM) {
    return -LW_EOPNOTSUPP;
  }
  r = tcp_sock_accept(s, peer);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_connect(int fd, const struct lw_addr *a, u32_t timeout_ms)
{
  ip_addr_t ip;
  u16_t port;
  int r;
  SOCK_OR_EBADF(s, fd);
  if ((r = sock_addr_in(s, a, &ip, &port)) < 0) {
    return r;
  }
  if ((r = sock_route_check(&ip)) < 0) {
    return r;
  }
  if (s->type == LW_SOCK_STREAM) {
    r = tcp_sock_connect(s, &ip, port, timeout_ms ? timeout_ms : lw_cfg.connect_timeout_ms);
  } else {
    r = udp_sock_connect(s, &ip, port);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_send(int fd, const u8_t *buf, u32_t len, int flags)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;   /* no urgent data */
  }
  if (s->layer != NULL) {
    r = s->layer->ops->send(s, buf, len, flags);
  } else if (s->type == LW_SOCK_STREAM) {
    r = tcp_sock_send(s, buf, len, flags);
  } else {
    if (!(s->flags & SF_UDP_CONN)) {
      return -LW_EDESTADDRREQ;
    }
    r = udp_sock_sendto(s, buf, len, NULL, 0);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_sendto(int fd, const u8_t *buf, u32_t len, int flags, const struct lw_addr *a)
{
  ip_addr_t ip;
  u16_t port;
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;
  }
  if (s->type == LW_SOCK_STREAM) {
    /* Linux ignores the address on a connected stream socket. */
    return sock_send(fd, buf, len, flags);
  }
  if ((r = sock_addr_in(s, a, &ip, &port)) < 0) {
    return r;
  }
  if (port == 0) {
    return -LW_EINVAL;
  }
  if ((r = sock_route_check(&ip)) < 0) {
    return r;
  }
  r = udp_sock_sendto(s, buf, len, &ip, port);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_recv(int fd, u8_t *buf, u32_t len, int flags)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;   /* no urgent data */
  }
  if (s->layer != NULL) {
    r = s->layer->ops->recv(s, buf, len, flags);
  } else {
    r = s->type == LW_SOCK_STREAM ? tcp_sock_recv(s, buf, len, flags)
                                  : udp_sock_recvfrom(s, buf, len, flags, NULL);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_recvfrom(int fd, u8_t *buf, u32_t len, int flags, struct lw_addr *from)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;   /* no urgent data */
  }
  if (s->type == LW_SOCK_STREAM) {
    r = s->layer != NULL ? s->layer->ops->recv(s, buf, len, flags) : tcp_sock_recv(s, buf, len, flags);
    if (r >= 0 && from != NULL) {
      memset(from, 0, sizeof(*from));   /* Linux leaves the address unset for TCP */
    }
  } else {
    r = udp_sock_recvfrom(s, buf, len, flags, from);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_shutdown(int fd, int how)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (how != LW_SHUT_RD && how != LW_SHUT_WR && how != LW_SHUT_RDWR) {
    return -LW_EINVAL;
  }
  if (s->layer != NULL) {
    r = s->layer->ops->shutdown(s, how);
  } else {
    r = s->type == LW_SOCK_STREAM ? tcp_sock_shutdown(s, how) : udp_sock_shutdown(s, how);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_close(int fd)
{
  SOCK_OR_EBADF(s, fd);
  if (s->layer != NULL) {
    s->layer->ops->close(s);   /* frees the layer; the TCP close follows */
  }
  if (s->type == LW_SOCK_STREAM) {
    tcp_sock_close(s);
  } else {
    udp_sock_close(s);
  }
  sock_free(s);
  return 0;
}

/* Current readiness (POLL* bits); -EBADF for a closed descriptor. */
LW_EXPORT int
sock_events(int fd)
{
  SOCK_OR_EBADF(s, fd);
  return (int)s->events;
}

/* Returns and clears the pending error, as getsockopt(SO_ERROR) does. */
LW_EXPORT int
sock_take_error(int fd)
{
  int e;
  SOCK_OR_EBADF(s, fd);
  e = s->err;
  s->err = 0;
  sock_refresh(s);
  return e;
}

LW_EXPORT int
sock_getsockname(int fd, struct lw_addr *out)
{
  SOCK_OR_EBADF(s, fd);
  memset(out, 0, sizeof(*out));
  if (s->pcb.any == NULL) {
    if (s->type == LW_SOCK_STREAM && s->ends.set) {
      sock_addr_out_for(s, out, &s->ends.local, s->ends.lport);   /* the ended connection's */
    } else {
      out->family = s->domain;
    }
    return 0;
  }
  if (s->type == LW_SOCK_STREAM) {
    sock_addr_out_for(s, out, &s->pcb.tcp->local_ip, s->pcb.tcp->local_port);
  } else {
    sock_addr_out_for(s, out, &s->pcb.udp->local_ip, s->pcb.udp->local_port);
  }
  return 0;
}

LW_EXPORT int
sock_getpeername(int fd, struct lw_addr *out)
{
  SOCK_OR_EBADF(s, fd);
  if (s->type == LW_SOCK_STREAM) {
    if (s->state != LS_CONNECTED || s->pcb.tcp == NULL) {
      return -LW_ENOTCONN;
    }
    sock_addr_out_for(s, out, &s->pcb.tcp->remote_ip, s->pcb.tcp->remote_port);
  } else {
    if (!(s->flags & SF_UDP_CONN)) {
      return -LW_ENOTCONN;
    }
    sock_addr_out_for(s, out, &s->pcb.udp->remote_ip, s->pcb.udp->remote_port);
  }
  return 0;
}

/* Bytes that recv() could return now (FIONREAD). */
LW_EXPORT int
sock_pending(int fd)
{
  SOCK_OR_EBADF(s, fd);
  if (s->layer != NULL) {
    return s->layer->ops->pending(s);
  }
  if (s->type == LW_SOCK_STREAM) {
    return (int)s->rx_bytes;
  }
  return s->dg_head ? (int)s->dg_head->p->tot_len : 0;
}
