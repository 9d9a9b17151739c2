/* The change stream: one queue of everything JS may be waiting on (a socket's
 * readiness, an epoll instance with events, a DNS answer, a DHCP lease). Owners post
 * to it as things change; after every batch JS drains it with stack_changed and wakes
 * exactly the waiters concerned, so a wake-up costs O(changed), never a scan. Entries
 * are intrusive (no allocation), queued at most once, and unlinked in O(1). */
#include "lw.h"

static struct lw_changer *head, *tail;

void
change_init(struct lw_changer *c, u8_t kind, s32_t id)
{
  c->next = c->prev = NULL;
  c->kind = kind;
  c->id = id;
  c->events = 0;
  c->queued = 0;
}

/* Records events as c's latest and queues c if it is not queued already. */
void
change_post(struct lw_changer *c, u32_t events)
{
  c->events = events;
  if (c->queued) {
    return;
  }
  c->queued = 1;
  c->next = NULL;
  c->prev = tail;
  if (tail != NULL) {
    tail->next = c;
  } else {
    head = c;
  }
  tail = c;
}

/* Takes c off the queue (its owner is going away, or JS no longer needs it). */
void
change_drop(struct lw_changer *c)
{
  if (!c->queued) {
    return;
  }
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    head = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  } else {
    tail = c->prev;
  }
  c->next = c->prev = NULL;
  c->queued = 0;
}

/* Drains up to max entries, oldest first. */
LW_EXPORT int
stack_changed(struct lw_change *out, int max)
{
  int n = 0;
  /* bounded by max, and by the queue: each owner is on it at most once */
  while (head != NULL && n < max) {
    struct lw_changer *c = head;
    change_drop(c);
    out[n].kind = c->kind;
    out[n].id = c->id;
    out[n].events = c->events;
    n++;
  }
  return n;
}
