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

/* What dhcp_lease_get writes: every field a u32 (addresses in network byte order). */
enum {
  LEASE_STATE = 0,   /* lwIP's DHCP_STATE_* */
  LEASE_ADDR,
  LEASE_MASK,
  LEASE_GW,
  LEASE_SERVER,
  LEASE_T0,          /* lease time, seconds */
  LEASE_T1,          /* renewal time, seconds */
  LEASE_T2,          /* rebinding time, seconds */
  LEASE_USED,        /* seconds since the last ACK, in lwIP's 60 s ticks */
  LEASE_FIELDS
};

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

/* Called after every poll: a start, or the coarse timer's renewal, may have sent one. */
void
dhcp_tick_check(void)
{
  if (!dhcp_ticking && dhcp_request_out()) {
    dhcp_ticking = 1;
    sys_timeout(DHCP_FINE_TIMER_MSECS, dhcp_tick, NULL);
  }
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
  return 0;
}

/* Copies the client's state into out[LEASE_FIELDS]. Returns 1 when an address is
 * leased (bound, renewing or rebinding), 0 while still asking, -ENOENT if not running. */
LW_EXPORT int
dhcp_lease_get(int ifindex, u32_t *out)
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
  memset(out, 0, LEASE_FIELDS * sizeof(u32_t));
  out[LEASE_STATE] = dhcp->state;
  out[LEASE_ADDR] = ip4_addr_get_u32(netif_ip4_addr(netif));
  out[LEASE_MASK] = ip4_addr_get_u32(netif_ip4_netmask(netif));
  out[LEASE_GW] = ip4_addr_get_u32(netif_ip4_gw(netif));
  out[LEASE_SERVER] = ip4_addr_get_u32(ip_2_ip4(&dhcp->server_ip_addr));
  out[LEASE_T0] = dhcp->offered_t0_lease;
  out[LEASE_T1] = dhcp->offered_t1_renew;
  out[LEASE_T2] = dhcp->offered_t2_rebind;
  out[LEASE_USED] = (u32_t)dhcp->lease_used * DHCP_COARSE_TIMER_SECS;
  return dhcp_supplied_address(netif) ? 1 : 0;
}
