/* A per-neighbour limit on packets queued while IPv6 neighbour discovery resolves.
 *
 * lwIP 2.1.3 bounds ARP's queue per host (ARP_QUEUE_LEN) but not ND6's, and with pools
 * taken from malloc (MEMP_MEM_MALLOC) MEMP_NUM_ND6_QUEUE does not bound it either. So a
 * neighbour that never answers (or a forged router advertisement naming one) could hold
 * every packet sent its way for as long as the entry lives. After each poll we trim
 * each neighbour's queue to ND6_QUEUE_LEN packets, dropping the oldest, as Linux does
 * when its unresolved queue overflows, and as lwIP's ARP queue does. */
#include "lwip/opt.h"
#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/priv/nd6_priv.h"
#include "lw.h"

/* The same per-host allowance as ARP_QUEUE_LEN. */
#define ND6_QUEUE_LEN ARP_QUEUE_LEN

void
nd6_queue_trim(void)
{
  int i;
  /* It runs after every poll: while fewer packets are queued in all than one neighbour
   * may hold, there is nothing to trim and no list to walk. */
  if (memp_pools[MEMP_ND6_QUEUE]->stats->used <= ND6_QUEUE_LEN) {
    return;
  }
  for (i = 0; i < LWIP_ND6_NUM_NEIGHBORS; i++) {
    struct nd6_q_entry *q = neighbor_cache[i].q;
    int n = 0;
    struct nd6_q_entry *e;
    for (e = q; e != NULL; e = e->next) {
      n++;
    }
    while (n > ND6_QUEUE_LEN) {   /* the head is the oldest */
      struct nd6_q_entry *old = neighbor_cache[i].q;
      neighbor_cache[i].q = old->next;
      pbuf_free(old->p);
      memp_free(MEMP_ND6_QUEUE, old);
      ND6_STATS_INC(nd6.drop);
      n--;
    }
  }
}
