/* lwIP configuration for lwip-wasm. Every choice here is explained; anything not set
 * keeps lwIP's default from lwip/opt.h. */
#ifndef LWIP_WASM_LWIPOPTS_H
#define LWIP_WASM_LWIPOPTS_H

/* --- Platform ---------------------------------------------------------------------- */
/* One thread, no OS: JS drives input, timers and the socket calls from its event loop. */
#define NO_SYS                          1
#define SYS_LIGHTWEIGHT_PROT            0
#define LWIP_SOCKET                     0   /* our own socket layer: wasm/sock_*.c */
#define LWIP_NETCONN                    0
#define LWIP_TIMERS                     1   /* JS sleeps until sys_timeouts_sleeptime() */
/* Only makes lwip_cyclic_timer visible, so stack.c can stop IGMP's and MLD's 100 ms
 * cyclic timers and run them only while a report is pending (idle CPU). */
#define LWIP_TESTMODE                   1

/* --- Memory ------------------------------------------------------------------------ */
/* lwIP's heap and pools come from malloc, so memory grows with load instead of failing
 * at a fixed pool size; per-pool use is still counted in MEMP_STATS for leak checks. */
#define MEM_LIBC_MALLOC                 1
#define MEMP_MEM_MALLOC                 1
#define MEM_ALIGNMENT                   4
/* PBUF_POOL is unused by our glue (input frames are PBUF_RAM of the exact size), but
 * IP reassembly and ICMP still reference its size. */
#define PBUF_POOL_SIZE                  16
#define PBUF_POOL_BUFSIZE               1536
/* Unused as a size under MEM_LIBC_MALLOC, but above 64000 it makes mem_size_t 32-bit,
 * so one pbuf can carry a maximum-size UDP datagram. */
#define MEM_SIZE                        (1024 * 1024)

/* --- Protocols --------------------------------------------------------------------- */
#define LWIP_IPV4                       1
#define LWIP_IPV6                       1
#define LWIP_ARP                        1
#define LWIP_ETHERNET                   1
#define LWIP_ICMP                       1
#define LWIP_ICMP6                      1
#define LWIP_RAW                        1   /* our ICMP error listener (sock_icmp.c) */
#define LWIP_UDP                        1
#define LWIP_TCP                        1
#define LWIP_IGMP                       1   /* IP_ADD_MEMBERSHIP */
#define LWIP_IPV6_MLD                   1   /* IPV6_JOIN_GROUP */
#define LWIP_MULTICAST_TX_OPTIONS       1   /* IP_MULTICAST_TTL/IF/LOOP */
#define MEMP_NUM_IGMP_GROUP             64
#define MEMP_NUM_MLD6_GROUP             64
/* DHCP client for a stack behind a relay (wasm/dhcp.c). The ARP check on the offered
 * address (about 1 s) stays on: a relay's LAN may hold a host that already uses it. */
#define LWIP_DHCP                       1
#define DHCP_DOES_ARP_CHECK             1
#define LWIP_AUTOIP                     0
/* DNS resolver (wasm/dns.c): A and AAAA. Three servers, as resolv.conf's MAXNS; DHCP
 * fills them unless servers are configured. lwIP's own retries (4 per server: about
 * 7 s) end a query nobody answers. Source port and id are random (LWIP_DNS_SECURE). */
#define LWIP_DNS                        1
#define DNS_MAX_SERVERS                 3
#define DNS_TABLE_SIZE                  16  /* names cached (by TTL) and queries in flight */
#define DNS_MAX_RETRIES                 4
#define DNS_DOES_NAME_CHECK             1

/* Options the socket layer exposes per socket. */
#define SO_REUSE                        1   /* SO_REUSEADDR is honoured when set */
#define SO_REUSE_RXTOALL                1   /* multicast/broadcast reach every bound socket, as on Linux */
#define IP_SOF_BROADCAST                1   /* sending to broadcast needs SO_BROADCAST (EACCES), as on Linux */
#define LWIP_TCP_KEEPALIVE              1   /* per-pcb idle/interval/count */
#define TCP_LISTEN_BACKLOG              1   /* listen(backlog) bounds pending accepts */
#define LWIP_CALLBACK_API               1

/* --- Interfaces -------------------------------------------------------------------- */
#define LWIP_SINGLE_NETIF               0
#define LWIP_NETIF_LOOPBACK             1   /* traffic to our own addresses loops back */
#define LWIP_HAVE_LOOPIF                1   /* 127.0.0.1 and ::1 in every stack */
#define LWIP_LOOPBACK_MAX_PBUFS         0
#define LWIP_NETIF_LINK_CALLBACK        0
#define LWIP_NETIF_STATUS_CALLBACK      0
#define LWIP_CHECKSUM_CTRL_PER_NETIF    1   /* links that cannot corrupt may skip checksums */
/* Checksums 8 bytes at a time (wasm/chksum.c); TCP sums its data while copying it in,
 * so the send path reads the data once. */
unsigned short lw_chksum(const void *dataptr, int len);
unsigned short lw_chksum_copy(void *dst, const void *src, unsigned short len);
#define LWIP_CHKSUM(dataptr, len)       lw_chksum(dataptr, len)
#define LWIP_CHECKSUM_ON_COPY           1
#define LWIP_CHKSUM_COPY(dst, src, len) lw_chksum_copy(dst, src, len)
#define LWIP_NUM_NETIF_CLIENT_DATA      0
#define ETHARP_SUPPORT_STATIC_ENTRIES   1
#define ARP_QUEUEING                    1
#define ARP_QUEUE_LEN                   64  /* packets held per host while ARP resolves */
#define ETH_PAD_SIZE                    0

/* --- IPv4 / IPv6 ------------------------------------------------------------------- */
#define IP_REASSEMBLY                   1
#define IP_FRAG                         1
#define IP_REASS_MAX_PBUFS              128 /* a 64 KiB datagram at MTU 1500 is 45 fragments */
#define IP_DEFAULT_TTL                  64  /* Linux's default */
/* Forwarding is compiled in so a stack can be a router, but stays off per stack until
 * it is asked for (stack.setForwarding): route.c's can-forward hooks refuse otherwise,
 * so a host drops packets that are not for it, as Linux does by default. */
#define IP_FORWARD                      1
#define LWIP_IPV6_FORWARD               1
#define LWIP_IPV6_REASS                 1
#define LWIP_IPV6_FRAG                  1
#define LWIP_IPV6_AUTOCONFIG            1
/* Router solicitations only from interfaces that configure themselves (SLAAC: ip 'dhcp');
 * netif.c keeps rs_count at 0 on the others, so static links send none. */
#define LWIP_IPV6_SEND_ROUTER_SOLICIT   1
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS   0   /* static addresses are usable at once */
#define LWIP_IPV6_NUM_ADDRESSES         4
#define LWIP_ND6_QUEUEING               1
#define MEMP_NUM_ND6_QUEUE              64
/* Packets held per neighbour while ND resolves, as ARP_QUEUE_LEN; beyond it the oldest
 * is dropped (wasm/patches/0006: lwIP 2.1.3 has no per-neighbour bound). */
#define LWIP_ND6_QUEUE_LEN              64
/* Neighbour and destination caches (lwIP: 10 each). TCP retransmits on Linux's
 * millisecond schedule, so hosts that never answer (half-open connections from a
 * scan, a peer gone away) solicit often enough to evict a live neighbour from ten
 * slots, and its own packets then wait behind an endless resolution (the frame
 * fuzzer's live-attack mix found it). Linux keeps hundreds. */
#define LWIP_ND6_NUM_NEIGHBORS          64
#define LWIP_ND6_NUM_DESTINATIONS       64

/* --- TCP --------------------------------------------------------------------------- */
/* TCP_MSS is the ceiling we advertise; lwIP lowers it per route to MTU-40 (IPv4) or
 * MTU-60 (IPv6), so jumbo in-memory links can use large segments. */
#define TCP_MSS                         8960
#define LWIP_WND_SCALE                  1
#define TCP_RCV_SCALE                   4
/* The most a receive window may grow to (65535 << TCP_RCV_SCALE): a socket starts
 * with TCP_BUF_DEFAULT and grows it while its reader keeps up (tcp_buf.c), as Linux's
 * autotuning grows it from tcp_rmem[1]. */
#define TCP_WND                         (1024 * 1024 - 16)
#define TCP_BUF_DEFAULT                 (256 * 1024)
/* What lwIP lets one connection queue unacknowledged: SO_SNDBUF's ceiling. A socket
 * queues half its SO_SNDBUF (default 2 * TCP_BUF_DEFAULT, so 256 KiB), as Linux. */
#define TCP_SND_BUF                     (1024 * 1024)
#define TCP_SND_QUEUELEN                1024
#define TCP_SNDLOWAT                    16384 /* lwIP caps this below 64 KiB - 4*MSS */
#define TCP_SNDQUEUELOWAT               (TCP_SND_QUEUELEN / 2)
#define TCP_OVERSIZE                    TCP_MSS
#define TCP_QUEUE_OOSEQ                 1
#define TCP_OOSEQ_MAX_BYTES             (1024 * 1024)
#define TCP_OOSEQ_MAX_PBUFS             1024
/* SACK both ways (RFC 2018): lwIP's receiver side sends the blocks; the sender side
 * (the scoreboard and RFC 6675 recovery) is wasm/tcp_loss.c with patches 0008-0009.
 * With timestamps, three blocks fit in an ACK; four ranges are remembered. */
#define LWIP_TCP_SACK_OUT               1
#define LWIP_TCP_MAX_SACK_NUM           4
/* Timestamps (RFC 7323): every segment carries one, and each ACK's echo is an RTT
 * sample (patch 0010). They cost 12 bytes of each segment, as on Linux. */
#define LWIP_TCP_TIMESTAMPS             1
/* Linux's initial window of ten segments (RFC 6928) instead of lwIP's RFC 3390 one. */
#define LWIP_TCP_CALC_INITIAL_CWND(mss) ((tcpwnd_size_t)(10U * (mss)))
/* TIME_WAIT lasts 2*MSL. Linux holds it 60 s; the stack option timeWait changes it at
 * run time (tests use a short one to see every pool come back to zero). */
extern unsigned int lw_tcp_msl;
#define TCP_MSL                         lw_tcp_msl
/* Retransmissions of data before the connection fails with ETIMEDOUT. The RTO starts
 * at 200 ms or more and doubles up to 120 s (wasm/tcp_loss.c), so 15 give up after
 * about 925 s of silence, as Linux's tcp_retries2 = 15 does. */
#define TCP_MAXRTX                      15
/* Enough SYN retries that the connect timeout (connectTimeout, 75 s by default), not
 * the retry count, decides when a connect gives up, as tcp_syn_retries does on Linux.
 * SYNs are resent 1, 2, 4 ... s apart, as on Linux (wasm/tcp_loss.c). */
#define TCP_SYNMAXRTX                   12
#define TCP_TTL                         64
#define TCP_CALCULATE_EFF_SEND_MSS      1
#define LWIP_TCP_PCB_NUM_EXT_ARGS       0
/* Under MEMP_MEM_MALLOC these only cap pool-statistics arrays, not real use. */
#define MEMP_NUM_TCP_PCB                1024
#define MEMP_NUM_TCP_PCB_LISTEN         256
#define MEMP_NUM_TCP_SEG                4096
#define MEMP_NUM_UDP_PCB                1024
#define MEMP_NUM_RAW_PCB                4
#define MEMP_NUM_REASSDATA              64
#define MEMP_NUM_FRAG_PBUF              256
#define MEMP_NUM_ARP_QUEUE              256
#define MEMP_NUM_SYS_TIMEOUT            (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 1024)
#define MEMP_NUM_PBUF                   1024

/* --- Statistics -------------------------------------------------------------------- */
/* Counters back stack.stats(); pool "used" counts back the leak checks. */
#define LWIP_STATS                      1
#define LWIP_STATS_DISPLAY              0
#define MEM_STATS                       0   /* the heap is malloc; see stack_mem_stats */
#define MEMP_STATS                      1
#define LINK_STATS                      1
#define ETHARP_STATS                    1
#define IP_STATS                        1
#define IPFRAG_STATS                    1
#define ICMP_STATS                      1
#define UDP_STATS                       1
#define TCP_STATS                       1
#define IP6_STATS                       1
#define ICMP6_STATS                     1
#define IP6_FRAG_STATS                  1
#define ND6_STATS                       1
#define MIB2_STATS                      0

/* --- Debugging (make DEBUG=1) ------------------------------------------------------ */
/* --- Hooks ------------------------------------------------------------------------ */
/* RFC 5961 checks on synchronized connections: a forged segment must carry an
 * in-window sequence number and a plausible ACK before lwIP acts on it (tcp_guard.c). */
#define LWIP_HOOK_FILENAME              "hooks.h"
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
  tcp_guard_inpacket((pcb), (hdr), (optlen), (opt1len), (opt2), (p))
/* An intercepting interface (the relay's per-client gateway, intercept.c) takes TCP and
 * UDP for addresses it does not own (wasm/patches/0020). */
#define LWIP_HOOK_IP4_INPUT_ACCEPT(p, inp) intercept_accept4((p), (inp))
#define LWIP_HOOK_IP6_INPUT_ACCEPT(p, inp) intercept_accept6((p), (inp))
/* ICMPv6 errors reach sock_icmp.c's checks only when they follow the IPv6 header
 * directly (lwIP's raw input matches the first next header), so one behind extension
 * headers is dropped before lwIP sees it (sock_icmp.c). */
#define LWIP_HOOK_IP6_INPUT(p, inp)     icmp6_guard_input((p), (inp))
/* Static routes and the forwarding switch (route.c): routes are looked up after the
 * interfaces' own subnets, and give the next hop for ARP and ND (wasm/patches/0030
 * adds the IPv6 can-forward hook lwIP 2.1.3 lacks). */
#define LWIP_HOOK_IP4_CANFORWARD(p, dest)  route_ip4_canforward((p), (dest))
#define LWIP_HOOK_IP6_CANFORWARD(p, inp)   route_ip6_canforward((p), (inp))
#define LWIP_HOOK_IP4_ROUTE(dest)          route_ip4(dest)
#define LWIP_HOOK_ETHARP_GET_GW(netif, dest) route_ip4_gw((netif), (dest))
#define LWIP_HOOK_IP6_ROUTE(src, dest)     route_ip6((src), (dest))
/* Segmentation offload on a TAP with offload (patch 0031, wasm/tcp_tso.c). */
#define LWIP_HOOK_TCP_SEG_SIZE(pcb)        tcp_tso_seg_size(pcb)
#define LWIP_HOOK_TCP_FIT_SEG(pcb, wnd)    tcp_tso_fit((pcb), (wnd))
#define LWIP_HOOK_TCP_SEG_OUT(pcb, seg)    tcp_tso_seg_out((pcb), (seg))
#define LWIP_HOOK_IP_SEG_OFFLOAD(netif)    tcp_tso_no_frag(netif)
#define LWIP_HOOK_ND6_GET_GW(netif, dest)  route_ip6_gw((netif), (dest))
/* TIME-WAIT connections found by a hash, not by walking them all (patch 0032, tcp_tw.c). */
#define LWIP_HOOK_TCP_TW_FIND(lport, rport, rip, lip, idx) tcp_tw_find((lport), (rport), (rip), (lip), (idx))
#define LWIP_HOOK_TCP_TW_ADD(pcb)          tcp_tw_add(pcb)
#define LWIP_HOOK_TCP_TW_DEL(pcb)          tcp_tw_del(pcb)
/* RFC 6528 initial sequence numbers instead of lwIP's predictable counter (tcp_guard.c). */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
  tcp_guard_isn((local_ip), (local_port), (remote_ip), (remote_port))

#ifdef LWIP_WASM_DEBUG
#define LWIP_DEBUG                      1
#define LWIP_DBG_MIN_LEVEL              LWIP_DBG_LEVEL_ALL
#define LWIP_DBG_TYPES_ON               (LWIP_DBG_ON | LWIP_DBG_TRACE | LWIP_DBG_STATE | LWIP_DBG_FRESH)
#define TCP_DEBUG                       LWIP_DBG_ON
#define TCP_INPUT_DEBUG                 LWIP_DBG_OFF
#define TCP_OUTPUT_DEBUG                LWIP_DBG_OFF
#define IP_DEBUG                        LWIP_DBG_OFF
#define ETHARP_DEBUG                    LWIP_DBG_OFF
#define MEMP_SANITY_CHECK               1
#else
#define LWIP_NOASSERT                   1
#endif

#endif /* LWIP_WASM_LWIPOPTS_H */
