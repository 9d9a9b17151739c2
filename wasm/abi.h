/* The boundary between the C glue and TypeScript, written once.
 *
 * Everything that crosses it is listed here as X-macros: the functions the wasm exports
 * (LW_EXPORTS), the functions it imports (LW_IMPORTS), the records either side reads or
 * writes in wasm memory (LW_RECORDS) and the enums whose names TS shows (LW_ENUMS).
 * The C structs and prototypes below are expanded from those lists, so a definition in
 * a .c file that drifts from them fails to compile. scripts/gen-abi.mjs compiles
 * wasm/abi_layout.c (this file's lists, with offsetof and sizeof taken by the compiler)
 * and writes src/gen/abi.ts: the typed exports with the trap guard and flush applied by
 * call kind, the export list the linker gets, and a reader and writer per record. No
 * offset into wasm memory is written by hand on either side.
 *
 * Every export returns a value >= 0 or a negative Linux errno (lw_const.h), and never
 * traps on bad input from JS. Pointers passed in are borrowed for the call; buffers
 * returned (outbox, scratch, strings) stay owned by C and are valid until the next call.
 *
 * Call kinds (how TS wraps each export):
 *   CALL  may change the stack's state: trap guard, then a flush is scheduled (kick)
 *   READ  only reads (or fills a caller's buffer): trap guard, no flush
 *   LOOP  the main loop's own steps, called by src/core.ts inside its own guard
 */
#ifndef LW_ABI_H
#define LW_ABI_H

#include <stddef.h>
#include "lwip/arch.h"
#include "lwip/memp.h"
#include "lw_const.h"

/* --- Records ------------------------------------------------------------------------
 * Each record is a field list FIELDS(F, A, N, s): F(s, type, name) a scalar, A(s, type,
 * name, count) an array, N(s, record, name) a nested record. Integers are little-endian
 * (wasm); addresses inside records are bytes in network order. */

/* A socket address: the port in host order; addr holds 4 (IPv4) or 16 (IPv6) bytes. */
#define LW_ADDR_FIELDS(F, A, N, s) \
  F(s, u16_t, family)        /* LW_AF_INET or LW_AF_INET6 */ \
  F(s, u16_t, port) \
  F(s, u32_t, scope)         /* IPv6 zone (interface index); 0 for none */ \
  A(s, u8_t, addr, 16)

/* The header of each frame in the outbox; the frame's bytes follow, and the next
 * header starts at the next multiple of 4. */
#define LW_FRAME_FIELDS(F, A, N, s) \
  F(s, u32_t, ifindex) \
  F(s, u32_t, len) \
  F(s, u32_t, seg_max)       /* a TCP segment for a link to cut (TSO): its largest IP packet; 0: none */

/* A frame coming in (stack_rx.c): JS sets ifindex and len, stack_rx_alloc gives the
 * pbuf's slot and where its bytes go, JS copies the frame there, stack_rx_input feeds
 * it. */
#define LW_RX_FIELDS(F, A, N, s) \
  F(s, u32_t, ifindex) \
  F(s, u32_t, len) \
  F(s, u32_t, slot)          /* 0: dropped (no such interface, too long, no memory) */ \
  F(s, u32_t, payload)       /* the pbuf's bytes: write len bytes here */ \
  F(s, u32_t, flags)         /* LW_RX_TRUSTED, LW_RX_PARTIAL, and a cut size (LW_RX_GSO_SHIFT) */

/* An interface's IPv4 configuration (netif_set_ip4). */
#define LW_IP4_CONFIG_FIELDS(F, A, N, s) \
  A(s, u8_t, addr, 4) \
  A(s, u8_t, mask, 4) \
  A(s, u8_t, gw, 4)          /* 0.0.0.0 for none */

/* A flow an intercepting interface saw (intercept.c): a held SYN, or a UDP datagram. */
#define LW_FLOW_FIELDS(F, A, N, s) \
  F(s, u32_t, id)            /* a held SYN's id, for intercept_verdict; 0 for datagrams */ \
  N(s, lw_addr, src)         /* who sent it (the client), with its port */ \
  N(s, lw_addr, dst)         /* where it was going */

/* A static route (route.c): dst/prefix through gw, or on-link out of ifindex. */
#define LW_ROUTE_FIELDS(F, A, N, s) \
  F(s, u16_t, family)        /* LW_AF_INET or LW_AF_INET6 */ \
  F(s, u16_t, prefix)        /* prefix length */ \
  F(s, u32_t, ifindex)       /* 0: the interface whose subnet holds gw */ \
  A(s, u8_t, dst, 16) \
  A(s, u8_t, gw, 16)         /* all zero: no gateway (on-link) */

/* One entry of the change stream (stack_changed): something JS may be waiting on. */
#define LW_CHANGE_FIELDS(F, A, N, s) \
  F(s, u32_t, kind)          /* LW_CHANGE_* */ \
  F(s, s32_t, id)            /* fd, epoll id, DNS query id or interface index */ \
  F(s, u32_t, events)        /* socket: POLL* bits; epoll: 1 if ready; DNS: 1; DHCP: 1 if
                              * leased; INTERCEPT: LW_INTERCEPT_* bits */

/* One event from epoll_wait. */
#define LW_EPOLL_EVENT_FIELDS(F, A, N, s) \
  F(s, s32_t, fd) \
  F(s, u32_t, events)

/* A DHCP client's lease (dhcp_lease_get). */
#define LW_LEASE_FIELDS(F, A, N, s) \
  F(s, u32_t, state)         /* an LW_DHCP_STATES index */ \
  A(s, u8_t, addr, 4) \
  A(s, u8_t, mask, 4) \
  A(s, u8_t, gw, 4) \
  A(s, u8_t, server, 4) \
  F(s, u32_t, lease_time)    /* seconds, as offered */ \
  F(s, u32_t, renewal_time) \
  F(s, u32_t, rebind_time) \
  F(s, u32_t, elapsed)       /* seconds since the last ACK, in lwIP's 60 s ticks */

/* One `ss` row (stack_ss). */
#define LW_SS_ROW_FIELDS(F, A, N, s) \
  F(s, s32_t, fd)            /* -1: no descriptor (accept queue, orphan, TIME_WAIT) */ \
  F(s, u32_t, proto)         /* LW_IPPROTO_TCP or LW_IPPROTO_UDP */ \
  F(s, u32_t, state)         /* LW_TCP_* (UDP: ESTABLISHED if connected, else CLOSE) */ \
  F(s, u32_t, flags)         /* LW_SSF_* */ \
  N(s, lw_addr, local) \
  N(s, lw_addr, remote) \
  F(s, u32_t, recv_q)        /* LISTEN: the accept queue's length */ \
  F(s, u32_t, send_q)        /* LISTEN: the backlog */ \
  F(s, u32_t, mss) \
  F(s, u32_t, cwnd) \
  F(s, u32_t, ssthresh) \
  F(s, u32_t, rto_ms) \
  F(s, u32_t, rtt_ms) \
  F(s, u32_t, retrans) \
  F(s, u32_t, snd_wnd) \
  F(s, u32_t, rcv_wnd) \
  F(s, u32_t, rcvbuf) \
  F(s, u32_t, sndbuf) \
  F(s, u32_t, rmem) \
  F(s, u32_t, wmem)

/* /proc/net/sockstat's counts (stack_sockstat); mem is bytes queued, not pages. */
#define LW_SOCKSTAT_FIELDS(F, A, N, s) \
  F(s, u32_t, sockets_used) \
  F(s, u32_t, tcp_inuse) \
  F(s, u32_t, tcp_orphan) \
  F(s, u32_t, tcp_tw) \
  F(s, u32_t, tcp_alloc) \
  F(s, u32_t, tcp_mem) \
  F(s, u32_t, udp_inuse) \
  F(s, u32_t, udp_mem)

/* lwIP's counters for one protocol (struct stats_proto). */
#define LW_PROTO_STATS_FIELDS(F, A, N, s) \
  F(s, u32_t, xmit) F(s, u32_t, recv) F(s, u32_t, fw) F(s, u32_t, drop) \
  F(s, u32_t, chkerr) F(s, u32_t, lenerr) F(s, u32_t, memerr) F(s, u32_t, rterr) \
  F(s, u32_t, proterr) F(s, u32_t, opterr) F(s, u32_t, err) F(s, u32_t, cachehit)

/* Every protocol's counters (stack_stats). */
#define LW_STATS_FIELDS(F, A, N, s) \
  N(s, lw_proto_stats, link) N(s, lw_proto_stats, etharp) N(s, lw_proto_stats, ip_frag) \
  N(s, lw_proto_stats, ip) N(s, lw_proto_stats, icmp) N(s, lw_proto_stats, udp) \
  N(s, lw_proto_stats, tcp) N(s, lw_proto_stats, ip6) N(s, lw_proto_stats, icmp6) \
  N(s, lw_proto_stats, ip6_frag) N(s, lw_proto_stats, nd6)

/* Memory in use, for leak checks (stack_mem_stats). */
#define LW_MEM_STATS_FIELDS(F, A, N, s) \
  F(s, u32_t, pools_in_use)  /* lwIP pool elements in use, all pools */ \
  F(s, u32_t, sockets)       /* socket structures alive */ \
  F(s, u32_t, input_drops)   /* frames dropped at input */ \
  F(s, u32_t, heap_bytes)    /* bytes malloc has handed out */ \
  A(s, u32_t, pool_used, MEMP_MAX)   /* per pool, in stack_pool_name order */

/* Option values with a structure, as Linux lays them out (setsockopt/getsockopt). */
#define LW_LINGER_FIELDS(F, A, N, s) \
  F(s, s32_t, onoff) \
  F(s, s32_t, linger)        /* seconds */
#define LW_IP_MREQ_FIELDS(F, A, N, s) \
  A(s, u8_t, multiaddr, 4) \
  A(s, u8_t, interface, 4)   /* a local address; 0.0.0.0 for all */
#define LW_IPV6_MREQ_FIELDS(F, A, N, s) \
  A(s, u8_t, multiaddr, 16) \
  F(s, u32_t, interface)     /* an interface index; 0 for all */

/* A TLS connection's state (tls_info, lwip-tls.wasm): the handshake's outcome, what
 * was negotiated, and why it failed. */
#define LW_TLS_INFO_FIELDS(F, A, N, s) \
  F(s, u32_t, state)         /* LW_TLS_STATE_* */ \
  F(s, u32_t, error)         /* LW_TLSERR_*: why it failed (NONE while it has not) */ \
  F(s, s32_t, lib_error)     /* Mbed TLS's error code (negative), 0 for none */ \
  F(s, u32_t, verify_flags)  /* MBEDTLS_X509_BADCERT_* of the peer's chain; 0: verified */ \
  F(s, u32_t, alert)         /* the fatal alert the peer sent; 256 for none */ \
  F(s, u32_t, version)       /* 0x0303 for TLS 1.2; 0 before the handshake ends */ \
  F(s, u32_t, cipher)        /* the suite's IANA number */ \
  F(s, u32_t, alpn_len)      /* 0: no protocol was agreed */ \
  A(s, u8_t, alpn, 256)

/* Every record, in dependency order (a nested record comes before its users). */
#define LW_RECORDS(R) \
  R(lw_addr, LW_ADDR_FIELDS) \
  R(lw_frame, LW_FRAME_FIELDS) \
  R(lw_rx, LW_RX_FIELDS) \
  R(lw_ip4_config, LW_IP4_CONFIG_FIELDS) \
  R(lw_change, LW_CHANGE_FIELDS) \
  R(lw_flow, LW_FLOW_FIELDS) \
  R(lw_route, LW_ROUTE_FIELDS) \
  R(lw_epoll_event, LW_EPOLL_EVENT_FIELDS) \
  R(lw_lease, LW_LEASE_FIELDS) \
  R(lw_ss_row, LW_SS_ROW_FIELDS) \
  R(lw_sockstat, LW_SOCKSTAT_FIELDS) \
  R(lw_proto_stats, LW_PROTO_STATS_FIELDS) \
  R(lw_stats, LW_STATS_FIELDS) \
  R(lw_mem_stats, LW_MEM_STATS_FIELDS) \
  R(lw_linger, LW_LINGER_FIELDS) \
  R(lw_ip_mreq, LW_IP_MREQ_FIELDS) \
  R(lw_ipv6_mreq, LW_IPV6_MREQ_FIELDS) \
  R(lw_tls_info, LW_TLS_INFO_FIELDS)

#define LW_ABI_F(s, t, n) t n;
#define LW_ABI_A(s, t, n, c) t n[c];
#define LW_ABI_N(s, t, n) struct t n;
#define LW_ABI_STRUCT(s, fields) struct s { fields(LW_ABI_F, LW_ABI_A, LW_ABI_N, s) };
LW_RECORDS(LW_ABI_STRUCT)
#undef LW_ABI_STRUCT

/* --- Enums whose names TS shows ----------------------------------------------------
 * One list per enum: E(ENUM, NAME) is LW_<ENUM>_<NAME>, counting from 0 in list order,
 * and LW_<ENUM>_COUNT follows the last. */
#define LW_CHANGE_KINDS(E) /* what a change-stream entry is about */ \
  E(CHANGE, SOCK) E(CHANGE, EPOLL) E(CHANGE, DNS) E(CHANGE, DHCP) E(CHANGE, INTERCEPT) \
  E(CHANGE, TLS)             /* id: fd; a TLS handshake ended (events 1: open, 0: failed) */
#define LW_CONFIG_KEYS(E) /* stack_set_config's keys */ \
  E(CONFIG, CONNECT_TIMEOUT) E(CONFIG, MAX_FDS) E(CONFIG, UDP_RCVBUF) E(CONFIG, TIME_WAIT) \
  E(CONFIG, FORWARD)         /* 1: forward packets between interfaces (a router) */
#define LW_DHCP_STATES(E) /* the DHCP client's states, named as lwIP's DHCP_STATE_* */ \
  E(DHCP, OFF) E(DHCP, REQUESTING) E(DHCP, INIT) E(DHCP, REBOOTING) E(DHCP, REBINDING) \
  E(DHCP, RENEWING) E(DHCP, SELECTING) E(DHCP, INFORMING) E(DHCP, CHECKING) \
  E(DHCP, PERMANENT) E(DHCP, BOUND) E(DHCP, RELEASING) E(DHCP, BACKING_OFF)
#define LW_VERDICTS(E) /* what becomes of a flow an intercepting interface holds */ \
  E(VERDICT, ALLOW)          /* TCP: let the SYN through (the real connection is up) */ \
  E(VERDICT, RESET)          /* TCP: answer RST (the real host refused) */ \
  E(VERDICT, NET_UNREACH)    /* ICMP network unreachable (IPv6: no route) */ \
  E(VERDICT, HOST_UNREACH)   /* ICMP host (IPv6: address) unreachable */ \
  E(VERDICT, PORT_UNREACH)   /* ICMP port unreachable (UDP: the real host said so) */ \
  E(VERDICT, PROHIBITED)     /* ICMP administratively prohibited (policy) */ \
  E(VERDICT, DROP)           /* nothing: the client times out, or asks again */
#define LW_TLS_STATES(E) /* a TLS connection's state (lw_tls_info.state) */ \
  E(TLS_STATE, HANDSHAKE) E(TLS_STATE, OPEN) E(TLS_STATE, FAILED)
#define LW_TLS_ERRORS(E) /* why a TLS connection failed; TS names them ERR_TLS_<NAME> */ \
  E(TLSERR, NONE) \
  E(TLSERR, HANDSHAKE_FAILURE)        /* nothing in common (suites, curves), or the peer said so */ \
  E(TLSERR, PROTOCOL_VERSION)         /* no TLS version in common */ \
  E(TLSERR, CERT_EXPIRED)             /* a certificate of the peer's chain has expired */ \
  E(TLSERR, CERT_NOT_YET_VALID)       /* ... is not valid yet */ \
  E(TLSERR, CERT_UNKNOWN_CA)          /* the chain leads to no trusted root (or is self-signed) */ \
  E(TLSERR, CERT_HOSTNAME)            /* the certificate is not for the name (or IP) asked for */ \
  E(TLSERR, CERT_INVALID)             /* any other reason the chain did not verify */ \
  E(TLSERR, CERT_CHAIN_TOO_LARGE)     /* a handshake message (the chain) over 16 KiB */ \
  E(TLSERR, NO_APPLICATION_PROTOCOL)  /* ALPN: no protocol in common */ \
  E(TLSERR, BAD_RECORD)               /* a malformed or forged record (garbage, bad MAC) */ \
  E(TLSERR, BAD_HANDSHAKE)            /* a malformed or unexpected handshake message */ \
  E(TLSERR, ALERT)                    /* the peer ended it with another fatal alert */ \
  E(TLSERR, TRUNCATED)                /* the connection closed before the handshake ended */ \
  E(TLSERR, NO_MEMORY)                /* the wasm heap is exhausted */ \
  E(TLSERR, INTERNAL)                 /* anything else Mbed TLS reported */
#define LW_TLS_CONF_KEYS(E) /* tls_conf_set's keys */ \
  E(TLS_CONF, VERIFY)        /* 0: none, 1: verify but go on (rejectUnauthorized false), 2: required */ \
  E(TLS_CONF, DEFAULT_ROOTS) /* 1: trust the built-in Mozilla roots (no `ca` given) */
#define LW_ENUMS(G) G(CHANGE, LW_CHANGE_KINDS) G(CONFIG, LW_CONFIG_KEYS) G(DHCP, LW_DHCP_STATES) \
  G(VERDICT, LW_VERDICTS) G(TLS_STATE, LW_TLS_STATES) G(TLSERR, LW_TLS_ERRORS) G(TLS_CONF, LW_TLS_CONF_KEYS)

#define LW_ABI_E(e, n) LW_##e##_##n,
#define LW_ABI_ENUM(e, list) enum { list(LW_ABI_E) LW_##e##_COUNT };
LW_ENUMS(LW_ABI_ENUM)
#undef LW_ABI_ENUM
#undef LW_ABI_E

/* --- Exports ------------------------------------------------------------------------
 * X(kind, return type, name, (parameters)). */
#define LW_EXPORTS(X) \
  /* the C library's allocator: JS allocates long-lived buffers with it */ \
  X(READ, void *, malloc, (size_t size)) \
  X(READ, void, free, (void *ptr)) \
  /* stack.c: lifecycle and the main loop: frames in, timers, frames out */ \
  X(CALL, int, stack_init, (void)) \
  X(LOOP, u32_t, stack_poll, (void)) \
  X(LOOP, u32_t, stack_next_timeout, (void)) \
  X(LOOP, u8_t *, stack_outbox, (void)) \
  X(LOOP, void, stack_outbox_clear, (void)) \
  X(LOOP, struct lw_rx *, stack_rx_recs, (void)) \
  X(LOOP, int, stack_rx_alloc, (int n)) \
  X(LOOP, int, stack_rx_input, (int n)) \
  X(LOOP, int, stack_rx_free, (int n)) \
  X(READ, u8_t *, stack_scratch, (u32_t len)) \
  X(CALL, void, stack_set_config, (int key, u32_t value)) \
  X(READ, int, stack_mem_stats, (struct lw_mem_stats *out)) \
  X(READ, const char *, stack_pool_name, (u32_t i)) \
  X(READ, u32_t, stack_send_room, (int fd)) \
  /* change.c: the change stream */ \
  X(LOOP, int, stack_changed, (struct lw_change *out, int max)) \
  /* netif.c: ethernet interfaces */ \
  X(CALL, int, netif_add_eth, (const u8_t *mac, u32_t mtu)) \
  X(CALL, int, netif_set_ip4, (int ifindex, const struct lw_ip4_config *cfg)) \
  X(CALL, int, netif_add_ip6, (int ifindex, const u8_t *addr)) \
  X(READ, int, netif_get_ip6, (int ifindex, int slot, u8_t *out)) \
  X(CALL, int, netif_set_default_index, (int ifindex)) \
  X(CALL, int, netif_set_link, (int ifindex, int up)) \
  X(CALL, int, netif_set_tso, (int ifindex, int on)) \
  X(CALL, int, netif_set_autoconf, (int ifindex, int on)) \
  X(CALL, int, netif_remove_index, (int ifindex)) \
  X(CALL, int, netif_add_neighbor4, (const u8_t *ip, const u8_t *mac)) \
  /* route.c: static routes (forwarding is stack_set_config's FORWARD) */ \
  X(CALL, int, route_add, (const struct lw_route *route)) \
  X(CALL, int, route_del, (const struct lw_route *route)) \
  X(READ, int, route_get, (int i, struct lw_route *out)) \
  /* dhcp.c: the DHCP client */ \
  X(CALL, int, dhcp_start_index, (int ifindex)) \
  X(CALL, int, dhcp_stop_index, (int ifindex)) \
  X(READ, int, dhcp_lease_get, (int ifindex, struct lw_lease *out)) \
  /* dns.c: the resolver */ \
  X(CALL, int, dns_servers_set, (const struct lw_addr *list, int n)) \
  X(READ, int, dns_server_get, (int i, int from_dhcp, struct lw_addr *out)) \
  X(CALL, int, dns_query_start, (const char *name, int family)) \
  X(READ, int, dns_query_result, (int id, struct lw_addr *out)) \
  X(CALL, int, dns_query_cancel, (int id)) \
  /* sock_api.c: the socket calls */ \
  X(CALL, int, sock_socket, (int domain, int type)) \
  X(CALL, int, sock_bind, (int fd, const struct lw_addr *addr)) \
  X(CALL, int, sock_listen, (int fd, int backlog)) \
  X(CALL, int, sock_accept, (int fd, struct lw_addr *peer)) \
  X(CALL, int, sock_connect, (int fd, const struct lw_addr *addr, u32_t timeout_ms)) \
  X(CALL, int, sock_send, (int fd, const u8_t *buf, u32_t len, int flags)) \
  X(CALL, int, sock_sendto, (int fd, const u8_t *buf, u32_t len, int flags, const struct lw_addr *addr)) \
  X(CALL, int, sock_recv, (int fd, u8_t *buf, u32_t len, int flags)) \
  X(CALL, int, sock_recvfrom, (int fd, u8_t *buf, u32_t len, int flags, struct lw_addr *from)) \
  X(CALL, int, sock_shutdown, (int fd, int how)) \
  X(CALL, int, sock_close, (int fd)) \
  X(READ, int, sock_events, (int fd)) \
  X(CALL, int, sock_take_error, (int fd)) \
  X(READ, int, sock_getsockname, (int fd, struct lw_addr *out)) \
  X(READ, int, sock_getpeername, (int fd, struct lw_addr *out)) \
  X(READ, int, sock_pending, (int fd)) \
  X(CALL, int, sock_setsockopt, (int fd, int level, int name, const u8_t *val, u32_t len)) \
  X(CALL, int, sock_getsockopt, (int fd, int level, int name, u8_t *out, u32_t cap)) \
  /* intercept.c: an interface that takes flows to any address (a gateway) */ \
  X(CALL, int, intercept_open, (int ifindex)) \
  X(CALL, int, intercept_close, (int ifindex)) \
  X(READ, int, intercept_syns, (int ifindex, struct lw_flow *out, int max)) \
  X(CALL, int, intercept_verdict, (int ifindex, u32_t id, int verdict)) \
  X(READ, int, intercept_udp_recv, (int ifindex, struct lw_flow *meta, u8_t *buf, u32_t cap)) \
  X(CALL, int, intercept_udp_send, (int ifindex, const struct lw_flow *flow, const u8_t *buf, u32_t len)) \
  X(CALL, int, intercept_udp_unreach, (int ifindex, const struct lw_flow *flow, int verdict)) \
  /* sock_epoll.c: epoll */ \
  X(CALL, int, epoll_create, (void)) \
  X(CALL, int, epoll_ctl, (int id, int op, int fd, u32_t events)) \
  X(READ, int, epoll_wait, (int id, struct lw_epoll_event *out, int max)) \
  X(CALL, int, epoll_close, (int id)) \
  /* sock_info.c: ss, sockstat, counters */ \
  X(READ, int, stack_ss, (struct lw_ss_row *out, int max)) \
  X(READ, int, stack_sockstat, (struct lw_sockstat *out)) \
  X(READ, int, stack_stats, (struct lw_stats *out)) \
  /* bench.c: the benchmark's reference copy */ \
  X(READ, u32_t, bench_memcpy, (u8_t *dst, const u8_t *src, u32_t len, u32_t reps))

/* The exports only lwip-tls.wasm has (wasm/tls/), on top of LW_EXPORTS. The generator
 * writes a second export list for its link, and the loader requires these exports of a
 * wasm only when TLS is asked for. Configurations are numbered (never pointers), so a
 * stale or made-up id from JS is refused, not dereferenced. */
#define LW_TLS_EXPORTS(X) \
  /* tls_conf.c: configurations (a client's or a server's), shared by connections */ \
  X(CALL, int, tls_conf_new, (int server)) \
  X(CALL, int, tls_conf_free, (int id)) \
  X(CALL, int, tls_conf_set, (int id, int key, u32_t value)) \
  X(CALL, int, tls_conf_add_ca, (int id, const u8_t *der, u32_t len)) \
  X(CALL, int, tls_conf_add_cert, (int id, const u8_t *der, u32_t len)) \
  X(CALL, int, tls_conf_set_key, (int id, const u8_t *der, u32_t len)) \
  X(CALL, int, tls_conf_alpn, (int id, const u8_t *wire, u32_t len)) \
  X(CALL, int, tls_conf_ciphers, (int id, const u8_t *ids, u32_t count)) \
  X(READ, int, tls_last_error, (void)) \
  /* tls_sock.c: TLS over a connected stream socket */ \
  X(CALL, int, tls_attach, (int fd, int conf, const char *name, const struct lw_addr *ip)) \
  X(READ, int, tls_info, (int fd, struct lw_tls_info *out)) \
  X(READ, int, tls_peer_cert, (int fd, u8_t *out, u32_t cap))

#define LW_ABI_PROTO(kind, ret, name, params) ret name params;
LW_EXPORTS(LW_ABI_PROTO)
LW_TLS_EXPORTS(LW_ABI_PROTO)

/* --- Imports ------------------------------------------------------------------------
 * Functions TS provides (module "env"); the linker is told of them, so any other
 * undefined symbol fails the link. X(return type, name, (parameters)). */
#define LW_IMPORTS(X) \
  X(u32_t, js_now, (void))                       /* ms since the stack started */ \
  X(u32_t, js_rand, (void))                      /* 32 random bits */ \
  X(void, js_diag, (const char *msg, int len))   /* a diagnostic line (DEBUG builds) */ \
  X(void, js_assert, (const char *msg, int len)) /* a failed assertion: the stack stops */ \
  /* lwip-tls.wasm only (the plain build references neither, so does not import them): */ \
  X(int, js_entropy, (u8_t *buf, u32_t len))     /* crypto.getRandomValues; 0, or -1: none */ \
  X(u32_t, js_time, (void))                      /* the wall clock, s since 1970 (certificates) */

#define LW_ABI_IMPORT(ret, name, params) extern ret name params;
LW_IMPORTS(LW_ABI_IMPORT)
#undef LW_ABI_IMPORT

#endif /* LW_ABI_H */
