// A socket of the stack. Every call is non-blocking: the *Sync forms fail at once with
// EAGAIN (EINPROGRESS for connect) when they would block, and the async forms wait on
// the socket's readiness and retry. There is one engine, in C; this is a thin shell.
import type { Core } from './core.js';
import type { Abi } from './gen/abi.js';
import { toRaw, fromRaw, type SocketAddress } from './address.js';
import { SocketError } from './errors.js';
import { checkWaitOptions, deadlineOf, type WaitOptions } from './wait.js';
import { writeOption, readOption, OPTION_MAX, type OptionValue, type Linger } from './options.js';
import {
  AF_INET, SOCK_STREAM, SOCK_DGRAM, POLLIN, POLLOUT, POLLERR, POLLNVAL,
  SHUT_RD, SHUT_WR, SHUT_RDWR, EAGAIN, EINPROGRESS, EBADF, EALREADY, EAFNOSUPPORT,
  SOL_SOCKET, SO_RCVTIMEO, SO_SNDTIMEO, SO_PEEK_OFF, MSG_DONTWAIT, MSG_WAITALL, MSG_PEEK, MSG_TRUNC, EPROTO,
} from './gen/constants.js';

/** Bytes a socket accepts: binary views, or a string sent as UTF-8. */
export type Data = Uint8Array | ArrayBufferView | ArrayBuffer | string;

/** A received datagram and who sent it. */
export interface Datagram extends SocketAddress {
  data: Uint8Array;
  /**
   * What recvfrom(2) returns: the bytes copied, or with MSG_TRUNC the datagram's full
   * length. For TCP, data's length.
   */
  size: number;
  /** recvmsg(2)'s msg_flags: MSG_TRUNC when the datagram was longer than maxBytes. */
  flags: number;
}

/** Options of the async receive forms. */
export interface RecvOptions extends WaitOptions {
  /**
   * MSG_* flags: MSG_PEEK, MSG_TRUNC (UDP), MSG_DONTWAIT (fail with EAGAIN instead of
   * waiting) and MSG_WAITALL (TCP: wait for maxBytes, end of stream, or an error).
   */
  flags?: number;
}

export interface ConnectOptions extends WaitOptions {
  /**
   * Milliseconds to keep trying before the connect fails with ETIMEDOUT and the attempt
   * is dropped. Defaults to the stack's connectTimeout.
   */
  timeout?: number;
}

const DEFAULT_RECV = 65536;

function joinChunks(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
const encoder = new TextEncoder();

function toBytes(data: Data): Uint8Array {
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('lwip-wasm: data must be a string, Uint8Array, ArrayBuffer or ArrayBufferView');
}

function checkSize(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(`lwip-wasm: ${what} must be an integer from 0 to 2147483647, got ${String(n)}`);
  }
  return n;
}

function checkBuffer(buf: unknown): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError('lwip-wasm: buf must be a Uint8Array');
}

function checkFlags(flags: unknown): number {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0) {
    throw new TypeError(`lwip-wasm: flags must be a non-negative integer (MSG_* bits), got ${String(flags)}`);
  }
  return flags;
}

export class Socket {
  /** The descriptor number, unique among this stack's open sockets. */
  readonly fd: number;
  /** AF_INET or AF_INET6. */
  readonly domain: number;
  /** SOCK_STREAM or SOCK_DGRAM. */
  readonly type: number;
  readonly #core: Core;
  readonly #onClose: (s: Socket) => void;
  #closed = false;

  /** @internal Sockets come from stack.socket() and accept(). */
  constructor(core: Core, fd: number, domain: number, type: number, onClose: (s: Socket) => void) {
    this.#core = core;
    this.fd = fd;
    this.domain = domain;
    this.type = type;
    this.#onClose = onClose;
  }

  /**
   * @internal Set when TLS runs over this socket (src/tls/tls-socket.ts): an EPROTO from
   * a send or recv is its failure, which it names.
   */
  _tls: { _error(syscall: string): Error | undefined } | undefined;

  /** The error a call's -errno stands for: TLS's own once TLS failed, else a SocketError. */
  #error(errno: number, syscall: string): Error {
    if (errno === EPROTO && this._tls) return this._tls._error(syscall) ?? new SocketError(errno, syscall);
    return new SocketError(errno, syscall);
  }

  /** True once close() was called (or the stack was disposed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Current poll bits (POLLIN, POLLOUT, ...), or POLLNVAL once closed. */
  get events(): number {
    if (this.#closed || !this.#core.alive) return POLLNVAL;
    const ev = this.#core.abi.sock_events(this.fd);
    return ev < 0 ? POLLNVAL : ev;
  }

  /** Bytes (TCP) or the size of the next datagram (UDP) that recv() would return now. */
  get pending(): number {
    return this.#call('ioctl', (abi) => abi.sock_pending(this.fd));
  }

  #live(syscall: string): void {
    this.#core.assertAlive();
    if (this.#closed) throw new SocketError(EBADF, syscall);
  }

  /** Runs one wasm socket call and turns a negative errno into a SocketError. */
  #call(syscall: string, fn: (abi: Abi) => number, address?: string, port?: number): number {
    this.#live(syscall);
    return this.#core.check(fn(this.#core.abi), syscall, address, port);
  }

  #addr(syscall: string, address: string, port: number): void {
    const raw = toRaw(address, port);
    if (raw.family !== this.domain) throw new SocketError(EAFNOSUPPORT, syscall, address, port);
    this.#core.heap.writeAddress(this.#core.addrIn, raw);
  }

  // --- setup ------------------------------------------------------------------------

  /** Binds to a local address ('0.0.0.0' or '::' for all) and port (0 picks a free one). */
  bind(address: string, port: number): void {
    this.#live('bind');
    this.#addr('bind', address, port);
    this.#call('bind', (abi) => abi.sock_bind(this.fd, this.#core.addrIn), address, port);
  }

  /** Starts accepting connections; backlog bounds the queue of unaccepted ones (1-255). */
  listen(backlog = 128): void {
    if (typeof backlog !== 'number' || !Number.isInteger(backlog)) {
      throw new TypeError(`lwip-wasm: backlog must be an integer, got ${String(backlog)}`);
    }
    this.#call('listen', (abi) => abi.sock_listen(this.fd, backlog));
  }

  // --- accept -----------------------------------------------------------------------

  /** Takes one queued connection, or throws EAGAIN when none is waiting. */
  acceptSync(): Socket {
    const newFd = this.#call('accept', (abi) => abi.sock_accept(this.fd, this.#core.addrOut));
    return this.#adopt(newFd);
  }

  /** sock_accept's result, without throwing: the async forms wait on EAGAIN, and an
   * exception per wait costs more than the wait itself. The same holds for #send and
   * #recv below. */
  #accept(): number {
    this.#live('accept');
    return this.#core.abi.sock_accept(this.fd, this.#core.addrOut);
  }

  /** Waits for a connection. A timeout rejects with EAGAIN, as SO_RCVTIMEO does. */
  async accept(opts?: WaitOptions): Promise<Socket> {
    return (await this.acceptFrom(opts)).socket;
  }

  /**
   * accept(2) with the address it fills in: the connection and its peer. The peer is
   * known even for a connection reset while it waited in the queue (whose getpeername()
   * says ENOTCONN, as on Linux).
   */
  async acceptFrom(opts?: WaitOptions): Promise<{ socket: Socket; peer: SocketAddress }> {
    checkWaitOptions(opts);
    let deadline: number | undefined; // SO_RCVTIMEO is read only if we have to wait
    for (;;) {
      const fd = this.#accept();
      if (fd >= 0) {
        const peer = fromRaw(this.#core.heap.readAddress(this.#core.addrOut));
        return { socket: this.#adopt(fd), peer };
      }
      if (fd !== -EAGAIN) throw new SocketError(-fd, 'accept');
      deadline ??= this.#deadline(opts, SO_RCVTIMEO);
      await this.#wait(POLLIN, deadline, opts?.signal, 'accept');
    }
  }

  /** @internal set by Stack to wrap accepted descriptors */
  _adopt: ((fd: number) => Socket) | undefined;

  #adopt(fd: number): Socket {
    return this._adopt!(fd);
  }

  // --- connect ----------------------------------------------------------------------

  /**
   * Starts connecting. TCP: throws EINPROGRESS (the normal case: wait for POLLOUT, then
   * read takeError()); UDP: sets the default peer and returns.
   */
  connectSync(address: string, port: number, timeoutMs = 0): void {
    this.#live('connect');
    this.#addr('connect', address, port);
    this.#call('connect', (abi) => abi.sock_connect(this.fd, this.#core.addrIn, timeoutMs >>> 0), address, port);
  }

  /**
   * Connects and resolves once established. Rejects with ECONNREFUSED, ETIMEDOUT (after
   * opts.timeout or the stack's connectTimeout), ENETUNREACH and so on.
   */
  async connect(address: string, port: number, opts?: ConnectOptions): Promise<void> {
    checkWaitOptions(opts);
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const timeout = opts?.timeout === undefined ? 0 : Math.max(1, Math.ceil(opts.timeout));
    this.#live('connect');
    this.#addr('connect', address, port);
    const ret = this.#core.abi.sock_connect(this.fd, this.#core.addrIn, timeout >>> 0);
    if (ret >= 0) return; // UDP, or an immediate success
    if (ret !== -EINPROGRESS && ret !== -EALREADY) throw new SocketError(-ret, 'connect', address, port);
    // C enforces the timeout (ETIMEDOUT arrives as the socket's error), so wait unbounded.
    const onAbort = (): void => {
      if (!this.#closed && this.#core.alive) {
        this.#core.abi.sock_shutdown(this.fd, SHUT_RDWR);
      }
    };
    opts?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#wait(POLLOUT, Infinity, opts?.signal, 'connect');
    } finally {
      opts?.signal?.removeEventListener('abort', onAbort);
    }
    const err = this.#call('connect', (abi) => abi.sock_take_error(this.fd));
    if (err !== 0) throw new SocketError(err, 'connect', address, port);
  }

  /** Returns and clears the pending error (getsockopt SO_ERROR), or null if none. */
  takeError(): SocketError | null {
    const err = this.#call('getsockopt', (abi) => abi.sock_take_error(this.fd));
    return err === 0 ? null : new SocketError(err, 'getsockopt');
  }

  // --- send -------------------------------------------------------------------------

  /** Queues as much of data as fits now; returns the bytes taken, or throws EAGAIN. */
  sendSync(data: Data, flags = 0): number {
    const bytes = toBytes(data);
    checkFlags(flags);
    const n = this.#send(bytes, flags);
    if (n < 0) throw this.#error(-n, 'send');
    return n;
  }

  /** sock_send's result (bytes taken, or -errno). Copies into wasm only what TCP can
   * take now, so a 64 MiB send does not copy 64 MiB to queue 256 KiB. */
  #send(bytes: Uint8Array, flags: number): number {
    this.#live('send');
    const core = this.#core;
    const abi = core.abi;
    let len = bytes.byteLength;
    // With no room, one byte still goes in, so sock_send reports EAGAIN, EPIPE or the error.
    if (this.type === SOCK_STREAM && len > 1) len = Math.min(len, Math.max(1, abi.stack_send_room(this.fd)));
    const ptr = abi.stack_scratch(Math.max(len, 1));
    if (ptr === 0) throw new RangeError('lwip-wasm: out of wasm memory');
    core.heap.u8().set(len === bytes.byteLength ? bytes : bytes.subarray(0, len), ptr);
    return abi.sock_send(this.fd, ptr, len, flags);
  }

  /** Sends all of data, waiting for room as needed. Resolves with the byte count. */
  async send(data: Data, opts?: WaitOptions): Promise<number> {
    checkWaitOptions(opts);
    const bytes = toBytes(data);
    let deadline: number | undefined; // SO_SNDTIMEO is read only if we have to wait
    let off = 0;
    do {
      const n = this.#send(off === 0 ? bytes : bytes.subarray(off), 0);
      if (n >= 0) {
        off += n;
        if (this.type === SOCK_DGRAM) return off;
        continue;
      }
      if (n !== -EAGAIN) throw this.#error(-n, 'send');
      deadline ??= this.#deadline(opts, SO_SNDTIMEO);
      await this.#wait(POLLOUT, deadline, opts?.signal, 'send');
    } while (off < bytes.byteLength);
    return off;
  }

  /** UDP: sends one datagram to address:port. Returns its size. */
  sendtoSync(data: Data, address: string, port: number, flags = 0): number {
    const bytes = toBytes(data);
    checkFlags(flags);
    this.#live('sendto');
    this.#addr('sendto', address, port);
    return this.#withScratch(bytes, (ptr, len) =>
      this.#call('sendto', (abi) => abi.sock_sendto(this.fd, ptr, len, flags, this.#core.addrIn), address, port));
  }

  async sendto(data: Data, address: string, port: number, opts?: WaitOptions): Promise<number> {
    checkWaitOptions(opts);
    const deadline = this.#deadline(opts, SO_SNDTIMEO);
    for (;;) {
      try {
        return this.sendtoSync(data, address, port);
      } catch (err) {
        if (!(err instanceof SocketError) || err.errno !== EAGAIN) throw err;
      }
      await this.#wait(POLLOUT, deadline, opts?.signal, 'sendto');
    }
  }

  #withScratch(bytes: Uint8Array, fn: (ptr: number, len: number) => number): number {
    const abi = this.#core.abi;
    const ptr = abi.stack_scratch(Math.max(bytes.byteLength, 1));
    if (ptr === 0) throw new RangeError('lwip-wasm: out of wasm memory');
    this.#core.heap.u8().set(bytes, ptr);
    return fn(ptr, bytes.byteLength);
  }

  // --- receive ----------------------------------------------------------------------

  /**
   * Returns up to maxBytes of what has arrived. An empty array means end of stream (the
   * peer shut down its side), as recv(2) returning 0 does. Throws EAGAIN if nothing is
   * there yet.
   */
  recvSync(maxBytes = DEFAULT_RECV, flags = 0): Uint8Array {
    checkSize(maxBytes, 'maxBytes');
    checkFlags(flags);
    const got = this.#recv(maxBytes, flags);
    if (typeof got === 'number') throw this.#error(-got, 'recv');
    return got;
  }

  /**
   * recv(2) into the caller's buffer, with no allocation: copies up to buf.length bytes
   * into buf and returns how many. 0 means end of stream (or an empty buf). Throws EAGAIN
   * if nothing is there yet. For UDP, a datagram longer than buf is cut, and with
   * MSG_TRUNC the datagram's full length is returned, as Linux does.
   */
  recvIntoSync(buf: Uint8Array, flags = 0): number {
    checkBuffer(buf);
    checkFlags(flags);
    const n = this.#recvRaw(buf.length, flags);
    if (n < 0) throw this.#error(-n, 'recv');
    buf.set(this.#core.heap.u8().subarray(this.#rxAt, this.#rxAt + Math.min(n, buf.length)));
    return n;
  }

  /** Where the last #recvRaw left its bytes (the stack's scratch buffer). */
  #rxAt = 0;

  /** sock_recv into the scratch buffer (at #rxAt): the length it returned, or -errno. */
  #recvRaw(maxBytes: number, flags: number): number {
    this.#live('recv');
    const core = this.#core;
    const abi = core.abi;
    const ptr = abi.stack_scratch(Math.max(maxBytes, 1));
    if (ptr === 0) throw new RangeError('lwip-wasm: out of wasm memory');
    this.#rxAt = ptr;
    return abi.sock_recv(this.fd, ptr, maxBytes, flags);
  }

  /** A copy of what sock_recv returned, or -errno. */
  #recv(maxBytes: number, flags: number): Uint8Array | number {
    // UDP's MSG_TRUNC changes only the length returned, which a Uint8Array cannot carry
    // (recvfrom's size does); leave it out so the copy's length stays right.
    const n = this.#recvRaw(maxBytes, this.type === SOCK_DGRAM ? flags & ~MSG_TRUNC : flags);
    return n < 0 ? n : this.#core.heap.copy(this.#rxAt, Math.min(n, maxBytes));
  }

  /**
   * Waits for data (or end of stream). A timeout (opts.timeout, else SO_RCVTIMEO) rejects
   * with EAGAIN, as Linux does. opts.flags takes MSG_PEEK, MSG_DONTWAIT and MSG_WAITALL.
   */
  async recv(maxBytes = DEFAULT_RECV, opts?: RecvOptions): Promise<Uint8Array> {
    checkWaitOptions(opts);
    const flags = checkFlags(opts?.flags ?? 0);
    if (flags & MSG_DONTWAIT) return this.recvSync(maxBytes, flags & ~(MSG_DONTWAIT | MSG_WAITALL));
    checkSize(maxBytes, 'maxBytes');
    const parts: Uint8Array[] = [];
    // As in #recv: a Uint8Array carries no UDP MSG_TRUNC length.
    const got = await this.#recvWait(maxBytes, this.type === SOCK_DGRAM ? flags & ~MSG_TRUNC : flags, opts,
      undefined, parts);
    return joinChunks(parts, got);
  }

  /**
   * recvIntoSync's waiting form: waits for data as recv() does (timeout, signal,
   * MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL to fill buf), then returns the bytes copied into
   * buf; 0 means end of stream.
   */
  async recvInto(buf: Uint8Array, opts?: RecvOptions): Promise<number> {
    checkWaitOptions(opts);
    checkBuffer(buf);
    const flags = checkFlags(opts?.flags ?? 0);
    if (flags & MSG_DONTWAIT) return this.recvIntoSync(buf, flags & ~(MSG_DONTWAIT | MSG_WAITALL));
    return this.#recvWait(buf.length, flags, opts, buf, undefined);
  }

  /**
   * The waiting loop behind recv() and recvInto(): each chunk goes into `into` at the
   * offset reached so far, or onto `parts` as a copy. Returns the bytes received (for
   * UDP with MSG_TRUNC, the datagram's full length).
   */
  async #recvWait(maxBytes: number, flags: number, opts: RecvOptions | undefined,
    into: Uint8Array | undefined, parts: Uint8Array[] | undefined): Promise<number> {
    const sysFlags = flags & ~(MSG_DONTWAIT | MSG_WAITALL);
    let deadline: number | undefined; // SO_RCVTIMEO is read only if we have to wait
    const waitAll = (flags & MSG_WAITALL) !== 0 && !(flags & MSG_PEEK) && this.type === SOCK_STREAM;
    let got = 0;
    for (;;) {
      if (this.type === SOCK_STREAM && got === 0 && !(this.events & POLLIN) && this.pending > 0) {
        // Below SO_RCVLOWAT: Linux's blocking recv waits for more, and returns what is
        // there when its timeout runs out.
        try {
          await this.#wait(POLLIN, deadline ??= this.#deadline(opts, SO_RCVTIMEO), opts?.signal, 'recv');
        } catch (err) {
          if (!(err instanceof SocketError) || err.errno !== EAGAIN) throw err;
        }
      }
      if (got > 0 && (this.events & POLLERR) && this.pending === 0) {
        return got; // Linux returns the data; the error waits for the next call
      }
      const n = this.#recvRaw(maxBytes - got, sysFlags);
      if (n >= 0) {
        const take = Math.min(n, maxBytes - got);
        if (into) into.set(this.#core.heap.u8().subarray(this.#rxAt, this.#rxAt + take), got);
        else parts!.push(this.#core.heap.copy(this.#rxAt, take));
        if (!waitAll) return got + n;
        got += take;
        if (n === 0 || got >= maxBytes) return got;
        continue;
      }
      if (n !== -EAGAIN) {
        if (got > 0) return got; // Linux returns what it has; the error comes next call
        throw this.#error(-n, 'recv');
      }
      try {
        await this.#wait(POLLIN, deadline ??= this.#deadline(opts, SO_RCVTIMEO), opts?.signal, 'recv');
      } catch (err) {
        if (got > 0 && err instanceof SocketError && err.errno === EAGAIN) return got;
        throw err;
      }
    }
  }

  // --- options ------------------------------------------------------------------------

  /**
   * setsockopt(2). level: SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP or IPPROTO_IPV6. Most
   * values are integers (booleans accepted); SO_LINGER takes { onoff, linger },
   * IP_ADD_MEMBERSHIP { multiaddr, interface? }, IPV6_JOIN_GROUP { multiaddr, interface? },
   * SO_RCVTIMEO/SO_SNDTIMEO milliseconds. Unknown or read-only options: ENOPROTOOPT.
   */
  setsockopt(level: number, name: number, value: OptionValue): void {
    if (!Number.isInteger(level) || !Number.isInteger(name)) {
      throw new TypeError('lwip-wasm: setsockopt needs integer level and option name');
    }
    // The value goes in the addrIn slot (an lw_addr: room for OPTION_MAX bytes). Bad
    // input throws here, before anything reaches the socket.
    const core = this.#core;
    const len = writeOption(core.heap, core.addrIn, level, name, value);
    this.#live('setsockopt');
    this.#call('setsockopt', (abi) => abi.sock_setsockopt(this.fd, level, name, core.addrIn, len));
    if (level === SOL_SOCKET && (name === SO_RCVTIMEO || name === SO_SNDTIMEO)) {
      this.#rcvtimeo = this.#sndtimeo = undefined;
    }
  }

  /** getsockopt(2): a number for most options, { onoff, linger } for SO_LINGER. */
  getsockopt(level: number, name: number): number | Linger | string {
    if (!Number.isInteger(level) || !Number.isInteger(name)) {
      throw new TypeError('lwip-wasm: getsockopt needs integer level and option name');
    }
    const core = this.#core;
    this.#call('getsockopt', (abi) => abi.sock_getsockopt(this.fd, level, name, core.addrOut, OPTION_MAX));
    return readOption(core.heap, core.addrOut, level, name);
  }

  /** Takes one datagram (truncated to maxBytes) and its sender; throws EAGAIN if none. */
  recvfromSync(maxBytes = DEFAULT_RECV, flags = 0): Datagram {
    checkSize(maxBytes, 'maxBytes');
    checkFlags(flags);
    this.#live('recvfrom');
    const core = this.#core;
    const ptr = core.abi.stack_scratch(Math.max(maxBytes, 1));
    if (ptr === 0) throw new RangeError('lwip-wasm: out of wasm memory');
    if (this.type === SOCK_STREAM) {
      const n = this.#call('recvfrom', (abi) => abi.sock_recvfrom(this.fd, ptr, maxBytes, flags, core.addrOut));
      const data = core.heap.copy(ptr, Math.min(n, maxBytes));
      return { data, size: data.length, flags: 0, ...this.#peerOrEmpty() };
    }
    // The next datagram's full length, and where a peek starts in it, give MSG_TRUNC's
    // length and msg_flags as Linux's udp_recvmsg computes them.
    const full = this.#call('recvfrom', (abi) => abi.sock_pending(this.fd));
    const off = flags & MSG_PEEK ? Math.max(0, this.getsockopt(SOL_SOCKET, SO_PEEK_OFF) as number) : 0;
    const n = this.#call('recvfrom', (abi) => abi.sock_recvfrom(this.fd, ptr, maxBytes, flags & ~MSG_TRUNC, core.addrOut));
    const data = core.heap.copy(ptr, n);
    const truncated = full - off > maxBytes;
    return {
      data, size: flags & MSG_TRUNC ? full : n, flags: truncated ? MSG_TRUNC : 0,
      ...fromRaw(core.heap.readAddress(core.addrOut)),
    };
  }

  async recvfrom(maxBytes = DEFAULT_RECV, opts?: RecvOptions): Promise<Datagram> {
    checkWaitOptions(opts);
    const flags = checkFlags(opts?.flags ?? 0);
    const sysFlags = flags & ~(MSG_DONTWAIT | MSG_WAITALL);
    if (flags & MSG_DONTWAIT) return this.recvfromSync(maxBytes, sysFlags);
    const deadline = this.#deadline(opts, SO_RCVTIMEO);
    for (;;) {
      try {
        return this.recvfromSync(maxBytes, sysFlags);
      } catch (err) {
        if (!(err instanceof SocketError) || err.errno !== EAGAIN) throw err;
      }
      await this.#wait(POLLIN, deadline, opts?.signal, 'recvfrom');
    }
  }

  /** The deadline for a wait: opts.timeout, else SO_RCVTIMEO / SO_SNDTIMEO when set. */
  #deadline(opts: WaitOptions | undefined, option: number): number {
    if (opts?.timeout !== undefined) return deadlineOf(opts, this.#core.clock);
    // Cached: a wait per recv made this getsockopt a tenth of ping-pong's time. Only
    // setsockopt changes it (an accepted socket inherits it, hence read, not assumed).
    let ms = option === SO_RCVTIMEO ? this.#rcvtimeo : this.#sndtimeo;
    if (ms === undefined) {
      ms = this.getsockopt(SOL_SOCKET, option) as number;
      if (option === SO_RCVTIMEO) this.#rcvtimeo = ms;
      else this.#sndtimeo = ms;
    }
    return ms > 0 ? this.#core.clock.now() + ms : Infinity;
  }

  #rcvtimeo: number | undefined;
  #sndtimeo: number | undefined;

  async #wait(mask: number, deadline: number, signal: AbortSignal | undefined, syscall: string): Promise<void> {
    this.#live(syscall);
    const rev = await this.#core.wait(this.fd, mask, deadline, signal, () => new SocketError(EAGAIN, syscall));
    if (rev & POLLNVAL) throw new SocketError(EBADF, syscall);
  }

  // --- teardown and names -------------------------------------------------------------

  /** SHUT_RD, SHUT_WR or SHUT_RDWR. */
  shutdown(how: number): void {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) {
      throw new RangeError(`lwip-wasm: shutdown needs SHUT_RD, SHUT_WR or SHUT_RDWR, got ${String(how)}`);
    }
    this.#call('shutdown', (abi) => abi.sock_shutdown(this.fd, how));
  }

  /**
   * Closes the socket. TCP sends FIN (or RST if received data was never read, as Linux
   * does) and finishes the close in the background. Closing twice throws EBADF.
   */
  close(): void {
    this.#live('close');
    this.#closed = true;
    const ret = this.#core.abi.sock_close(this.fd);
    this.#onClose(this);
    this.#core.changes.invalidate(this.fd);
    this.#core.check(ret, 'close');
  }

  /**
   * Node: an open socket keeps the process alive (through the stack's timers) unless
   * unref'd, as a Node handle does. The node:net and node:dgram adapters unref theirs
   * and keep the process alive as Node's own sockets would.
   */
  ref(): this {
    if (!this.#closed && this.#core.alive) this.#core.holdFd(this.fd, true);
    return this;
  }

  unref(): this {
    if (!this.#closed && this.#core.alive) this.#core.holdFd(this.fd, false);
    return this;
  }

  /** @internal whether this socket lives in core's stack (epoll refuses others'). */
  _ownedBy(core: Core): boolean {
    return this.#core === core;
  }

  /** @internal called by Stack.dispose: the instance is going away with everything in it. */
  _forget(): void {
    this.#closed = true;
  }

  /** The local address and port (the chosen one after binding to port 0). */
  getsockname(): SocketAddress {
    this.#call('getsockname', (abi) => abi.sock_getsockname(this.fd, this.#core.addrOut));
    return fromRaw(this.#core.heap.readAddress(this.#core.addrOut));
  }

  /** The peer's address and port; throws ENOTCONN when not connected. */
  getpeername(): SocketAddress {
    this.#call('getpeername', (abi) => abi.sock_getpeername(this.fd, this.#core.addrOut));
    return fromRaw(this.#core.heap.readAddress(this.#core.addrOut));
  }

  #peerOrEmpty(): SocketAddress {
    try {
      return this.getpeername();
    } catch {
      return { address: '', port: 0, family: this.domain === AF_INET ? 'IPv4' : 'IPv6' };
    }
  }
}

