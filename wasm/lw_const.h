/* Constants shared by the C glue and TypeScript, with Linux's names and values.
 * This file is the single source: scripts/gen-abi.mjs turns every `#define LW_<NAME>`
 * (an integer literal, as the preprocessor sees it) into an export in
 * src/gen/constants.ts. */
#ifndef LW_CONST_H
#define LW_CONST_H

/* Records in stack_rx_recs(): frames JS hands in per stack_rx_alloc/_input call. */
#define LW_RX_BATCH       256
/* lw_rx.flags: how a frame's checksums and size may be trusted (stack_rx.c, rx_gso.c).
 * TRUSTED: straight from another stack's outbox, checksums right. PARTIAL: from the
 * kernel through a TAP with offload, checksums valid but possibly partial (only the
 * pseudo-header's sum). The bits from LW_RX_GSO_SHIFT up: the size a TCP segment
 * larger than the MTU was meant to be cut to (0: none): its payload per piece, or with
 * SEG_IP the largest IP packet per piece (another stack's segMax, an in-memory pair). */
#define LW_RX_TRUSTED     1
#define LW_RX_PARTIAL     2
#define LW_RX_SEG_IP      4
#define LW_RX_GSO_SHIFT   16

/* Address families and socket types (socket(2)). */
#define LW_AF_INET        2
#define LW_AF_INET6       10
#define LW_SOCK_STREAM    1
#define LW_SOCK_DGRAM     2
#define LW_IPPROTO_TCP    6
#define LW_IPPROTO_UDP    17

/* Protocol levels for setsockopt(2) */
#define LW_SOL_SOCKET     1
#define LW_IPPROTO_IP     0
#define LW_IPPROTO_IPV6   41

/* socket(7) options */
#define LW_SO_REUSEADDR   2
#define LW_SO_TYPE        3
#define LW_SO_ERROR       4
#define LW_SO_BROADCAST   6
#define LW_SO_SNDBUF      7
#define LW_SO_RCVBUF      8
#define LW_SO_KEEPALIVE   9
#define LW_SO_LINGER      13
#define LW_SO_REUSEPORT   15
#define LW_SO_RCVLOWAT    18
#define LW_SO_RCVTIMEO    20
#define LW_SO_SNDTIMEO    21
#define LW_SO_ACCEPTCONN  30
#define LW_SO_PROTOCOL    38
#define LW_SO_DOMAIN      39
#define LW_SO_PEEK_OFF    42

/* tcp(7) options */
#define LW_TCP_NODELAY    1
#define LW_TCP_MAXSEG     2
#define LW_TCP_KEEPIDLE   4
#define LW_TCP_KEEPINTVL  5
#define LW_TCP_KEEPCNT    6

/* ip(7) and ipv6(7) options */
#define LW_IP_TOS         1
#define LW_IP_TTL         2
#define LW_IP_MULTICAST_IF   32
#define LW_IP_MULTICAST_TTL  33
#define LW_IP_MULTICAST_LOOP 34
#define LW_IP_ADD_MEMBERSHIP 35
#define LW_IP_DROP_MEMBERSHIP 36
#define LW_IPV6_UNICAST_HOPS 16
#define LW_IPV6_MULTICAST_IF 17
#define LW_IPV6_MULTICAST_HOPS 18
#define LW_IPV6_MULTICAST_LOOP 19
#define LW_IPV6_JOIN_GROUP   20
#define LW_IPV6_LEAVE_GROUP  21
#define LW_IPV6_V6ONLY       26
#define LW_IPV6_TCLASS       67

/* epoll(7) */
#define LW_EPOLLIN        0x001
#define LW_EPOLLPRI       0x002
#define LW_EPOLLOUT       0x004
#define LW_EPOLLERR       0x008
#define LW_EPOLLHUP       0x010
#define LW_EPOLLRDHUP     0x2000
#define LW_EPOLLONESHOT   0x40000000
#define LW_EPOLLET        0x80000000
#define LW_EPOLL_CTL_ADD  1
#define LW_EPOLL_CTL_DEL  2
#define LW_EPOLL_CTL_MOD  3

/* TCP states, numbered as Linux's (ss, /proc/net/tcp) */
#define LW_TCP_ESTABLISHED 1
#define LW_TCP_SYN_SENT    2
#define LW_TCP_SYN_RECV    3
#define LW_TCP_FIN_WAIT1   4
#define LW_TCP_FIN_WAIT2   5
#define LW_TCP_TIME_WAIT   6
#define LW_TCP_CLOSE       7
#define LW_TCP_CLOSE_WAIT  8
#define LW_TCP_LAST_ACK    9
#define LW_TCP_LISTEN      10
#define LW_TCP_CLOSING     11

/* shutdown(2) */
#define LW_SHUT_RD        0
#define LW_SHUT_WR        1
#define LW_SHUT_RDWR      2

/* poll(2) */
#define LW_POLLIN         0x001
#define LW_POLLPRI        0x002
#define LW_POLLOUT        0x004
#define LW_POLLERR        0x008
#define LW_POLLHUP        0x010
#define LW_POLLNVAL       0x020
#define LW_POLLRDHUP      0x2000

/* send(2)/recv(2) flags */
#define LW_MSG_OOB        0x01
#define LW_MSG_PEEK       0x02
#define LW_MSG_TRUNC      0x20
#define LW_MSG_DONTWAIT   0x40
#define LW_MSG_WAITALL    0x100
#define LW_MSG_MORE       0x8000
#define LW_MSG_NOSIGNAL   0x4000

/* errno (Linux, asm-generic) */
#define LW_EPERM          1
#define LW_ENOENT         2
#define LW_ESRCH          3
#define LW_EINTR          4
#define LW_EIO            5
#define LW_EBADF          9
#define LW_EAGAIN         11
#define LW_ENOMEM         12
#define LW_EACCES         13
#define LW_EFAULT         14
#define LW_EBUSY          16
#define LW_EEXIST         17
#define LW_ENODEV         19
#define LW_ENONET         64
#define LW_EPROTO         71
#define LW_EINVAL         22
#define LW_ENFILE         23
#define LW_EMFILE         24
#define LW_EPIPE          32
#define LW_EDOM           33
#define LW_ENOSYS         38
#define LW_ENOTSOCK       88
#define LW_EDESTADDRREQ   89
#define LW_EMSGSIZE       90
#define LW_EPROTOTYPE     91
#define LW_ENOPROTOOPT    92
#define LW_EPROTONOSUPPORT 93
#define LW_EOPNOTSUPP     95
#define LW_EAFNOSUPPORT   97
#define LW_EADDRINUSE     98
#define LW_EADDRNOTAVAIL  99
#define LW_ENETDOWN       100
#define LW_ENETUNREACH    101
#define LW_ECONNABORTED   103
#define LW_ECONNRESET     104
#define LW_ENOBUFS        105
#define LW_EISCONN        106
#define LW_ENOTCONN       107
#define LW_ETIMEDOUT      110
#define LW_ECONNREFUSED   111
#define LW_EHOSTDOWN      112
#define LW_EHOSTUNREACH   113
#define LW_EALREADY       114
#define LW_EINPROGRESS    115

/* The events of a CHANGE_INTERCEPT entry (intercept.c) */
#define LW_INTERCEPT_SYN  1   /* SYNs held, not yet reported (intercept_syns) */
#define LW_INTERCEPT_UDP  2   /* datagrams queued (intercept_udp_recv) */

/* lw_ss_row.flags (stack_ss) */
#define LW_SSF_TCPINFO    1   /* the TCP fields (mss ... rcv_wnd) are filled in */

#endif /* LW_CONST_H */
