/* The hooks lwIP calls into our glue (LWIP_HOOK_FILENAME in lwipopts.h). */
#ifndef LW_HOOKS_H
#define LW_HOOKS_H

#include "tcp_guard.h"

struct netif;

/* sock_icmp.c: drops an ICMPv6 error that hides behind extension headers (1: eaten). */
int icmp6_guard_input(struct pbuf *p, struct netif *inp);

#endif /* LW_HOOKS_H */
