// stack.dgram: node:dgram's shape over one stack. A socket runs one receive loop on the
// sockets API's readiness and emits 'message' for each datagram. Node-only.
import { EventEmitter } from 'node:events';
import { Buffer } from 'node:buffer';
import type { Socket } from '../index.js';
import type { SocketProvider } from './provider.js';
import {
  AF_INET, AF_INET6, SOCK_DGRAM, EBADF, EINVAL, SOL_SOCKET, SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, IPPROTO_IP,
  IPPROTO_IPV6, IP_TTL, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP,
  IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_MULTICAST_IF, IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP, StackError, SocketError, type OptionValue,
} from '../index.js';
import { ipFamily, literalAddress, checkPortNumber } from './host.js';
import { parseIPv4, parseIPv6 } from '../address.js';
import { toNodeError, nodeCodeError, notFound, isDisposal, type NodeSystemError } from './node-errors.js';
import type { LookupFunction } from './net-socket.js';

export type DgramType = 'udp4' | 'udp6';

export interface DgramSocketOptions {
  type: DgramType;
  /** Resolves names other than IP literals and 'localhost' (dns.lookup's signature). */
  lookup?: LookupFunction;
  /** SO_RCVBUF / SO_SNDBUF at bind time. */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** udp6 only: do not take IPv4 (IPV6_V6ONLY, when the build has setsockopt). */
  ipv6Only?: boolean;
  /** Accepted for compatibility; the stack has one process, so nothing else shares ports. */
  reuseAddr?: boolean;
  /** Aborting closes the socket. */
  signal?: AbortSignal;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface DgramBindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

export interface DgramAddress {
  address: string;
  family: string;
  port: number;
}

type Message = string | Uint8Array | DataView | ReadonlyArray<string | Uint8Array | DataView>;
type SendCallback = (err: Error | null, bytes?: number) => void;

const MAX_DATAGRAM = 65536;

function toBuffer(m: string | Uint8Array | DataView): Buffer {
  if (typeof m === 'string') return Buffer.from(m);
  if (m instanceof Uint8Array) return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  if (m instanceof DataView) return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  throw nodeCodeError('ERR_INVALID_ARG_TYPE', 'The "msg" argument must be a string, Buffer, TypedArray, DataView or an array of them', TypeError);
}

function messageBytes(msg: Message): Buffer {
  if (Array.isArray(msg)) return Buffer.concat(msg.map((m) => toBuffer(m as string | Uint8Array | DataView)));
  return toBuffer(msg as string | Uint8Array | DataView);
}

export class DgramSocket extends EventEmitter {
  readonly type: DgramType;
  readonly #stack: SocketProvider;
  readonly #options: DgramSocketOptions;
  readonly #abort = new AbortController();
  #sock: Socket;
  #state: 'unbound' | 'binding' | 'bound' | 'closed' = 'unbound';
  #bound: Promise<void> | undefined;
  #remote: DgramAddress | undefined;
  #connecting = false;
  #generation = 0;
  /** Options set so far, replayed onto the fresh socket disconnect() makes. */
  readonly #applied = new Map<string, [number, number, OptionValue]>();

  /** @internal use stack.dgram.createSocket() */
  constructor(stack: SocketProvider, options: DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super();
    if (options.type !== 'udp4' && options.type !== 'udp6') {
      throw nodeCodeError('ERR_SOCKET_BAD_TYPE', "Bad socket type specified. Valid types are: udp4, udp6", TypeError);
    }
    if (options.lookup !== undefined && typeof options.lookup !== 'function') throw new TypeError('lwip-wasm: lookup must be a function');
    this.type = options.type;
    this.#stack = stack;
    this.#options = options;
    if (options.type === 'udp6' && options.ipv6Only) this.#applied.set('v6only', [IPPROTO_IPV6, IPV6_V6ONLY, 1]);
    if (options.recvBufferSize !== undefined) this.#applied.set('rcvbuf', [SOL_SOCKET, SO_RCVBUF, this.#bufferSize(options.recvBufferSize)]);
    if (options.sendBufferSize !== undefined) this.#applied.set('sndbuf', [SOL_SOCKET, SO_SNDBUF, this.#bufferSize(options.sendBufferSize)]);
    this.#sock = this.#open();
    if (listener) this.on('message', listener);
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) process.nextTick(() => this.#closeQuietly());
      else signal.addEventListener('abort', () => this.#closeQuietly(), { once: true, signal: this.#abort.signal });
    }
  }

  #open(): Socket {
    const s = this.#stack.socket(this.type === 'udp6' ? AF_INET6 : AF_INET, SOCK_DGRAM);
    try {
      for (const [level, name, value] of this.#applied.values()) s.setsockopt(level, name, value);
    } catch (err) {
      s.close();
      throw toNodeError(err, 'setsockopt');
    }
    return s;
  }

  #healthCheck(): void {
    if (this.#state === 'closed') throw nodeCodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
  }

  async #resolve(host: string): Promise<string> {
    const family = this.type === 'udp6' ? 6 : 4;
    const lit = literalAddress(host, family);
    if (lit !== null) return lit;
    const lookup = this.#options.lookup;
    if (!lookup) throw notFound(host);
    return new Promise<string>((resolve, reject) => {
      lookup(host, { family, all: false }, (err, addr) => {
        if (err) return reject(err);
        const first = Array.isArray(addr) ? addr[0]?.address : addr;
        if (typeof first !== 'string' || ipFamily(first) === 0) return reject(notFound(host));
        resolve(first);
      });
    });
  }

  // --- bind -------------------------------------------------------------------------

  /**
   * Binds, as dgram.Socket#bind: ([port][, address][, cb]) or (options[, cb]). 'listening'
   * follows; failures (EADDRINUSE...) are emitted as 'error'.
   */
  bind(port?: number, address?: string, callback?: () => void): this;
  bind(port?: number, callback?: () => void): this;
  bind(options: DgramBindOptions, callback?: () => void): this;
  bind(...args: unknown[]): this {
    this.#healthCheck();
    if (this.#state !== 'unbound') throw nodeCodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (last as () => void) : undefined;
    const rest = cb ? args.slice(0, -1) : args;
    let port: unknown = rest[0];
    let address: unknown = rest[1];
    if (port !== null && typeof port === 'object') {
      const o = port as DgramBindOptions;
      port = o.port;
      address = o.address;
    }
    const p = checkPortNumber(port ?? 0);
    const host = typeof address === 'string' && address !== '' ? address : this.type === 'udp6' ? '::' : '0.0.0.0';
    if (cb) this.once('listening', cb);
    this.#state = 'binding';
    this.#bound = this.#bind(host, p);
    this.#bound.catch(() => {});
    return this;
  }

  async #bind(host: string, port: number): Promise<void> {
    let address: string;
    try {
      address = await this.#resolve(host);
      if (this.#state === 'closed') throw nodeCodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
      try {
        this.#sock.bind(address, port);
      } catch (err) {
        throw toNodeError(err, 'bind', address, port);
      }
    } catch (err) {
      if (this.#state !== 'closed') {
        this.#state = 'unbound';
        if (isDisposal(err)) this.#closeQuietly();
        else this.emit('error', err);
      }
      throw err;
    }
    this.#state = 'bound';
    void this.#receive(this.#sock, this.#generation);
    this.emit('listening');
  }

  /** Binds to an ephemeral port first when a send or connect needs a bound socket, as Node does. */
  #ensureBound(): Promise<void> {
    if (this.#state === 'unbound') this.bind(0);
    return this.#bound!;
  }

  async #receive(sock: Socket, generation: number): Promise<void> {
    const signal = this.#abort.signal;
    while (generation === this.#generation && this.#state === 'bound') {
      try {
        const d = await sock.recvfrom(MAX_DATAGRAM, { signal });
        if (generation !== this.#generation) return;
        const rinfo: RemoteInfo = { address: d.address, family: d.family, port: d.port, size: d.data.byteLength };
        this.emit('message', Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength), rinfo);
      } catch (err) {
        if (signal.aborted || generation !== this.#generation || this.#state !== 'bound') return;
        if (err instanceof StackError || (err instanceof SocketError && err.errno === EBADF)) {
          if (!isDisposal(err)) this.emit('error', err);
          this.#closeQuietly();
          return;
        }
        this.emit('error', toNodeError(err, 'recvmsg')); // ECONNREFUSED on a connected socket; it stays open
      }
    }
  }

  // --- send -------------------------------------------------------------------------

  /**
   * Sends one datagram, as dgram.Socket#send: (msg[, offset, length], port[, address][, cb])
   * or, when connected, (msg[, offset, length][, cb]). Errors go to cb, or to 'error'
   * when there is no cb.
   */
  send(msg: Message, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: Message, port?: number, callback?: SendCallback): void;
  send(msg: Message, callback?: SendCallback): void;
  send(msg: Message, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: Message, offset: number, length: number, callback?: SendCallback): void;
  send(...args: unknown[]): void {
    let [buffer, offset, length, port, address, callback] = args as [Message, unknown, unknown, unknown, unknown, unknown];
    const connected = this.#remote !== undefined;
    let data: Buffer;
    const slice = (): Buffer => {
      const all = messageBytes(buffer);
      const off = Number(offset) >>> 0;
      const len = typeof length === 'number' ? length >>> 0 : all.byteLength - off;
      return all.subarray(off, off + len);
    };
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        data = typeof offset === 'number' && typeof length === 'number' ? slice() : messageBytes(buffer);
      } else {
        data = messageBytes(buffer);
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        data = slice();
        if (typeof port === 'function') {
          callback = port;
          port = undefined;
        }
      } else {
        data = messageBytes(buffer);
        callback = offset;
      }
      if (port || address) throw nodeCodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    }
    if (typeof callback !== 'function') callback = undefined; // as Node: anything else is ignored
    this.#healthCheck();
    let p = 0;
    if (!connected) {
      try {
        p = checkPortNumber(port);
        if (p === 0) throw new RangeError('port 0');
      } catch {
        throw nodeCodeError('ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${String(port)}.`, RangeError);
      }
    }
    const host = typeof address === 'string' && address !== '' ? address : 'localhost';
    const cb = callback as SendCallback | undefined;
    void this.#send(data, connected ? undefined : host, p, cb);
  }

  async #send(data: Buffer, host: string | undefined, port: number, cb: SendCallback | undefined): Promise<void> {
    let dest: string | undefined;
    try {
      await this.#ensureBound();
      dest = host === undefined ? undefined : await this.#resolve(host);
      const sock = this.#sock;
      const n = dest === undefined ? await sock.send(data, { signal: this.#abort.signal })
        : await sock.sendto(data, dest, port, { signal: this.#abort.signal });
      if (cb) cb(null, n);
    } catch (err) {
      if (this.#abort.signal.aborted) return; // closed meanwhile
      const e = toNodeError(err, 'send', dest ?? this.#remote?.address, dest ? port : this.#remote?.port) as Error;
      if (cb) cb(e);
      else if (isDisposal(err)) this.#closeQuietly();
      else this.emit('error', e);
    }
  }

  // --- connect ----------------------------------------------------------------------

  /** Sets the default peer: sends may leave out the address, and only its datagrams arrive. */
  connect(port: number, address?: string, callback?: () => void): void;
  connect(port: number, callback?: () => void): void;
  connect(port: number, address?: unknown, callback?: unknown): void {
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    }
    this.#healthCheck();
    if (this.#remote || this.#connecting) throw nodeCodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    let p: number;
    try {
      p = checkPortNumber(port);
      if (p === 0) throw new RangeError('port 0');
    } catch {
      throw nodeCodeError('ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${String(port)}.`, RangeError);
    }
    const host = typeof address === 'string' && address !== '' ? address : 'localhost';
    const cb = typeof callback === 'function' ? (callback as (err?: Error) => void) : undefined;
    if (cb) this.once('connect', cb);
    this.#connecting = true;
    void (async () => {
      let dest: string | undefined;
      try {
        await this.#ensureBound();
        dest = await this.#resolve(host);
        try {
          this.#sock.connectSync(dest, p);
        } catch (err) {
          throw toNodeError(err, 'connect', dest, p);
        }
        this.#remote = { address: dest, family: dest.includes(':') ? 'IPv6' : 'IPv4', port: p };
        this.#connecting = false;
        this.emit('connect');
      } catch (err) {
        this.#connecting = false;
        if (this.#state === 'closed') return;
        if (cb) {
          this.removeListener('connect', cb);
          cb(err as Error);
        } else if (isDisposal(err)) {
          this.#closeQuietly();
        } else {
          this.emit('error', err);
        }
      }
    })();
  }

  /**
   * Forgets the default peer. The stack has no AF_UNSPEC connect, so the socket is
   * replaced by a fresh one bound to the same address and port: datagrams that arrived
   * but were not yet delivered are dropped.
   */
  disconnect(): void {
    this.#healthCheck();
    if (!this.#remote) throw nodeCodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    const local = this.#sock.getsockname();
    const fresh = this.#open();
    this.#generation++;
    this.#sock.close();
    this.#sock = fresh;
    this.#remote = undefined;
    fresh.bind(local.address, local.port);
    void this.#receive(fresh, this.#generation);
  }

  remoteAddress(): DgramAddress {
    this.#healthCheck();
    if (!this.#remote) throw nodeCodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    return { ...this.#remote };
  }

  /** The bound { address, family, port }; throws EBADF before bind, as Node does. */
  address(): DgramAddress {
    this.#healthCheck();
    if (this.#state !== 'bound') throw toNodeError(new SocketError(EBADF, 'getsockname'));
    const n = this.#sock.getsockname();
    return { address: n.address, family: n.family, port: n.port };
  }

  // --- close ------------------------------------------------------------------------

  close(callback?: () => void): this {
    this.#healthCheck();
    if (callback) this.once('close', callback);
    this.#closeQuietly();
    return this;
  }

  #closeQuietly(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#abort.abort();
    try {
      if (!this.#sock.closed) this.#sock.close();
    } catch {
      // the stack was disposed
    }
    process.nextTick(() => this.emit('close'));
  }

  // --- options ----------------------------------------------------------------------

  /** SO_BROADCAST: needed to send to a broadcast address (EACCES without it, as Linux). */
  setBroadcast(flag: boolean): void {
    this.#option('setBroadcast', SOL_SOCKET, SO_BROADCAST, flag ? 1 : 0);
  }

  /** IP_TTL (IPv6: unicast hops), 1-255. */
  setTTL(ttl: number): number {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 255) {
      throw toNodeError(new SocketError(EINVAL, 'setTTL'));
    }
    this.#option('setTTL', this.#v6 ? IPPROTO_IPV6 : IPPROTO_IP, this.#v6 ? IPV6_UNICAST_HOPS : IP_TTL, ttl);
    return ttl;
  }

  /** IP_MULTICAST_TTL (IPv6: multicast hops), 0-255. */
  setMulticastTTL(ttl: number): number {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      throw toNodeError(new SocketError(EINVAL, 'setMulticastTTL'));
    }
    this.#option('setMulticastTTL', this.#v6 ? IPPROTO_IPV6 : IPPROTO_IP, this.#v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL, ttl);
    return ttl;
  }

  /** IP_MULTICAST_LOOP: whether our own multicast datagrams come back to us. */
  setMulticastLoopback(flag: boolean): boolean {
    this.#option('setMulticastLoopback', this.#v6 ? IPPROTO_IPV6 : IPPROTO_IP, this.#v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP, flag ? 1 : 0);
    return flag;
  }

  /** The outgoing interface for multicast: an IPv4 address, or '::%index' for IPv6. */
  setMulticastInterface(interfaceAddress: string): void {
    if (typeof interfaceAddress !== 'string') {
      throw nodeCodeError('ERR_INVALID_ARG_TYPE', 'The "interfaceAddress" argument must be a string', TypeError);
    }
    if (this.#v6) {
      const zone = /%(\d+)$/.exec(interfaceAddress);
      this.#option('setMulticastInterface', IPPROTO_IPV6, IPV6_MULTICAST_IF, zone ? Number(zone[1]) : 0);
    } else {
      if (!parseIPv4(interfaceAddress)) throw toNodeError(new SocketError(EINVAL, 'setMulticastInterface'));
      this.#option('setMulticastInterface', IPPROTO_IP, IP_MULTICAST_IF, interfaceAddress);
    }
  }

  /** Joins a multicast group (IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP); EINVAL when it is not one. */
  addMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.#membership('addMembership', true, multicastAddress, interfaceAddress);
  }

  dropMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.#membership('dropMembership', false, multicastAddress, interfaceAddress);
  }

  #membership(call: string, join: boolean, group: string, iface: string | undefined): void {
    this.#healthCheck();
    if (typeof group !== 'string') throw nodeCodeError('ERR_INVALID_ARG_TYPE', 'The "multicastAddress" argument must be a string', TypeError);
    if (this.#v6) {
      const pct = group.indexOf('%');
      const g = parseIPv6(pct >= 0 ? group.slice(0, pct) : group);
      if (!g || g[0] !== 0xff) throw toNodeError(new SocketError(EINVAL, call));
      const zone = iface !== undefined ? /%(\d+)$/.exec(iface) : null;
      const m = { multiaddr: pct >= 0 ? group.slice(0, pct) : group, interface: zone ? Number(zone[1]) : 0 };
      this.#option(call, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, m, `group ${m.multiaddr} ${m.interface}`);
      if (!join) this.#applied.delete(`group ${m.multiaddr} ${m.interface}`);
    } else {
      const g = parseIPv4(group);
      if (!g || g[0]! < 224 || g[0]! > 239) throw toNodeError(new SocketError(EINVAL, call));
      if (iface !== undefined && !parseIPv4(iface)) throw toNodeError(new SocketError(EINVAL, call));
      const m = { multiaddr: group, interface: iface ?? '0.0.0.0' };
      this.#option(call, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, m, `group ${m.multiaddr} ${m.interface}`);
      if (!join) this.#applied.delete(`group ${m.multiaddr} ${m.interface}`);
    }
  }

  /** SO_RCVBUF: bytes of datagrams queued before more are dropped. */
  setRecvBufferSize(size: number): void {
    this.#option('setRecvBufferSize', SOL_SOCKET, SO_RCVBUF, this.#bufferSize(size));
  }

  /** SO_SNDBUF. */
  setSendBufferSize(size: number): void {
    this.#option('setSendBufferSize', SOL_SOCKET, SO_SNDBUF, this.#bufferSize(size));
  }

  /** SO_RCVBUF as getsockopt reports it (Linux doubles what was set). */
  getRecvBufferSize(): number {
    this.#healthCheck();
    return this.#sock.getsockopt(SOL_SOCKET, SO_RCVBUF) as number;
  }

  /** SO_SNDBUF as getsockopt reports it (Linux doubles what was set). */
  getSendBufferSize(): number {
    this.#healthCheck();
    return this.#sock.getsockopt(SOL_SOCKET, SO_SNDBUF) as number;
  }

  /** Datagrams go to the stack at once, so nothing waits in a send queue. */
  getSendQueueSize(): number {
    return 0;
  }

  getSendQueueCount(): number {
    return 0;
  }

  #bufferSize(size: number): number {
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0 || size > 0x7fffffff) {
      throw nodeCodeError('ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer', TypeError);
    }
    return size;
  }

  get #v6(): boolean {
    return this.type === 'udp6';
  }

  /** Sets an option, reporting failure as Node does (EINVAL from setTTL...). key: what replaces it. */
  #option(call: string, level: number, name: number, value: OptionValue, key = `${level}:${name}`): void {
    this.#healthCheck();
    try {
      this.#sock.setsockopt(level, name, value);
    } catch (err) {
      throw toNodeError(err, call) as NodeSystemError;
    }
    this.#applied.set(key, [level, name, value]);
  }

  /** Present for Node compatibility; the stack's own timers decide whether the process stays alive. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** The stack's socket underneath (for poll or options the adapter lacks). */
  get lwipSocket(): Socket {
    return this.#sock;
  }
}

/** node:dgram over one stack. */
export interface LwipDgram {
  readonly stack: SocketProvider;
  readonly Socket: new (options: DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) => DgramSocket;
  createSocket(type: DgramType | DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): DgramSocket;
}

const modules = new WeakMap<SocketProvider, LwipDgram>();

/** The node:dgram module for a stack (one per stack; stack.dgram returns the same one). */
export function createDgram(stack: SocketProvider): LwipDgram {
  const known = modules.get(stack);
  if (known) return known;
  class Socket extends DgramSocket {
    constructor(options: DgramSocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
      super(stack, options, listener);
    }
  }
  const dgram: LwipDgram = {
    stack,
    Socket,
    createSocket(type, listener) {
      const options = typeof type === 'string' ? { type } : type;
      if (typeof options !== 'object' || options === null) {
        throw nodeCodeError('ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6', TypeError);
      }
      return new Socket(options, listener);
    },
  };
  modules.set(stack, dgram);
  return dgram;
}
