/* Hooks lwIP's TCP input calls (LWIP_HOOK_FILENAME); see tcp_guard.c. */
#ifndef LW_TCP_GUARD_H
#define LW_TCP_GUARD_H

#include "lwip/err.h"
#include "lwip/ip_addr.h"

struct tcp_pcb;
struct tcp_hdr;
struct pbuf;

err_t tcp_guard_inpacket(struct tcp_pcb *pcb, const struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len,
                         const u8_t *opt2, const struct pbuf *p);
u32_t tcp_guard_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip, u16_t remote_port);

/* Set when tcp_guard_inpacket dropped a SYN only to end a TIME_WAIT: the frame should
 * be fed to lwIP once more. stack.c clears it. */
extern int tcp_guard_retry;

#endif /* LW_TCP_GUARD_H */
