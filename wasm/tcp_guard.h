/* Hooks lwIP's TCP input calls (LWIP_HOOK_FILENAME); see tcp_guard.c. */
#ifndef LW_TCP_GUARD_H
#define LW_TCP_GUARD_H

#include "lwip/err.h"

struct tcp_pcb;
struct tcp_hdr;
struct pbuf;

err_t tcp_guard_inpacket(struct tcp_pcb *pcb, const struct tcp_hdr *hdr, const struct pbuf *p);

#endif /* LW_TCP_GUARD_H */
