// stack.dgram: node:dgram's shape over one stack, following Node's steps (lib/dgram.js):
// bind() looks its address up (the stack's dns.lookup, a tick even for a literal) and
// says 'listening'; send() binds first if need be, queues until bound, looks the address
// up, sends at once and calls back a tick later; errors of a send without a callback are
// dropped, as Node drops them. Like a libuv handle, the socket has no descriptor until it
// is bound: options that need one fail with EBADF before bind(). Node-only.
import { EventEmitter } from 'node:events';
import { Buffer } from 'node:buffer';
import { promisify } from 'node:util';
import type { Socket } from '../index.js';
import {
  AF_INET, AF_INET6, SOCK_DGRAM, EBADF, EINVAL, EAGAIN, ENOPROTOOPT, SOL_SOCKET, SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR,
  IPPROTO_IP, IPPROTO_IPV6, IP_TTL, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF, IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP, IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_MULTICAST_IF,
  IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP, StackError, SocketError, type OptionValue, type Datagram,
} from '../index.js';
import type { SocketProvider } from './provider.js';
import { parseIPv4, parseIPv6 } from '../address.js';
import { Lifetime, whenSettled } from './lifetime.js';
import { createDns, type LookupFunction } from './dns.js';
import {
  errnoException, exceptionWithHostPort, uvErrno, nodeError, isDisposal, errInvalidArgType, errMissingArgs,
  type NodeSystemError,
} from './node-errors.js';
import { validateNumber, validatePort, validateString, validateUint32, validateFunction, validateAbortSignal } from './validators.js';

export type DgramType = 'udp4' | 'udp6';

export interface DgramSocketOptions {
  type: DgramType;
  /** Resolves names (dns.lookup's signature, called as lookup(name, family, cb); default: the stack's dns.lookup). */
  lookup?: LookupFunction;
  /** SO_RCVBUF / SO_SNDBUF, set once bound. */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** udp6 only: do not take IPv4 (IPV6_V6ONLY). */
  ipv6Only?: boolean;
  /** SO_REUSEADDR: several sockets may bind one port (each then receives multicast). */
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

type Message = string | ArrayBufferView | ReadonlyArray<string | ArrayBufferView>;
type SendCallback = (err: Error | null, bytes?: number) => void;
type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;

const MAX_DATAGRAM = 65536;
const BUFFER_TYPES = ['Buffer', 'TypedArray', 'DataView', 'string'];

const enum Bind { Unbound, Binding, Bound }
const enum Conn { Disconnected, Connecting, Connected }

function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Buffer {
  let b: ArrayBufferView;
  if (typeof buffer === 'string') b = Buffer.from(buffer);
  else if (!ArrayBuffer.isView(buffer)) throw errInvalidArgType('buffer', BUFFER_TYPES, buffer);
  else b = buffer;
  const off = (offset as number) >>> 0;
  const len = (length as number) >>> 0;
  if (off > b.byteLength) throw nodeError('ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds', RangeError);
  if (off + len > b.byteLength) throw nodeError('ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds', RangeError);
  return Buffer.from(b.buffer, b.byteOffset + off, len);
}

/** Buffers for a list of strings and views, or null if an entry is neither (as Node's fixBufferList). */
function fixBufferList(list: readonly unknown[]): Buffer[] | null {
  const out: Buffer[] = [];
  for (const b of list) {
    if (typeof b === 'string') out.push(Buffer.from(b));
    else if (!ArrayBuffer.isView(b)) return null;
    else out.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  return out;
}

/** Node's ERR_SOCKET_BUFFER_SIZE (a SystemError) for a socket with no descriptor yet. */
function bufferSizeError(recv: boolean): Error {
  const context = { errno: -EBADF, code: 'EBADF', message: 'bad file descriptor', syscall: recv ? 'uv_recv_buffer_size' : 'uv_send_buffer_size' };
  const e = nodeError('ERR_SOCKET_BUFFER_SIZE',
    `Could not get or set buffer size: ${context.syscall} returned EBADF (bad file descriptor)`);
  Object.defineProperty(e, 'name', { value: 'SystemError', enumerable: false, writable: true, configurable: true });
  Object.defineProperty(e, 'info', { value: context, enumerable: true, configurable: true });
  Object.defineProperty(e, 'errno', { get: () => context.errno, enumerable: true, configurable: true });
  Object.defineProperty(e, 'syscall', { get: () => context.syscall, enumerable: true, configurable: true });
  return e;
}

export class DgramSocket extends EventEmitter {
  readonly type: DgramType;
  readonly #stack: SocketProvider;
  readonly #lookupFn: LookupFunction;
  readonly #life = new Lifetime();
  /** Node's handle: the stack's socket, null once closed. */
  #sock: Socket | null;
  /** libuv's descriptor exists: bound explicitly, or implicitly by addMembership. */
  #hasFd = false;
  /** What bind() asked for: disconnect() keeps it (an ephemeral port is let go, as Linux does). */
  #bindRequest: { address: string; port: number } | undefined;
  #receiving = false;
  #recvAbort: AbortController | undefined;
  #bindState = Bind.Unbound;
  #connectState = Conn.Disconnected;
  #queue: Array<() => void> | undefined;
  readonly #reuseAddr: boolean;
  readonly #ipv6Only: boolean;
  readonly #recvBufferSize: number | undefined;
  readonly #sendBufferSize: number | undefined;
  /** Options set so far, replayed onto the fresh socket disconnect() makes. */
  readonly #applied = new Map<string, [number, number, OptionValue]>();

  /** @internal use stack.dgram.createSocket() */
  constructor(stack: SocketProvider, type: DgramType | DgramSocketOptions, listener?: MessageListener) {
    super();
    let options: DgramSocketOptions | undefined;
    let lookup: unknown;
    if (type !== null && typeof type === 'object') {
      options = type;
      type = options.type;
      lookup = options.lookup;
      if (options.recvBufferSize) validateUint32(options.recvBufferSize, 'options.recvBufferSize');
      if (options.sendBufferSize) validateUint32(options.sendBufferSize, 'options.sendBufferSize');
    }
    if (lookup !== undefined) validateFunction(lookup, 'lookup');
    if (type !== 'udp4' && type !== 'udp6') {
      throw nodeError('ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6', TypeError);
    }
    this.#stack = stack;
    this.#lookupFn = (lookup as LookupFunction | undefined) ?? createDns(stack).lookup as unknown as LookupFunction;
    this.type = type;
    if (typeof listener === 'function') this.on('message', listener);
    this.#reuseAddr = !!options?.reuseAddr;
    this.#ipv6Only = !!options?.ipv6Only;
    this.#recvBufferSize = options?.recvBufferSize;
    this.#sendBufferSize = options?.sendBufferSize;
    this.#sock = this.#open();
    if (options?.signal !== undefined) {
      const { signal } = options;
      validateAbortSignal(signal, 'options.signal');
      const onAborted = (): void => {
        if (this.#sock) this.close();
      };
      if (signal.aborted) {
        onAborted();
      } else {
        signal.addEventListener('abort', onAborted, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAborted));
      }
    }
  }

  #open(): Socket {
    const s = this.#stack.socket(this.type === 'udp6' ? AF_INET6 : AF_INET, SOCK_DGRAM);
    s.unref(); // this object decides the process's lifetime, as Node's handle does
    return s;
  }

  /** Node's healthCheck: the socket must not be closed. */
  #handle(): Socket {
    if (!this.#sock) throw nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    return this.#sock;
  }

  /** The descriptor for an option call; EBADF before bind, as libuv's. */
  #fd(syscall: string): Socket {
    const sock = this.#sock;
    if (!sock) throw nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    if (!this.#hasFd) throw errnoException(uvErrno(EBADF), syscall);
    return sock;
  }

  /** libuv's deferred bind: some calls give an unbound handle a descriptor on 0.0.0.0 (or ::), port 0. */
  #implicitBind(): void {
    if (this.#hasFd || !this.#sock) return;
    this.#sock.bind(this.type === 'udp6' ? '::' : '0.0.0.0', 0);
    this.#hasFd = true;
  }

  /** Looks address up as Node's udp4/udp6 handles do (default 127.0.0.1 / ::1). */
  #lookup(address: string | undefined, cb: (err: Error | null, ip: string) => void): void {
    const family = this.type === 'udp6' ? 6 : 4;
    const name = address || (family === 4 ? '127.0.0.1' : '::1');
    (this.#lookupFn as unknown as (n: string, f: number, c: (e: Error | null, ip: string) => void) => void)(name, family, cb);
  }

  // --- bind -------------------------------------------------------------------------

  /**
   * Binds, as dgram.Socket#bind: ([port][, address][, callback]) or (options[, callback]).
   * 'listening' follows; failures (EADDRINUSE...) are emitted as 'error'.
   */
  bind(port?: number, address?: string, callback?: () => void): this;
  bind(port?: number, callback?: () => void): this;
  bind(callback?: () => void): this;
  bind(options: DgramBindOptions, callback?: () => void): this;
  bind(...args: unknown[]): this {
    let port = args[0];
    this.#handle();
    if (this.#bindState !== Bind.Unbound) throw nodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    this.#bindState = Bind.Binding;
    const cb = args.length > 0 ? args[args.length - 1] : undefined;
    if (typeof cb === 'function') {
      const removeListeners = (): void => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      const onListening = (): void => {
        removeListeners();
        (cb as () => void).call(this);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    let address: unknown;
    if (port !== null && typeof port === 'object') {
      const o = port as DgramBindOptions & { fd?: unknown };
      if (o.fd !== undefined) throw new TypeError('lwip-wasm: a stack socket cannot bind a file descriptor (options.fd)');
      address = o.address || '';
      port = o.port;
    } else {
      address = typeof args[1] === 'function' ? '' : args[1];
    }
    if (!address) address = this.type === 'udp4' ? '0.0.0.0' : '::';
    this.#lookup(address as string, (err, ip) => {
      const sock = this.#sock;
      if (!sock) return; // closed meanwhile
      if (err) {
        this.#bindState = Bind.Unbound;
        this.emit('error', err);
        return;
      }
      try {
        this.#prepare(sock);
        if (this.#hasFd) throw new SocketError(EINVAL, 'bind'); // bound implicitly already, as libuv's fd is
        sock.bind(ip, Number(port) || 0);
        this.#bindRequest = { address: ip, port: Number(port) || 0 };
      } catch (e) {
        if (isDisposal(e)) {
          this.#closeQuietly();
          return;
        }
        this.#bindState = Bind.Unbound;
        this.emit('error', e instanceof SocketError ? exceptionWithHostPort(uvErrno(e.errno), 'bind', ip, port as number) : e);
        return;
      }
      this.#hasFd = true;
      this.#startListening();
    });
    return this;
  }

  /** Options the bind itself takes: SO_REUSEADDR, IPV6_V6ONLY. */
  #prepare(sock: Socket): void {
    if (this.#reuseAddr) sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    if (this.#ipv6Only && this.type === 'udp6') sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
  }

  #startListening(): void {
    this.#receiving = true;
    this.#bindState = Bind.Bound;
    this.#life.active(true);
    this.#receive(this.#sock!);
    if (this.#recvBufferSize) this.#bufferSize(this.#recvBufferSize, true);
    if (this.#sendBufferSize) this.#bufferSize(this.#sendBufferSize, false);
    this.emit('listening');
  }

  /**
   * Waits for a datagram, then emits it from the event loop, one datagram a turn (what a
   * listener awaits runs between two of them, as after each of libuv's callbacks).
   */
  #receive(sock: Socket): void {
    if (!this.#receiving || this.#sock !== sock) return;
    const ac = new AbortController();
    this.#recvAbort = ac;
    const current = (): boolean => !ac.signal.aborted && this.#sock === sock;
    whenSettled(sock.recvfrom(MAX_DATAGRAM, { signal: ac.signal }), (d) => {
      if (!current()) return;
      try {
        this.#onMessage(d);
      } finally {
        this.#receive(sock);
      }
    }, (err) => {
      if (!current()) return;
      if (err instanceof StackError || (err instanceof SocketError && err.errno === EBADF)) {
        this.#closeQuietly();
        if (!isDisposal(err)) this.emit('error', err);
        return;
      }
      this.#receive(sock);
      // ECONNREFUSED on a connected socket (ICMP port unreachable); it stays open
      this.emit('error', err instanceof SocketError ? errnoException(uvErrno(err.errno), 'recvmsg') : err);
    });
  }

  #onMessage(d: Datagram): void {
    const rinfo: RemoteInfo = { address: d.address, family: d.family, port: d.port, size: d.data.byteLength };
    this.emit('message', Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength), rinfo);
  }

  #stopReceiving(): void {
    if (!this.#receiving) return;
    this.#receiving = false;
    this.#life.active(false);
    this.#recvAbort?.abort();
  }

  /** Runs fn once bound (Node's send queue); a failed bind drops the queue. */
  #enqueue(fn: () => void): void {
    if (this.#queue === undefined) {
      this.#queue = [];
      const onError = (): void => {
        this.removeListener('listening', onListening);
        this.#queue = undefined;
      };
      const onListening = (): void => {
        this.removeListener(EventEmitter.errorMonitor, onError);
        const queue = this.#queue ?? [];
        this.#queue = undefined;
        for (const entry of queue) entry();
      };
      this.once(EventEmitter.errorMonitor, onError);
      this.once('listening', onListening);
    }
    this.#queue.push(fn);
  }

  // --- connect ----------------------------------------------------------------------

  /** Sets the default peer: sends may leave out the address, and only its datagrams arrive. */
  connect(port: number, address?: string, callback?: (err?: Error) => void): void;
  connect(port: number, callback?: (err?: Error) => void): void;
  connect(port: unknown, address?: unknown, callback?: unknown): void {
    const p = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      callback = address;
      address = '';
    } else if (address === undefined) {
      address = '';
    }
    validateString(address, 'address');
    if (this.#connectState !== Conn.Disconnected) throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    this.#connectState = Conn.Connecting;
    if (this.#bindState === Bind.Unbound) this.bind({ port: 0, exclusive: true });
    const run = (): void => this.#connect(p, address as string, callback as ((err?: Error) => void) | undefined);
    if (this.#bindState !== Bind.Bound) this.#enqueue(run);
    else run();
  }

  #connect(port: number, address: string, callback: ((err?: Error) => void) | undefined): void {
    if (callback) this.once('connect', callback);
    this.#lookup(address, (ex, ip) => {
      const sock = this.#sock;
      if (!sock) return;
      let err: Error | null = ex;
      if (!err) {
        try {
          sock.connectSync(ip, port);
        } catch (e) {
          err = e instanceof SocketError ? exceptionWithHostPort(uvErrno(e.errno), 'connect', address, port) : e as Error;
        }
      }
      if (err) {
        this.#connectState = Conn.Disconnected;
        const e = err;
        process.nextTick(() => {
          if (callback) {
            this.removeListener('connect', callback);
            callback(e);
          } else {
            this.emit('error', e);
          }
        });
        return;
      }
      this.#connectState = Conn.Connected;
      process.nextTick(() => this.emit('connect'));
    });
  }

  /**
   * Forgets the default peer. The stack has no AF_UNSPEC connect, so the socket is
   * replaced by a fresh one bound as bind() asked: the same port if one was named, a new
   * ephemeral one otherwise (Linux lets an ephemeral port go on disconnect too). Datagrams
   * that arrived but were not yet delivered are dropped.
   */
  disconnect(): void {
    if (this.#connectState !== Conn.Connected) throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    const old = this.#handle();
    const local = this.#bindRequest ?? { address: this.type === 'udp6' ? '::' : '0.0.0.0', port: 0 };
    const fresh = this.#open();
    try {
      this.#prepare(fresh);
      for (const [level, name, value] of this.#applied.values()) fresh.setsockopt(level, name, value);
    } catch (err) {
      fresh.close();
      throw err instanceof SocketError ? errnoException(uvErrno(err.errno), 'connect') : err;
    }
    const receiving = this.#receiving;
    this.#stopReceiving();
    old.close();
    this.#sock = fresh;
    // an ephemeral port on the wildcard address is let go: the next send binds anew
    if (local.port !== 0 || (local.address !== '0.0.0.0' && local.address !== '::')) fresh.bind(local.address, local.port);
    this.#connectState = Conn.Disconnected;
    if (receiving) {
      this.#receiving = true;
      this.#life.active(true);
      this.#receive(fresh);
    }
  }

  // --- send -------------------------------------------------------------------------

  /**
   * Sends one datagram, as dgram.Socket#send: (msg[, offset, length], port[, address][, cb])
   * or, when connected, (msg[, offset, length][, cb]). The callback runs a tick later;
   * without one, a failed send is dropped (as Node drops it).
   */
  send(msg: Message, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: Message, port?: number, callback?: SendCallback): void;
  send(msg: Message, callback?: SendCallback): void;
  send(msg: Message, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: Message, offset: number, length: number, callback?: SendCallback): void;
  send(...args: unknown[]): void {
    let [buffer, offset, length, port, address, callback] = args;
    let list: Buffer[] | null;
    const connected = this.#connectState === Conn.Connected;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset, length);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    if (!Array.isArray(buffer)) {
      if (typeof buffer === 'string') list = [Buffer.from(buffer)];
      else if (!ArrayBuffer.isView(buffer)) throw errInvalidArgType('buffer', BUFFER_TYPES, buffer);
      else list = [Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength)];
    } else if (!(list = fixBufferList(buffer))) {
      throw errInvalidArgType('buffer list arguments', BUFFER_TYPES, buffer);
    }
    if (!connected) port = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address != null) {
      validateString(address, 'address');
    }
    this.#handle();
    if (this.#bindState === Bind.Unbound) this.bind({ port: 0, exclusive: true });
    if (list.length === 0) list.push(Buffer.alloc(0));
    const data = list;
    const cb = callback as SendCallback | undefined;
    if (this.#bindState !== Bind.Bound) {
      this.#enqueue(() => this.send(data, port as number, address as string, cb));
      return;
    }
    const afterDns = (ex: Error | null, ip: string | null): void =>
      this.#doSend(ex, ip, data, address as string | undefined, port as number | undefined, cb);
    if (!connected) this.#lookup(address as string | undefined, afterDns);
    else afterDns(null, null);
  }

  #doSend(ex: Error | null, ip: string | null, list: Buffer[], address: string | undefined, port: number | undefined,
    callback: SendCallback | undefined): void {
    if (ex) {
      if (callback) process.nextTick(callback, ex);
      else process.nextTick(() => this.emit('error', ex));
      return;
    }
    const sock = this.#sock;
    if (!sock) return;
    const data = list.length === 1 ? list[0]! : Buffer.concat(list);
    const fail = (err: unknown): void => {
      if (isDisposal(err) || !callback) return; // as Node: no callback, no error
      const e = err instanceof SocketError ? exceptionWithHostPort(uvErrno(err.errno), 'send', address, port ?? undefined) : err;
      process.nextTick(callback, e as Error);
    };
    let n: number;
    try {
      n = ip === null ? sock.sendSync(data) : sock.sendtoSync(data, ip, port!);
    } catch (err) {
      if (!(err instanceof SocketError && err.errno === EAGAIN)) {
        fail(err);
        return;
      }
      // no room now: the send waits, and keeps the process alive while it does
      whenSettled(this.#life.track(ip === null ? sock.send(data) : sock.sendto(data, ip, port!)), (sent) => {
        if (callback) callback(null, sent);
      }, fail);
      return;
    }
    if (callback) process.nextTick(callback, null, n);
  }

  // --- close and names ----------------------------------------------------------------

  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    if (this.#queue !== undefined) {
      this.#queue.push(() => this.close());
      return this;
    }
    this.#handle();
    this.#closeQuietly();
    return this;
  }

  #closeQuietly(): void {
    const sock = this.#sock;
    if (!sock) return;
    this.#stopReceiving();
    this.#sock = null;
    this.#life.close();
    try {
      if (!sock.closed) sock.close();
    } catch {
      // the stack was disposed
    }
    process.nextTick(() => this.emit('close'));
  }

  /** Closes the socket; resolves once it has closed (at once if it was closed). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#sock) return;
    await promisify((cb: () => void) => this.close(cb))();
  }

  /** The bound { address, family, port }; EBADF before bind, as Node. */
  address(): DgramAddress {
    const sock = this.#handle();
    if (!this.#hasFd) throw errnoException(uvErrno(EBADF), 'getsockname');
    const n = sock.getsockname();
    return { address: n.address, family: n.family, port: n.port };
  }

  remoteAddress(): DgramAddress {
    const sock = this.#handle();
    if (this.#connectState !== Conn.Connected) throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    try {
      const n = sock.getpeername();
      return { address: n.address, family: n.family, port: n.port };
    } catch (err) {
      throw err instanceof SocketError ? errnoException(uvErrno(err.errno), 'getpeername') : err;
    }
  }

  // --- options ----------------------------------------------------------------------

  get #v6(): boolean {
    return this.type === 'udp6';
  }

  /** Sets an option as libuv does: its range check first, then EBADF before bind. */
  #option(call: string, level: number, name: number, value: OptionValue, key = `${level}:${name}`): void {
    const sock = this.#fd(call);
    try {
      sock.setsockopt(level, name, value);
    } catch (err) {
      throw err instanceof SocketError ? errnoException(uvErrno(err.errno), call) as NodeSystemError : err;
    }
    this.#applied.set(key, [level, name, value]);
  }

  /** SO_BROADCAST: needed to send to a broadcast address (EACCES without it, as Linux). */
  setBroadcast(flag: boolean): void {
    this.#option('setBroadcast', SOL_SOCKET, SO_BROADCAST, flag ? 1 : 0);
  }

  /** IP_TTL (IPv6: unicast hops), 1-255. */
  setTTL(ttl: number): number {
    validateNumber(ttl, 'ttl');
    if (ttl < 1 || ttl > 255) throw errnoException(uvErrno(EINVAL), 'setTTL');
    this.#option('setTTL', this.#v6 ? IPPROTO_IPV6 : IPPROTO_IP, this.#v6 ? IPV6_UNICAST_HOPS : IP_TTL, Math.trunc(ttl));
    return ttl;
  }

  /** IP_MULTICAST_TTL (IPv6: multicast hops), 0-255. */
  setMulticastTTL(ttl: number): number {
    validateNumber(ttl, 'ttl');
    if (ttl < 0 || ttl > 255) throw errnoException(uvErrno(EINVAL), 'setMulticastTTL');
    this.#option('setMulticastTTL', this.#v6 ? IPPROTO_IPV6 : IPPROTO_IP, this.#v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL, Math.trunc(ttl));
    return ttl;
  }

  /** IP_MULTICAST_LOOP: whether our own multicast datagrams come back to us. */
  setMulticastLoopback(flag: boolean): boolean {
    this.#option('setMulticastLoopback', this.#v6 ? IPPROTO_IPV6 : IPPROTO_IP,
      this.#v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP, flag ? 1 : 0);
    return flag;
  }

  /** The outgoing interface for multicast: an IPv4 address, or '::%index' for IPv6. */
  setMulticastInterface(interfaceAddress: string): void {
    this.#handle();
    validateString(interfaceAddress, 'interfaceAddress');
    if (this.#v6) {
      const pct = interfaceAddress.indexOf('%');
      if (!parseIPv6(pct >= 0 ? interfaceAddress.slice(0, pct) : interfaceAddress)) {
        throw errnoException(uvErrno(EINVAL), 'setMulticastInterface');
      }
      const zone = /%(\d+)$/.exec(interfaceAddress);
      this.#option('setMulticastInterface', IPPROTO_IPV6, IPV6_MULTICAST_IF, zone ? Number(zone[1]) : 0);
    } else {
      if (!parseIPv4(interfaceAddress)) throw errnoException(uvErrno(EINVAL), 'setMulticastInterface');
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

  /** Not provided: lwIP speaks IGMPv2 and MLDv1, which have no source-specific joins (ENOPROTOOPT). */
  addSourceSpecificMembership(sourceAddress: string, groupAddress: string, _interfaceAddress?: string): void {
    this.#sourceSpecific('addSourceSpecificMembership', sourceAddress, groupAddress);
  }

  /** Not provided (see addSourceSpecificMembership). */
  dropSourceSpecificMembership(sourceAddress: string, groupAddress: string, _interfaceAddress?: string): void {
    this.#sourceSpecific('dropSourceSpecificMembership', sourceAddress, groupAddress);
  }

  #sourceSpecific(call: string, source: unknown, group: unknown): never {
    this.#handle();
    validateString(source, 'sourceAddress');
    validateString(group, 'groupAddress');
    throw errnoException(uvErrno(ENOPROTOOPT), call);
  }

  #membership(call: string, join: boolean, group: string, iface: string | undefined): void {
    this.#handle();
    if (!group) throw errMissingArgs('multicastAddress');
    try {
      this.#implicitBind();
    } catch (err) {
      throw err instanceof SocketError ? errnoException(uvErrno(err.errno), call) : err;
    }
    const einval = (): Error => errnoException(uvErrno(EINVAL), call);
    if (typeof group !== 'string') throw einval();
    if (this.#v6) {
      const pct = group.indexOf('%');
      const g = parseIPv6(pct >= 0 ? group.slice(0, pct) : group);
      if (!g) throw einval();
      const zone = iface !== undefined ? /%(\d+)$/.exec(iface) : null;
      const m = { multiaddr: pct >= 0 ? group.slice(0, pct) : group, interface: zone ? Number(zone[1]) : 0 };
      this.#option(call, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, m, `group ${m.multiaddr} ${m.interface}`);
      if (!join) this.#applied.delete(`group ${m.multiaddr} ${m.interface}`);
    } else {
      if (!parseIPv4(group)) throw einval();
      if (iface !== undefined && !parseIPv4(iface)) throw einval();
      const m = { multiaddr: group, interface: iface ?? '0.0.0.0' };
      this.#option(call, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, m, `group ${m.multiaddr} ${m.interface}`);
      if (!join) this.#applied.delete(`group ${m.multiaddr} ${m.interface}`);
    }
  }

  /** Node's bufferSize(): 0 reads the size (Linux reports it doubled), anything else sets it. */
  #bufferSize(size: number, recv: boolean): number {
    if (size >>> 0 !== size) throw nodeError('ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer', TypeError);
    const sock = this.#sock;
    if (!sock || !this.#hasFd) throw bufferSizeError(recv);
    const name = recv ? SO_RCVBUF : SO_SNDBUF;
    if (size === 0) return sock.getsockopt(SOL_SOCKET, name) as number;
    sock.setsockopt(SOL_SOCKET, name, size);
    this.#applied.set(recv ? 'rcvbuf' : 'sndbuf', [SOL_SOCKET, name, size]);
    return size;
  }

  /** SO_RCVBUF: bytes of datagrams queued before more are dropped. */
  setRecvBufferSize(size: number): void {
    this.#bufferSize(size, true);
  }

  /** SO_SNDBUF. */
  setSendBufferSize(size: number): void {
    this.#bufferSize(size, false);
  }

  /** SO_RCVBUF as getsockopt reports it (Linux doubles what was set). */
  getRecvBufferSize(): number {
    return this.#bufferSize(0, true);
  }

  /** SO_SNDBUF as getsockopt reports it (Linux doubles what was set). */
  getSendBufferSize(): number {
    return this.#bufferSize(0, false);
  }

  /** Datagrams go to the stack at once, so nothing waits in a send queue. */
  getSendQueueSize(): number {
    return 0;
  }

  getSendQueueCount(): number {
    return 0;
  }

  /** Keeps the process alive while bound (the default). */
  ref(): this {
    if (this.#sock) this.#life.ref(true);
    return this;
  }

  /** Lets the process exit while this socket is bound. */
  unref(): this {
    if (this.#sock) this.#life.ref(false);
    return this;
  }

  /** The stack's socket underneath (for poll or options the adapter lacks); null once closed. */
  get lwipSocket(): Socket | null {
    return this.#sock;
  }
}

/** dgram.Socket for one stack: callable with or without `new`. */
export interface DgramSocketConstructor {
  new (type: DgramType | DgramSocketOptions, listener?: MessageListener): DgramSocket;
  readonly prototype: DgramSocket;
}

/** node:dgram over one stack. */
export interface LwipDgram {
  readonly stack: SocketProvider;
  readonly Socket: DgramSocketConstructor;
  createSocket(type: DgramType | DgramSocketOptions, listener?: MessageListener): DgramSocket;
}

const modules = new WeakMap<SocketProvider, LwipDgram>();

/** The node:dgram module for a stack (one per stack; stack.dgram returns the same one). */
export function createDgram(stack: SocketProvider): LwipDgram {
  const known = modules.get(stack);
  if (known) return known;
  class StackDgramSocket extends DgramSocket {
    constructor(type: DgramType | DgramSocketOptions, listener?: MessageListener) {
      super(stack, type, listener);
    }
  }
  Object.defineProperty(StackDgramSocket, 'name', { value: 'Socket' });
  const dgram: LwipDgram = {
    stack,
    Socket: StackDgramSocket,
    createSocket: (type, listener) => new StackDgramSocket(type, listener),
  };
  modules.set(stack, dgram);
  return dgram;
}
