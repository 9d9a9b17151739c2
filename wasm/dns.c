/* Name resolution with lwIP's DNS client (dns.c). JS starts a query and polls its
 * result by id; lwIP's callback fills the request in. Servers come from DHCP (lwIP's
 * dhcp.c sets them) unless JS configured its own, which then win. */
#include <stdlib.h>
#include <string.h>
#include "lwip/dns.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lw.h"

/* A query in flight or answered. Abandoned ones (JS gave up) are freed when lwIP
 * calls back, which it always does: with an answer, an error, or after its retries. */
struct dns_query {
  struct dns_query *next;
  struct lw_changer change;   /* posted when the answer (or the failure) arrives */
  int id;
  int status;          /* 0 pending, 1 found, or a negative errno */
  int abandoned;
  ip_addr_t addr;
};

static struct dns_query *queries;
static int next_id = 1;
static ip_addr_t user_servers[DNS_MAX_SERVERS];
static int user_count;
/* lwIP has one server table, and dhcp.c writes it directly. applied is what this file
 * last wrote there, so any difference is DHCP's doing; dhcp_saved keeps DHCP's servers
 * while configured ones occupy the table. */
static ip_addr_t applied[DNS_MAX_SERVERS];
static ip_addr_t dhcp_saved[DNS_MAX_SERVERS];

/* Picks up servers DHCP wrote since we last looked. */
static void
dns_note_dhcp(void)
{
  int i, changed = 0;
  for (i = 0; i < DNS_MAX_SERVERS; i++) {
    if (!ip_addr_cmp(dns_getserver((u8_t)i), &applied[i])) {
      changed = 1;
    }
  }
  if (!changed) {
    return;
  }
  for (i = 0; i < DNS_MAX_SERVERS; i++) {
    const ip_addr_t *now = dns_getserver((u8_t)i);
    if (ip_addr_cmp(now, &applied[i])) {
      ip_addr_set_zero(&dhcp_saved[i]); /* ours, not DHCP's */
    } else {
      ip_addr_copy(dhcp_saved[i], *now);
    }
    ip_addr_copy(applied[i], *now);
  }
}

/* Puts the servers queries should use in lwIP's table: configured ones, else DHCP's. */
static void
dns_use_servers(void)
{
  int i;
  dns_note_dhcp();
  for (i = 0; i < DNS_MAX_SERVERS; i++) {
    const ip_addr_t *s = user_count > 0 ? (i < user_count ? &user_servers[i] : IP_ADDR_ANY) : &dhcp_saved[i];
    ip_addr_copy(applied[i], *s);
    dns_setserver((u8_t)i, s);
  }
}

/* Called by dhcp_start_index: a new lease brings its own servers (or none). */
void
dns_forget_dhcp_servers(void)
{
  int i;
  dns_note_dhcp();
  for (i = 0; i < DNS_MAX_SERVERS; i++) {
    ip_addr_set_zero(&dhcp_saved[i]);
  }
  dns_use_servers();
}

static struct dns_query *
dns_query_find(int id, struct dns_query ***link)
{
  struct dns_query **l = &queries;
  /* Also runs from lwIP's answer callback. bounded: only JS adds queries, at most
   * DNS_TABLE_SIZE in flight plus answered ones JS has not collected; answers add none. */
  for (; *l != NULL; l = &(*l)->next) {
    if ((*l)->id == id) {
      if (link != NULL) {
        *link = l;
      }
      return *l;
    }
  }
  return NULL;
}

static void
dns_query_free(struct dns_query *q)
{
  struct dns_query **l;
  if (dns_query_find(q->id, &l) != NULL) {
    *l = q->next;
  }
  change_drop(&q->change);
  free(q);
}

/* lwIP's answer. A failure while a received packet is being processed is the server's
 * answer (NXDOMAIN, no such record, SERVFAIL); any other failure is lwIP's timer
 * giving up after its retries. */
static void
dns_query_found(const char *name, const ip_addr_t *addr, void *arg)
{
  struct dns_query *q = (struct dns_query *)arg;
  LWIP_UNUSED_ARG(name);
  if (q->abandoned) {
    dns_query_free(q);
    return;
  }
  if (addr != NULL) {
    ip_addr_copy(q->addr, *addr);
    q->status = 1;
  } else {
    q->status = ip_current_netif() != NULL ? -LW_ENOENT : -LW_ETIMEDOUT;
  }
  change_post(&q->change, 1);
}

/* A boundary address as lwIP's; IPv6 link-local needs a zone, as for sockets. */
static int
dns_addr_in(const struct lw_addr *a, ip_addr_t *ip)
{
  if (a->family == LW_AF_INET) {
    u32_t v;
    memcpy(&v, a->addr, 4);
    ip_addr_set_ip4_u32_val(*ip, v);
    return ip_addr_isany(ip) ? -LW_EINVAL : 0;
  }
  if (a->family != LW_AF_INET6) {
    return -LW_EAFNOSUPPORT;
  }
  memcpy(ip_2_ip6(ip)->addr, a->addr, 16);
  IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V6);
  ip6_addr_clear_zone(ip_2_ip6(ip));
  if (ip6_addr_has_scope(ip_2_ip6(ip), IP6_UNKNOWN)) {
    if (a->scope == 0 || a->scope > 255 || netif_get_by_index((u8_t)a->scope) == NULL) {
      return -LW_EINVAL;
    }
    ip6_addr_set_zone(ip_2_ip6(ip), (u8_t)a->scope);
  }
  return ip_addr_isany(ip) ? -LW_EINVAL : 0;
}

/* Sets the configured servers (n of them, from an array of lw_addr); n = 0 goes back to
 * the ones DHCP gives. */
LW_EXPORT int
dns_servers_set(const struct lw_addr *list, int n)
{
  int i;
  if (n < 0 || n > DNS_MAX_SERVERS) {
    return -LW_EINVAL;
  }
  for (i = 0; i < n; i++) {
    int r = dns_addr_in(&list[i], &user_servers[i]);
    if (r < 0) {
      return r;
    }
  }
  dns_note_dhcp(); /* before the table changes under DHCP's feet */
  user_count = n;
  dns_use_servers();
  return 0;
}

/* Copies server i into out: from_dhcp 0 gives the one a query would use, 1 the one
 * DHCP gave. -ENOENT if unset. */
LW_EXPORT int
dns_server_get(int i, int from_dhcp, struct lw_addr *out)
{
  const ip_addr_t *s;
  if (i < 0 || i >= DNS_MAX_SERVERS) {
    return -LW_EINVAL;
  }
  dns_note_dhcp();
  if (from_dhcp || user_count == 0) {
    s = &dhcp_saved[i];
  } else {
    s = (i < user_count) ? &user_servers[i] : IP_ADDR_ANY;
  }
  if (ip_addr_isany(s)) {
    return -LW_ENOENT;
  }
  sock_addr_out(out, s, 53);
  return 0;
}

/* Starts resolving name (NUL-terminated) for family 4, 6, or 0 (IPv4, then IPv6).
 * Returns a query id > 0 for dns_query_result. -EINVAL: a name lwIP refuses;
 * -EDESTADDRREQ: no server configured; -EAGAIN: too many queries in flight. */
LW_EXPORT int
dns_query_start(const char *name, int family)
{
  struct dns_query *q;
  u8_t type;
  err_t err;
  switch (family) {
    case 4: type = LWIP_DNS_ADDRTYPE_IPV4; break;
    case 6: type = LWIP_DNS_ADDRTYPE_IPV6; break;
    case 0: type = LWIP_DNS_ADDRTYPE_IPV4_IPV6; break;
    default: return -LW_EAFNOSUPPORT;
  }
  q = (struct dns_query *)calloc(1, sizeof(*q));
  if (q == NULL) {
    return -LW_ENOMEM;
  }
  dns_use_servers(); /* a renewed lease may have rewritten the table */
  q->id = next_id;
  change_init(&q->change, LW_CHANGE_DNS, q->id);
  next_id = next_id >= 0x7fffffff ? 1 : next_id + 1;
  err = dns_gethostbyname_addrtype(name, &q->addr, dns_query_found, q, type);
  if (err == ERR_OK) {
    q->status = 1; /* cached, a literal, or localhost */
  } else if (err != ERR_INPROGRESS) {
    free(q);
    return err == ERR_VAL ? -LW_EDESTADDRREQ : err == ERR_MEM ? -LW_EAGAIN : -LW_EINVAL;
  }
  q->next = queries;
  queries = q;
  return q->id;
}

/* 0 while pending; 1 with the address in out; -ENOENT (no such name or record) or
 * -ETIMEDOUT. A finished query is freed by this call. */
LW_EXPORT int
dns_query_result(int id, struct lw_addr *out)
{
  struct dns_query *q = dns_query_find(id, NULL);
  int status;
  if (q == NULL || q->abandoned) {
    return -LW_EINVAL;
  }
  status = q->status;
  if (status == 0) {
    return 0;
  }
  if (status == 1) {
    sock_addr_out(out, &q->addr, 0);
  }
  dns_query_free(q);
  return status;
}

/* JS stopped waiting: free now if answered, else when lwIP calls back. */
LW_EXPORT int
dns_query_cancel(int id)
{
  struct dns_query *q = dns_query_find(id, NULL);
  if (q == NULL) {
    return -LW_EINVAL;
  }
  if (q->status != 0) {
    dns_query_free(q);
  } else {
    q->abandoned = 1;
  }
  return 0;
}
