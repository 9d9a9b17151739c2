// lwip-wasm: the lwIP TCP/IP stack in WebAssembly, with a Linux-like sockets API.
export { Stack, type StackOptions, type PollEntry, type MemoryStats } from './stack.js';
export { Socket, type Data, type Datagram, type ConnectOptions } from './socket.js';
export { NetInterface, type InterfaceOptions, type InterfaceCounters, type IPv4Config } from './interface.js';
export { SocketError, StackError } from './errors.js';
export type { SocketAddress, Family } from './address.js';
export type { WaitOptions } from './wait.js';
export { realClock, type Clock, type ClockTimer } from './clock.js';
export type { Link, LinkReceiver } from './transports/link.js';
export { createPair, PairLink, type PairOptions } from './transports/pair.js';
export {
  WebSocketLink, WebSocketLinkError, connectWebSocket, type WebSocketLike, type WebSocketEventLike, type WebSocketConstructor, type WebSocketTarget,
  type WebSocketLinkOptions, type WebSocketLinkState, type WebSocketLinkCounters, type ReconnectOptions,
} from './transports/websocket.js';
export { BATCH_OFFLOAD_PROTOCOL, BATCH_PROTOCOL } from './transports/batch.js';
export { DnsError, type DnsErrorCode, type ResolveOptions, type ResolvedAddress } from './resolve.js';
export type { DhcpLease, DhcpOptions, DhcpState } from './dhcp.js';
export { loadModule, type WasmSource } from './bindings/load.js';
export { TlsSocket, type TlsSocketOptions, type TlsInfo } from './tls/tls-socket.js';
export { SecureContext } from './tls/context.js';
export type { SecureContextOptions, TlsVersion } from './tls/options.js';
export type { PemOrDer } from './tls/pem.js';
export { TlsError, type TlsErrorCode } from './tls/errors.js';
export type { FetchInit } from './http/client.js';
export { HttpParserError } from './http/errors.js';
export { Epoll, type EpollEvent } from './epoll.js';
export { Interceptor, type InterceptVerdict, type HeldConnect, type InterceptedDatagram } from './intercept.js';
export { MAX_ROUTES, type RouteOptions, type RouteInfo } from './route.js';
export { formatSs, type SsRow, type SsOptions, type TcpInfo, type SocketMemory, type Sockstat, type Stats, type ProtoCounters } from './introspect.js';
export type { OptionValue, Linger, IPv4Membership, IPv6Membership } from './options.js';
export type { RecvOptions } from './socket.js';
export * from './constants.js';
export { createSwitch, Switch, SwitchPort, type SwitchOptions, type SwitchPortCounters } from './transports/switch.js';
export {
  impair, ImpairedLink, type Impairment, type ImpairOptions, type GilbertElliott, type ImpairmentCounters,
} from './faults/impair.js';
export { capture, CaptureLink, PcapWriter, type ByteSink, type PcapOptions } from './capture/pcap.js';
export { VirtualClock, type VirtualClockOptions, type RunOptions } from './testing/virtual-clock.js';
export { installVirtualTimers, runOnClock, type VirtualTimers, type VirtualTimersOptions } from './testing/virtual-timers.js';
export type {
  StreamSocket, StreamAddress, StreamOptions, ConnectStreamOptions, SocketInfo, HostLookup, StreamListener,
  ListenOptions, ListenerAddress, UdpStreamSocket, UdpOptions, UdpMessage, UdpOutgoing, UdpOpenInfo,
} from './adapters/streams.js';
