/* epoll: interest lists and a ready list per instance, kept up to date from the socket
 * layer, so epoll_wait costs O(ready) however many sockets are watched. A socket whose
 * readiness changes, or that receives data, queues its registrations once. */
#include <stdlib.h>
#include <string.h>
#include "lw.h"

#define ALWAYS (LW_EPOLLERR | LW_EPOLLHUP)

struct lw_epitem {
  struct lw_epitem *next_watch;   /* the socket's registrations */
  struct lw_epitem *next_ready;   /* the instance's ready list */
  struct lw_epoll *ep;
  struct lw_sock *s;
  u32_t events;                   /* interest, with EPOLLET / EPOLLONESHOT */
  u8_t queued;
  u8_t disabled;                  /* a one-shot that fired; MOD re-arms it */
};

struct lw_epoll {
  struct lw_epitem *ready_head, *ready_tail;
  u32_t items;
  struct lw_changer change;       /* posted when the ready list stops being empty */
};

static struct lw_epoll **eps;
static u32_t ep_cap;

static struct lw_epoll *
ep_get(int id)
{
  return (id >= 0 && (u32_t)id < ep_cap) ? eps[id] : NULL;
}

static void
ep_enqueue(struct lw_epitem *it)
{
  struct lw_epoll *ep = it->ep;
  if (it->queued || it->disabled) {
    return;
  }
  it->queued = 1;
  it->next_ready = NULL;
  if (ep->ready_tail != NULL) {
    ep->ready_tail->next_ready = it;
  } else {
    ep->ready_head = it;
    change_post(&ep->change, 1);   /* a waiter in JS may now find something */
  }
  ep->ready_tail = it;
}

static void
ep_unlink_ready(struct lw_epitem *it)
{
  struct lw_epoll *ep = it->ep;
  struct lw_epitem **pp = &ep->ready_head, *prev = NULL;
  if (!it->queued) {
    return;
  }
  /* bounded: the ready list holds each of ep's items at most once (queued) */
  while (*pp != NULL && *pp != it) {
    prev = *pp;
    pp = &(*pp)->next_ready;
  }
  if (*pp == it) {
    *pp = it->next_ready;
    if (ep->ready_tail == it) {
      ep->ready_tail = prev;
    }
  }
  it->queued = 0;
}

static void
ep_item_free(struct lw_epitem *it)
{
  struct lw_epitem **pp = &it->s->watchers;
  while (*pp != NULL && *pp != it) {
    pp = &(*pp)->next_watch;
  }
  if (*pp == it) {
    *pp = it->next_watch;
  }
  ep_unlink_ready(it);
  it->ep->items--;
  free(it);
}

/* Readiness changed from old: a level-triggered item queues while a bit it wants is
 * set; an edge-triggered one only when such a bit has just come on (Linux wakes epoll
 * with the bits of the event, so a POLLOUT change is no EPOLLIN edge). */
void
epoll_sock_changed(struct lw_sock *s, u32_t old)
{
  struct lw_epitem *it;
  /* Runs for every packet that changes readiness. bounded: one item per epoll instance
   * watching s, which only JS adds; a peer adds none. */
  for (it = s->watchers; it != NULL; it = it->next_watch) {
    u32_t bits = (it->events & LW_EPOLLET) ? s->events & ~old : s->events;
    if (bits & (it->events | ALWAYS)) {
      ep_enqueue(it);
    }
  }
}

/* New data arrived: an edge-triggered reader gets a new event even if it was readable. */
void
epoll_sock_arrival(struct lw_sock *s)
{
  struct lw_epitem *it;
  /* Runs for every arrival; bounded as in epoll_sock_changed (JS's registrations) */
  for (it = s->watchers; it != NULL; it = it->next_watch) {
    if ((it->events & LW_EPOLLIN) && (s->events & LW_EPOLLIN)) {
      ep_enqueue(it);
    }
  }
}

void
epoll_sock_gone(struct lw_sock *s)
{
  while (s->watchers != NULL) {
    ep_item_free(s->watchers);
  }
}

LW_EXPORT int
epoll_create(void)
{
  u32_t id;
  for (id = 0; id < ep_cap && eps[id] != NULL; id++) {
  }
  if (id >= ep_cap) {
    u32_t cap = ep_cap ? ep_cap * 2 : 8;
    struct lw_epoll **n = (struct lw_epoll **)realloc(eps, cap * sizeof(*n));
    if (n == NULL) {
      return -LW_ENOMEM;
    }
    memset(n + ep_cap, 0, (cap - ep_cap) * sizeof(*n));
    eps = n;
    ep_cap = cap;
  }
  eps[id] = (struct lw_epoll *)calloc(1, sizeof(struct lw_epoll));
  if (eps[id] == NULL) {
    return -LW_ENOMEM;
  }
  change_init(&eps[id]->change, LW_CHANGE_EPOLL, (s32_t)id);
  return (int)id;
}

LW_EXPORT int
epoll_ctl(int id, int op, int fd, u32_t events)
{
  struct lw_epoll *ep = ep_get(id);
  struct lw_sock *s = sock_get(fd);
  struct lw_epitem *it;
  if (ep == NULL || s == NULL) {
    return -LW_EBADF;
  }
  for (it = s->watchers; it != NULL && it->ep != ep; it = it->next_watch) {
  }
  switch (op) {
    case LW_EPOLL_CTL_ADD:
      if (it != NULL) {
        return -LW_EEXIST;
      }
      it = (struct lw_epitem *)calloc(1, sizeof(*it));
      if (it == NULL) {
        return -LW_ENOMEM;
      }
      it->ep = ep;
      it->s = s;
      it->events = events;
      it->next_watch = s->watchers;
      s->watchers = it;
      ep->items++;
      break;
    case LW_EPOLL_CTL_MOD:
      if (it == NULL) {
        return -LW_ENOENT;
      }
      it->events = events;
      it->disabled = 0;
      ep_unlink_ready(it);
      break;
    case LW_EPOLL_CTL_DEL:
      if (it == NULL) {
        return -LW_ENOENT;
      }
      ep_item_free(it);
      return 0;
    default:
      return -LW_EINVAL;
  }
  /* A socket that is already ready is reported by the next wait, as on Linux. */
  if (s->events & (it->events | ALWAYS)) {
    ep_enqueue(it);
  }
  return 0;
}

/* Fills out with up to max events; returns how many. */
LW_EXPORT int
epoll_wait(int id, struct lw_epoll_event *out, int max)
{
  struct lw_epoll *ep = ep_get(id);
  struct lw_epitem *it, *requeue_head = NULL, *requeue_tail = NULL;
  int n = 0;
  if (ep == NULL) {
    return -LW_EBADF;
  }
  if (max <= 0) {
    return -LW_EINVAL;
  }
  /* bounded: each pass takes an item off the ready list, and the ones that stay ready
   * go on requeue_head, so each item is seen at most once a wait */
  while (n < max && (it = ep->ready_head) != NULL) {
    u32_t rev;
    ep->ready_head = it->next_ready;
    if (ep->ready_head == NULL) {
      ep->ready_tail = NULL;
    }
    it->queued = 0;
    rev = it->s->events & ((it->events & ~(LW_EPOLLET | LW_EPOLLONESHOT)) | ALWAYS);
    if (rev == 0 || it->disabled) {
      continue;   /* no longer ready: dropped here, so waits stay O(ready) */
    }
    out[n].fd = it->s->fd;
    out[n].events = rev;
    n++;
    if (it->events & LW_EPOLLONESHOT) {
      it->disabled = 1;
    } else if (!(it->events & LW_EPOLLET)) {
      /* level-triggered: still ready, so it stays queued (behind the others) */
      it->queued = 1;
      it->next_ready = NULL;
      if (requeue_tail) {
        requeue_tail->next_ready = it;
      } else {
        requeue_head = it;
      }
      requeue_tail = it;
    }
  }
  if (requeue_head != NULL) {
    if (ep->ready_tail != NULL) {
      ep->ready_tail->next_ready = requeue_head;
    } else {
      ep->ready_head = requeue_head;
    }
    ep->ready_tail = requeue_tail;
  }
  return n;
}

LW_EXPORT int
epoll_close(int id)
{
  struct lw_epoll *ep = ep_get(id);
  u32_t fd;
  if (ep == NULL) {
    return -LW_EBADF;
  }
  /* Free this instance's items from every socket that has one. */
  for (fd = 0; ep->items > 0 && fd < sock_fd_cap(); fd++) {
    struct lw_sock *s = sock_get((int)fd);
    struct lw_epitem *it, *next;
    if (s == NULL) {
      continue;
    }
    for (it = s->watchers; it != NULL; it = next) {
      next = it->next_watch;
      if (it->ep == ep) {
        ep_item_free(it);
      }
    }
  }
  change_drop(&ep->change);
  free(ep);
  eps[id] = NULL;
  return 0;
}
