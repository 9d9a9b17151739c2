// What the adapters need of a stack, and no more: they take this narrow interface rather
// than importing Stack, so the stack can offer them (stack.connect, lwip-wasm/node)
// without a module cycle.
import type { Socket } from '../socket.js';
import type { Clock } from '../clock.js';
import type { ResolveOptions, ResolvedAddress } from '../resolve.js';
import type { TlsSocket, TlsSocketOptions } from '../tls/tls-socket.js';
import type { SecureContext } from '../tls/context.js';
import type { SecureContextOptions } from '../tls/options.js';

/** An interface's addresses, as far as name lookups care (dns.ADDRCONFIG). */
export interface ProviderInterface {
  readonly ipv4: { address: string } | null;
  readonly ipv6: readonly string[];
}

export interface SocketProvider {
  /** socket(2): AF_INET or AF_INET6, SOCK_STREAM or SOCK_DGRAM. */
  socket(domain: number, type: number): Socket;
  /** True once dispose() was called: its sockets are gone. */
  readonly disposed: boolean;
  /** The error that stopped the stack, if one did. */
  readonly failure: Error | undefined;
  /** Resolves a host name through the stack's DNS (stack.resolve). Without it, only IP literals and 'localhost' resolve. */
  resolve?(name: string, options?: ResolveOptions): Promise<ResolvedAddress>;
  /** The stack's clock: socket timeouts run on it (default: real time). */
  readonly clock?: Clock;
  /** The stack's interfaces (for dns.ADDRCONFIG). */
  readonly interfaces?: readonly ProviderInterface[];
  /** True when the stack's wasm has TLS. */
  readonly hasTls?: boolean;
  /** TLS over a connected socket (stacks made with { tls: true }; others throw TypeError). */
  startTls?(socket: Socket, options?: TlsSocketOptions): TlsSocket;
  /** A TLS configuration shared by connections. */
  createSecureContext?(options?: SecureContextOptions & { isServer?: boolean }): SecureContext;
}
