// Typed view of the functions wasm/*.c marks LW_EXPORT. test/exports.test.mjs checks
// that this list and the module's real exports agree, so the two cannot drift.

/** A pointer into wasm memory. */
export type Ptr = number;

export interface LwipExports {
  readonly memory: WebAssembly.Memory;
  _initialize(): void;
  malloc(size: number): Ptr;
  free(ptr: Ptr): void;

  // stack.c
  stack_init(): number;
  stack_poll(): number;
  stack_next_timeout(): number;
  stack_outbox(): Ptr;
  stack_outbox_clear(): void;
  stack_inbox(len: number): Ptr;
  stack_scratch(len: number): Ptr;
  stack_input(len: number): number;
  stack_set_config(key: number, value: number): void;
  stack_mem_stats(out: Ptr, max: number): number;
  stack_pool_name(i: number): Ptr;
  stack_changed(out: Ptr, max: number): number;
  stack_send_room(fd: number): number;

  // netif.c
  netif_add_eth(mac: Ptr, mtu: number): number;
  netif_set_ip4(ifindex: number, addr: number, mask: number, gw: number): number;
  netif_add_ip6(ifindex: number, addr: Ptr): number;
  netif_get_ip6(ifindex: number, slot: number, out: Ptr): number;
  netif_set_default_index(ifindex: number): number;
  netif_set_link(ifindex: number, up: number): number;
  netif_remove_index(ifindex: number): number;
  netif_add_neighbor4(ip: number, mac: Ptr): number;

  // dhcp.c
  dhcp_start_index(ifindex: number): number;
  dhcp_stop_index(ifindex: number): number;
  dhcp_lease_get(ifindex: number, out: Ptr): number;

  // dns.c
  dns_servers_set(list: Ptr, n: number): number;
  dns_server_get(i: number, fromDhcp: number, out: Ptr): number;
  dns_query_start(name: Ptr, family: number): number;
  dns_query_result(id: number, out: Ptr): number;
  dns_query_cancel(id: number): number;

  // sock.c
  sock_socket(domain: number, type: number): number;
  sock_bind(fd: number, addr: Ptr): number;
  sock_listen(fd: number, backlog: number): number;
  sock_accept(fd: number, peer: Ptr): number;
  sock_connect(fd: number, addr: Ptr, timeoutMs: number): number;
  sock_send(fd: number, buf: Ptr, len: number, flags: number): number;
  sock_sendto(fd: number, buf: Ptr, len: number, flags: number, addr: Ptr): number;
  sock_recv(fd: number, buf: Ptr, len: number, flags: number): number;
  sock_recvfrom(fd: number, buf: Ptr, len: number, flags: number, from: Ptr): number;
  sock_shutdown(fd: number, how: number): number;
  sock_close(fd: number): number;
  sock_events(fd: number): number;
  sock_take_error(fd: number): number;
  sock_getsockname(fd: number, out: Ptr): number;
  sock_getpeername(fd: number, out: Ptr): number;
  sock_pending(fd: number): number;

  // sock_opt.c
  sock_setsockopt(fd: number, level: number, name: number, val: Ptr, len: number): number;
  sock_getsockopt(fd: number, level: number, name: number, out: Ptr, cap: number): number;

  // sock_epoll.c
  epoll_create(): number;
  epoll_ctl(id: number, op: number, fd: number, events: number): number;
  epoll_wait(id: number, out: Ptr, max: number): number;
  epoll_pending(id: number): number;
  epoll_close(id: number): number;

  // sock_info.c
  stack_ss(out: Ptr, max: number): number;
  stack_sockstat(out: Ptr): number;
  stack_stats(out: Ptr, max: number): number;

  // bench.c
  bench_memcpy(dst: Ptr, src: Ptr, len: number, reps: number): number;
}

/** Keys of stack_set_config (wasm/stack.c). */
export const CONFIG_CONNECT_TIMEOUT = 0;
export const CONFIG_MAX_FDS = 1;
export const CONFIG_UDP_RCVBUF = 2;
export const CONFIG_TIME_WAIT = 3;

/** Every function name above, for the drift check. */
export const EXPORTED_FUNCTIONS: readonly (keyof LwipExports)[] = [
  '_initialize', 'malloc', 'free',
  'stack_init', 'stack_poll', 'stack_next_timeout', 'stack_outbox', 'stack_outbox_clear',
  'stack_inbox', 'stack_scratch', 'stack_input', 'stack_set_config', 'stack_mem_stats',
  'stack_pool_name', 'stack_changed', 'stack_send_room',
  'netif_add_eth', 'netif_set_ip4', 'netif_add_ip6', 'netif_get_ip6', 'netif_set_default_index',
  'netif_set_link', 'netif_remove_index', 'netif_add_neighbor4',
  'dhcp_start_index', 'dhcp_stop_index', 'dhcp_lease_get',
  'dns_servers_set', 'dns_server_get', 'dns_query_start', 'dns_query_result', 'dns_query_cancel',
  'sock_socket', 'sock_bind', 'sock_listen', 'sock_accept', 'sock_connect', 'sock_send',
  'sock_sendto', 'sock_recv', 'sock_recvfrom', 'sock_shutdown', 'sock_close', 'sock_events',
  'sock_take_error', 'sock_getsockname', 'sock_getpeername', 'sock_pending',
  'sock_setsockopt', 'sock_getsockopt',
  'epoll_create', 'epoll_ctl', 'epoll_wait', 'epoll_pending', 'epoll_close',
  'stack_ss', 'stack_sockstat', 'stack_stats',
  'bench_memcpy',
];
