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
export { loadModule, type WasmSource } from './bindings/load.js';
export * from './constants.js';
