/* The descriptor table: socket structures, their lowest-free descriptors (as POSIX
 * gives them), and their readiness bits, which post to the change stream (change.c)
 * whenever they change. */
#include <stdlib.h>
#include <string.h>
#include "lw.h"

static struct lw_sock **fds;
static u32_t fd_cap;
static u32_t fd_hint = 3;      /* lowest fd that may be free; 0-2 are left unused, as on a host */
static u32_t nsocks;

u32_t
sock_count(void)
{
  return nsocks;
}

/* One past the highest descriptor the table can hold (for walks over every socket). */
u32_t
sock_fd_cap(void)
{
  return fd_cap;
}

struct lw_sock *
sock_get(int fd)
{
  return (fd >= 0 && (u32_t)fd < fd_cap) ? fds[fd] : NULL;
}

struct lw_sock *
sock_alloc(u8_t domain, u8_t type)
{
  struct lw_sock *s = (struct lw_sock *)calloc(1, sizeof(*s));
  if (s != NULL) {
    s->fd = -1;
    change_init(&s->change, LW_CHANGE_SOCK, -1);
    s->domain = domain;
    s->type = type;
    sock_opt_init(s);
    nsocks++;
  }
  return s;
}

/* Gives s the lowest free descriptor, as POSIX requires. */
int
sock_assign_fd(struct lw_sock *s)
{
  u32_t fd;
  for (fd = fd_hint; fd < fd_cap && fds[fd] != NULL; fd++) {
  }
  if (fd >= lw_cfg.max_fds) {
    return -LW_EMFILE;
  }
  if (fd >= fd_cap) {
    u32_t cap = fd_cap ? fd_cap * 2 : 64;
    struct lw_sock **n = (struct lw_sock **)realloc(fds, cap * sizeof(*n));
    if (n == NULL) {
      return -LW_ENOMEM;
    }
    memset(n + fd_cap, 0, (cap - fd_cap) * sizeof(*n));
    fds = n;
    fd_cap = cap;
  }
  fds[fd] = s;
  s->fd = (int)fd;
  s->change.id = (s32_t)fd;
  fd_hint = fd + 1;
  return (int)fd;
}

void
sock_free(struct lw_sock *s)
{
  epoll_sock_gone(s);
  if (s->fd >= 0) {
    fds[s->fd] = NULL;
    if ((u32_t)s->fd < fd_hint) {
      fd_hint = (u32_t)s->fd;
    }
  }
  change_drop(&s->change);
  nsocks--;
  free(s);
}

/* Recomputes readiness; a socket whose bits changed is posted to the change stream
 * (once a descriptor is its: connections still in an accept queue are not). */
void
sock_refresh(struct lw_sock *s)
{
  u32_t ev = s->type == LW_SOCK_STREAM ? tcp_sock_events(s) : udp_sock_events(s);
  if (s->layer != NULL) {
    ev = s->layer->ops->events(s, ev);
  }
  if (ev != s->events) {
    u32_t old = s->events;
    s->events = ev;
    epoll_sock_changed(s, old);
    if (s->fd >= 0) {
      change_post(&s->change, ev);
    }
  }
}
