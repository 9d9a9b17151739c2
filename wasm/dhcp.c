/* The DHCP client (lwIP's dhcp.c) per interface: start, stop, and the lease as JS sees
 * it. lwIP runs the state machine from its own timers and input; JS only reads. */
#include <string.h>
#include "lwip/netif.h"
#include "lwip/dhcp.h"
#include "lwip/prot/dhcp.h"
#include "lwip/dns.h"
#include "lwip/timeouts.h"
#include "lw.h"

/* wasm/dns.c */
void dns_forget_dhcp_servers(void);

/* Whether each interface's client held a lease when the change stream last heard, so
 * a lease gained or lost is posted once (JS waits on it; lwIP has no callback). */
struct dhcp_watch {
  struct lw_changer change;
  u8_t leased;
};
static struct dhcp_watch watches[256];

/* lwIP's 500 ms fine timer only counts down request_timeout, which is set while a
 * request is out (discover, request, ARP check, renew, rebind). stack_init stops the
 * cyclic timer; this one ticks only while some interface has a request out, so a stack
 * without DHCP, or with a lease in hand, does not wake twice a second for it. */
static int dhcp_ticking;

static int
dhcp_request_out(void)
{
  struct netif *n;
  NETIF_FOREACH(n) {
    struct dhcp *dhcp = netif_dhcp_data(n);
    if (dhcp != NULL && dhcp->request_timeout > 0) {
      return 1;
    }
  }
  return 0;
}

static void
dhcp_tick(void *arg)
{
  LWIP_UNUSED_ARG(arg);
  dhcp_fine_tmr();
  dhcp_ticking = dhcp_request_out();
  if (dhcp_ticking) {
    sys_timeout(DHCP_FINE_TIMER_MSECS, dhcp_tick, NULL);
  }
}

/* Called after every poll: a start, or the coarse timer's renewal, may have sent a
 * request (the fine timer must tick), and an answer may have granted or ended a lease. */
void
dhcp_tick_check(void)
{
  struct netif *n;
  if (!dhcp_ticking && dhcp_request_out()) {
    dhcp_ticking = 1;
    sys_timeout(DHCP_FINE_TIMER_MSECS, dhcp_tick, NULL);
  }
  /* bounded: one pass over the interfaces, which only JS adds */
  NETIF_FOREACH(n) {
    struct dhcp_watch *w = &watches[netif_get_index(n)];
    u8_t leased = netif_dhcp_data(n) != NULL && dhcp_supplied_address(n);
    if (leased != w->leased) {
      w->leased = leased;
      change_post(&w->change, leased);
    }
  }
}

/* lwIP's DHCP_STATE_* as the LW_DHCP_* index TS names. */
static u32_t
dhcp_state_index(u8_t state)
{
#define DHCP_STATE_CASE(e, name) case DHCP_STATE_##name: return LW_DHCP_##name;
  switch (state) {
    LW_DHCP_STATES(DHCP_STATE_CASE)
    default: return LW_DHCP_OFF;
  }
#undef DHCP_STATE_CASE
}

static struct netif *
dhcp_netif(int ifindex)
{
  struct netif *netif = (ifindex > 1 && ifindex < 256) ? netif_get_by_index((u8_t)ifindex) : NULL;
  return (netif != NULL && (netif->flags & NETIF_FLAG_ETHARP)) ? netif : NULL;
}

/* Starts DHCP on an interface; the lease arrives later (poll dhcp_lease_get). The DNS
 * servers the last lease gave are forgotten, so a lease without any reports none. */
LW_EXPORT int
dhcp_start_index(int ifindex)
{
  struct netif *netif = dhcp_netif(ifindex);
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  dns_forget_dhcp_servers();
  change_init(&watches[ifindex].change, LW_CHANGE_DHCP, ifindex);
  watches[ifindex].leased = 0;
  switch (dhcp_start(netif)) {
    case ERR_OK: return 0;
    case ERR_MEM: return -LW_ENOMEM;
    default: return -LW_EINVAL;
  }
}

/* Releases the lease (a DHCPRELEASE to the server) and stops the client. */
LW_EXPORT int
dhcp_stop_index(int ifindex)
{
  struct netif *netif = dhcp_netif(ifindex);
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  if (netif_dhcp_data(netif) != NULL) {
    dhcp_release_and_stop(netif);
    dhcp_cleanup(netif);
  }
  change_drop(&watches[ifindex].change);
  watches[ifindex].leased = 0;
  return 0;
}

/* Copies the client's state into out. Returns 1 when an address is leased (bound,
 * renewing or rebinding), 0 while still asking, -ENOENT if not running. */
LW_EXPORT int
dhcp_lease_get(int ifindex, struct lw_lease *out)
{
  struct netif *netif = dhcp_netif(ifindex);
  struct dhcp *dhcp;
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  dhcp = netif_dhcp_data(netif);
  if (dhcp == NULL) {
    return -LW_ENOENT;
  }
  memset(out, 0, sizeof(*out));
  out->state = dhcp_state_index(dhcp->state);
  memcpy(out->addr, &netif_ip4_addr(netif)->addr, 4);
  memcpy(out->mask, &netif_ip4_netmask(netif)->addr, 4);
  memcpy(out->gw, &netif_ip4_gw(netif)->addr, 4);
  memcpy(out->server, &ip_2_ip4(&dhcp->server_ip_addr)->addr, 4);
  out->lease_time = dhcp->offered_t0_lease;
  out->renewal_time = dhcp->offered_t1_renew;
  out->rebind_time = dhcp->offered_t2_rebind;
  out->elapsed = (u32_t)dhcp->lease_used * DHCP_COARSE_TIMER_SECS;
  return dhcp_supplied_address(netif) ? 1 : 0;
}
