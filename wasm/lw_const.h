/* Constants shared by the C glue and TypeScript, with Linux's names and values.
 * This file is the single source: scripts/gen-constants.mjs turns every
 * `#define LW_<NAME> <value>` line into an export in src/gen/constants.ts. */
#ifndef LW_CONST_H
#define LW_CONST_H

/* Address families and socket types (socket(2)). */
#define LW_AF_INET        2
#define LW_AF_INET6       10
#define LW_SOCK_STREAM    1
#define LW_SOCK_DGRAM     2
#define LW_IPPROTO_TCP    6
#define LW_IPPROTO_UDP    17

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
#define LW_MSG_PEEK       0x02
#define LW_MSG_TRUNC      0x20
#define LW_MSG_DONTWAIT   0x40
#define LW_MSG_WAITALL    0x100
#define LW_MSG_MORE       0x8000
#define LW_MSG_NOSIGNAL   0x4000

/* errno (Linux, asm-generic) */
#define LW_EPERM          1
#define LW_ENOENT         2
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
#define LW_EINVAL         22
#define LW_EMFILE         24
#define LW_EPIPE          32
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

#endif /* LW_CONST_H */
