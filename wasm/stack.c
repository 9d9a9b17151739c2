/* Stack lifecycle, the main loop's pieces (timers, loopback), frames out, and
 * counters. JS hands frames in (stack_rx.c), calls stack_poll(), then drains the
 * outbox and the changed-socket list. */
#include <stdlib.h>
#include <string.h>
#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "lwip/netif.h"
#include "lwip/memp.h"
#include "lwip/stats.h"
#include "lwip/igmp.h"
#include "lwip/mld6.h"
#include "lwip/dhcp.h"
#include "lw.h"
#include "hooks.h"

unsigned int lw_tcp_msl = 30000;   /* TIME_WAIT = 2 * MSL = 60 s, as on Linux */

struct lw_config lw_cfg = {
  75000,   /* connect_timeout_ms: Linux gives up after about 127 s; 75 s as BSD does */
  65536,   /* max_fds */
  212992,  /* udp_rcvbuf: Linux's default rmem */
};

/* Growable byte buffers. The outbox holds frames lwIP sent since the last drain, each
 * a struct lw_frame header (abi.h) and its bytes, padded to 4. Frames in: stack_rx.c. */
struct lw_buf {
  u8_t *data;
  u32_t len, cap;
};
static struct lw_buf outbox, scratch;

static int
buf_reserve(struct lw_buf *b, u32_t need)
{
  if (need > b->cap) {
    u32_t cap = b->cap ? b->cap : 4096;
    u8_t *p;
    /* bounded: cap doubles from 4 KiB, at most 19 times; past 2 GiB it would wrap to 0 */
    while (cap < need) {
      if (cap > 0x7fffffffu) {
        return -LW_ENOMEM;
      }
      cap *= 2;
    }
    p = (u8_t *)realloc(b->data, cap);
    if (p == NULL) {
      return -LW_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
  }
  return 0;
}

/* Room for one outgoing frame of len bytes on interface ifindex: returns where its
 * bytes go (the header is written here). */
u8_t *
lw_outbox_reserve(u32_t ifindex, u32_t len, u32_t seg_max)
{
  struct lw_frame hdr;
  u32_t rec = (u32_t)sizeof(hdr) + ((len + 3u) & ~3u);
  u8_t *at;
  if (buf_reserve(&outbox, outbox.len + rec) < 0) {
    return NULL;
  }
  at = outbox.data + outbox.len;
  outbox.len += rec;
  hdr.ifindex = ifindex;
  hdr.len = len;
  hdr.seg_max = seg_max;
  memcpy(at, &hdr, sizeof(hdr));
  return at + sizeof(hdr);
}

/* IGMP and MLD tick every 100 ms but have work only while a group's report is
 * pending. Their two cyclic timers are replaced by one timeout that ticks every 100 ms
 * while some group's timer runs and once a minute otherwise, so an idle stack wakes
 * about once a second instead of 10-20 times (bench: idle CPU). It is always armed,
 * so the count of timeouts in use stays what it was after Stack.create. */
#define GROUP_IDLE_MS 60000
static int group_fast;

static int
group_timers_running(void)
{
  struct netif *n;
  /* Runs after every poll. Only we join groups (MAX_GROUPS a socket, plus lwIP's own
   * for each interface and IPv6 address): a peer's packets add none. */
  NETIF_FOREACH(n) {
    struct igmp_group *g;
    struct mld_group *m;
    for (g = netif_igmp_data(n); g != NULL; g = g->next) {
      if (g->timer > 0) {
        return 1;
      }
    }
    for (m = netif_mld6_data(n); m != NULL; m = m->next) {
      if (m->timer > 0) {
        return 1;
      }
    }
  }
  return 0;
}

static void
group_tick(void *arg)
{
  LWIP_UNUSED_ARG(arg);
  if (group_fast) {
    igmp_tmr();
    mld6_tmr();
  }
  group_fast = group_timers_running();
  sys_timeout(group_fast ? IGMP_TMR_INTERVAL : GROUP_IDLE_MS, group_tick, NULL);
}

/* Called after every poll: a join or a query may have started a group's timer. */
static void
group_tick_check(void)
{
  if (!group_fast && group_timers_running()) {
    group_fast = 1;
    sys_untimeout(group_tick, NULL);
    sys_timeout(IGMP_TMR_INTERVAL, group_tick, NULL);
  }
}

LW_EXPORT int
stack_init(void)
{
  static int done;
  int i;
  if (done) {
    return -LW_EALREADY;
  }
  done = 1;
  lwip_init();
  {
    struct netif *n;
    NETIF_FOREACH(n) {
      n->rs_count = 0;   /* loopback: no router solicitations (see netif_set_autoconf) */
      /* as Linux's lo: 127.255.255.255 is its broadcast, and it joins multicast groups */
      n->flags |= NETIF_FLAG_BROADCAST | NETIF_FLAG_IGMP;
      igmp_start(n);
    }
  }
  for (i = 0; i < lwip_num_cyclic_timers; i++) {
    lwip_cyclic_timer_handler h = lwip_cyclic_timers[i].handler;
    if (h == igmp_tmr || h == mld6_tmr || h == dhcp_fine_tmr) {   /* on demand instead */
      sys_untimeout(lwip_cyclic_timer, LWIP_CONST_CAST(void *, &lwip_cyclic_timers[i]));
    }
  }
  sys_timeout(GROUP_IDLE_MS, group_tick, NULL);
  return icmp_sock_init();
}

/* Runs expired timers and delivers looped-back packets until none are left (bounded,
 * since each delivery may answer with another). Returns the outbox length. */
LW_EXPORT u32_t
stack_poll(void)
{
  int rounds;
  sys_check_timeouts();
  for (rounds = 0; rounds < 1024; rounds++) {
    struct netif *n;
    int pending = 0;
    NETIF_FOREACH(n) {
      if (n->loop_first != NULL) {
        pending = 1;
        netif_poll(n);
      }
    }
    if (!pending) {
      break;
    }
  }
  group_tick_check();
  dhcp_tick_check();
  return outbox.len;
}

/* Milliseconds until lwIP's next timer, or 0xFFFFFFFF when none is armed. */
LW_EXPORT u32_t
stack_next_timeout(void)
{
  return sys_timeouts_sleeptime();
}

LW_EXPORT u8_t *
stack_outbox(void)
{
  return outbox.data;
}

LW_EXPORT void
stack_outbox_clear(void)
{
  outbox.len = 0;
}

LW_EXPORT u8_t *
stack_scratch(u32_t len)
{
  return buf_reserve(&scratch, len) < 0 ? NULL : scratch.data;
}

LW_EXPORT void
stack_set_config(int key, u32_t value)
{
  switch (key) {
    case LW_CONFIG_CONNECT_TIMEOUT: lw_cfg.connect_timeout_ms = value; break;
    case LW_CONFIG_MAX_FDS: lw_cfg.max_fds = value; break;
    case LW_CONFIG_UDP_RCVBUF: lw_cfg.udp_rcvbuf = value; break;
    case LW_CONFIG_TIME_WAIT: lw_tcp_msl = value / 2 ? value / 2 : 1; break;   /* value: TIME_WAIT in ms */
    case LW_CONFIG_FORWARD: route_set_forwarding((int)value); break;
    default: break;
  }
}

/* Memory in use, for leak checks (struct lw_mem_stats). */
struct mallinfo { int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost; };
extern struct mallinfo mallinfo(void);

LW_EXPORT int
stack_mem_stats(struct lw_mem_stats *out)
{
  u32_t i, used = 0;
  for (i = 0; i < MEMP_MAX; i++) {
    u32_t u = memp_pools[i]->stats ? memp_pools[i]->stats->used : 0;
    out->pool_used[i] = u;
    used += u;
  }
  out->pools_in_use = used;
  out->sockets = sock_count();
  out->input_drops = lw_input_drops;
  out->heap_bytes = (u32_t)mallinfo().uordblks;
  return 0;
}

/* Bytes a send on fd could queue now, so JS copies no more than that into wasm
 * memory; 0 unless fd is a connected TCP socket. */
LW_EXPORT u32_t
stack_send_room(int fd)
{
  struct lw_sock *s = sock_get(fd);
  if (s == NULL || s->type != LW_SOCK_STREAM || s->state != LS_CONNECTED || s->pcb.tcp == NULL) {
    return 0;
  }
  return sock_tcp_send_room(s);
}

static const char *const pool_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

/* The name of pool i, for messages about a leak. */
LW_EXPORT const char *
stack_pool_name(u32_t i)
{
  return i < MEMP_MAX ? pool_names[i] : "";
}
