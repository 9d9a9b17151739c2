/* Connections in TIME-WAIT by their ports and addresses, so tcp_input finds one without
 * walking them all (patch 0032). A server taking short connections keeps one per
 * connection for 60 s: thousands, and every new connection's SYN walked the list. The
 * hash mirrors tcp_tw_pcbs exactly: lwIP calls tcp_tw_add where a pcb joins that list
 * and tcp_tw_del where it leaves. Chains hang off a bucket array that doubles with the
 * count, so a lookup stays short however many there are. */
#include <stdlib.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/netif.h"
#include "hooks.h"

struct tw_node {
  struct tcp_pcb *pcb;
  struct tw_node *next;
};

static struct tw_node **tw_buckets;
static u32_t tw_nbuckets;   /* a power of two, or 0 before the first */
static u32_t tw_count;

static u32_t
tw_addr_hash(const ip_addr_t *a)
{
#if LWIP_IPV6
  if (IP_IS_V6(a)) {
    const u32_t *w = ip_2_ip6(a)->addr;
    return w[0] ^ w[1] ^ w[2] ^ w[3];
  }
#endif
  return ip4_addr_get_u32(ip_2_ip4(a));
}

static u32_t
tw_hash(u16_t lport, u16_t rport, const ip_addr_t *rip)
{
  u32_t h = tw_addr_hash(rip) ^ ((u32_t)lport << 16 | rport);
  h ^= h >> 16;
  h *= 0x7feb352dU;   /* a 32-bit mixer, so nearby ports and addresses spread */
  h ^= h >> 15;
  return h & (tw_nbuckets - 1u);
}

/* Rehashes into twice the buckets (or the first 256); on no memory keeps the old ones. */
static void
tw_grow(void)
{
  u32_t n = tw_nbuckets ? tw_nbuckets * 2u : 256u;
  struct tw_node **b = (struct tw_node **)calloc(n, sizeof(*b));
  u32_t old = tw_nbuckets, i;
  struct tw_node **ob = tw_buckets;
  if (b == NULL) {
    return;
  }
  tw_buckets = b;
  tw_nbuckets = n;
  for (i = 0; i < old; i++) {
    struct tw_node *e = ob[i];
    while (e != NULL) {
      struct tw_node *next = e->next;
      u32_t k = tw_hash(e->pcb->local_port, e->pcb->remote_port, &e->pcb->remote_ip);
      e->next = b[k];
      b[k] = e;
      e = next;
    }
  }
  free(ob);
}

void
tcp_tw_add(struct tcp_pcb *pcb)
{
  struct tw_node *e;
  u32_t k;
  if (tw_count >= tw_nbuckets) {
    tw_grow();
  }
  e = (struct tw_node *)malloc(sizeof(*e));
  if (e == NULL || tw_nbuckets == 0) {
    /* No memory: the pcb stays on lwIP's list until it is reaped, but a segment for it
     * gets the answer a closed port gives (RST) instead of TIME-WAIT's. (It cannot be
     * freed here: tcp_input is still using it.) */
    free(e);
    return;
  }
  k = tw_hash(pcb->local_port, pcb->remote_port, &pcb->remote_ip);
  e->pcb = pcb;
  e->next = tw_buckets[k];
  tw_buckets[k] = e;
  tw_count++;
}

void
tcp_tw_del(struct tcp_pcb *pcb)
{
  struct tw_node **at;
  if (tw_nbuckets == 0) {
    return;
  }
  at = &tw_buckets[tw_hash(pcb->local_port, pcb->remote_port, &pcb->remote_ip)];
  for (; *at != NULL; at = &(*at)->next) {
    if ((*at)->pcb == pcb) {
      struct tw_node *e = *at;
      *at = e->next;
      free(e);
      tw_count--;
      return;
    }
  }
}

/* The TIME-WAIT pcb a segment belongs to, by tcp_input's own test, or NULL. */
struct tcp_pcb *
tcp_tw_find(u16_t lport, u16_t rport, const ip_addr_t *rip, const ip_addr_t *lip, u8_t netif_idx)
{
  struct tw_node *e;
  if (tw_count == 0) {
    return NULL;
  }
  for (e = tw_buckets[tw_hash(lport, rport, rip)]; e != NULL; e = e->next) {
    struct tcp_pcb *pcb = e->pcb;
    if (pcb->netif_idx != NETIF_NO_INDEX && pcb->netif_idx != netif_idx) {
      continue;
    }
    if (pcb->local_port == lport && pcb->remote_port == rport &&
        ip_addr_cmp(&pcb->remote_ip, rip) && ip_addr_cmp(&pcb->local_ip, lip)) {
      return pcb;
    }
  }
  return NULL;
}
