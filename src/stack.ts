// The public face of one TCP/IP stack: its own wasm instance, interfaces, sockets and
// poll. Every stack is independent; many can live in one process or one page.
import { loadModule, instantiate, type WasmSource } from './bindings/load.js';
import { CONFIG, LW_MEM_STATS, readLwMemStats } from './gen/abi.js';
import { seededRandom, freshSeed } from './random.js';
import { Core } from './core.js';
import { Socket } from './socket.js';
import { NetInterface, randomMac, type InterfaceOptions } from './interface.js';
import { waitForLease } from './dhcp.js';
import { resolveName, setServers, getServers, parseServers, type ResolveOptions, type ResolvedAddress } from './resolve.js';
import type { Link } from './transports/link.js';
import { StackError } from './errors.js';
import { ALWAYS } from './changes.js';
import { checkWaitOptions, type WaitOptions } from './wait.js';
import { realClock, checkClock, lwipTime, type Clock } from './clock.js';
import { Epoll } from './epoll.js';
import { holdShapes, releaseShapes } from './shapes.js';
import { Interceptor } from './intercept.js';
import { addRoute, removeRoute, listRoutes, setForwarding, type RouteOptions, type RouteInfo } from './route.js';
import { readSs, readSockstat, readStats, type SsOptions, type SsRow, type Sockstat, type Stats } from './introspect.js';
import { AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, POLLNVAL, POLLIN, POLLOUT, POLLPRI, POLLERR, POLLHUP } from './gen/constants.js';
import { TlsSocket, type TlsSocketOptions } from './tls/tls-socket.js';
import { SecureContext } from './tls/context.js';
import type { SecureContextOptions } from './tls/options.js';
import { HttpClient, type FetchInit } from './http/client.js';
import { connectStream, listenStream, udpStream, type StreamAddress, type ConnectStreamOptions, type StreamSocket, type ListenOptions, type StreamListener, type UdpOptions, type UdpStreamSocket } from './adapters/streams.js';

export interface StackOptions {
  /** The wasm to use: a compiled module, its bytes, or a URL. Default: lwip.wasm beside this module. */
  wasm?: WasmSource;
  /**
   * TLS inside the stack (secureTransport, startTls, https: in fetch): loads lwip-tls.wasm
   * (the stack with Mbed TLS, about three times the size) instead of lwip.wasm. A `wasm`
   * given with it must be a TLS build. Default false: stacks without it carry no TLS.
   */
  tls?: boolean;
  /** Default limit for a TCP connect, in ms (default 75000). ETIMEDOUT when it runs out. */
  connectTimeout?: number;
  /** Most sockets open at once (default 65536); socket() beyond it fails with EMFILE. */
  maxSockets?: number;
  /** Bytes a UDP socket queues before dropping datagrams (default 212992, Linux's default). */
  udpReceiveBuffer?: number;
  /**
   * How long a closed TCP connection stays in TIME_WAIT, holding its port, in ms
   * (default 60000, as Linux). Tests may shorten it to see resources return sooner.
   */
  timeWait?: number;
  /** Seed for the stack's randomness (ISNs, ephemeral ports, MACs), for reproducible runs. */
  seed?: number;
  /**
   * The clock the stack runs on (default: real time). lwIP's timers (retransmission,
   * TIME_WAIT, keepalive), connect limits and the async forms' timeouts all use it, so a
   * virtual clock makes them run as fast as the test advances it.
   */
  clock?: Clock;
  /** DNS servers for stack.resolve (at most 3), used instead of any DHCP gives; see setDnsServers. */
  dns?: string[];
  /** Receives lwIP's diagnostics (DEBUG builds). */
  onLog?: (line: string) => void;
  /** Called once if the stack fails (a wasm trap); every socket is unusable after it. */
  onError?: (err: Error) => void;
}

export interface PollEntry {
  socket: Socket;
  /** POLLIN, POLLOUT, POLLRDHUP... POLLERR, POLLHUP and POLLNVAL are always reported. */
  events: number;
}

/** Memory use, for leak checks: all zeros except heapBytes once every socket is gone. */
export interface MemoryStats {
  /** lwIP pool elements in use, summed over every pool. */
  poolsInUse: number;
  /** In-use count per lwIP pool (TCP_PCB, TCP_SEG, PBUF, ...). */
  pools: Record<string, number>;
  /** Socket structures alive in C, including connections waiting to be accepted. */
  sockets: number;
  /** Bytes malloc has handed out in the wasm heap. */
  heapBytes: number;
  /** Incoming frames dropped as malformed or for a missing interface. */
  inputDrops: number;
}

function checkPositiveInt(v: unknown, name: string, max = 0x7fffffff): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new RangeError(`lwip-wasm: ${name} must be an integer from 1 to ${max}, got ${String(v)}`);
  }
  return v;
}

/** What Stack's constructor receives: the engine and the stack's randomness. */
interface StackInternal {
  core: Core;
  random: () => number;
}

export class Stack {
  readonly #core: Core;
  readonly #sockets = new Map<number, Socket>();
  readonly #interfaces = new Map<number, NetInterface>();
  readonly #random: () => number;
  #failure: Error | undefined;

  /**
   * Use Stack.create. internal is the package's own handle (its engine); the constructor
   * is protected so that lwip-wasm/node's Stack, which adds `net` and `dgram`, can extend
   * this one.
   */
  protected constructor(internal: unknown) {
    const { core, random } = internal as StackInternal;
    this.#core = core;
    this.#random = random;
  }

  /** Creates a stack with its own wasm instance. Loopback (127.0.0.1, ::1) is always there. */
  static create(options?: StackOptions): Promise<Stack> {
    return Stack.open(options, (internal) => new Stack(internal));
  }

  /** Creates a stack of a subclass: make calls the subclass's constructor with the handle. */
  protected static async open<T extends Stack>(options: StackOptions = {}, make: (internal: unknown) => T): Promise<T> {
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    const connectTimeout = checkPositiveInt(options.connectTimeout, 'connectTimeout');
    const maxSockets = checkPositiveInt(options.maxSockets, 'maxSockets', 1 << 24);
    const udpRcv = checkPositiveInt(options.udpReceiveBuffer, 'udpReceiveBuffer');
    const timeWait = checkPositiveInt(options.timeWait, 'timeWait');
    // Seeded: replayable ISNs, ports and MACs. Unseeded: the platform's CSPRNG, since
    // ISNs and ephemeral ports must not be guessable by an off-path attacker.
    const random = options.seed !== undefined ? seededRandom(options.seed).u32 : freshSeed;
    const clock = checkClock(options.clock) ?? realClock;
    if (options.dns !== undefined) parseServers(options.dns);
    if (options.tls !== undefined && typeof options.tls !== 'boolean') throw new TypeError('lwip-wasm: tls must be a boolean');
    const start = clock.now();
    const module = await loadModule(options.wasm, options.tls === true);
    let stack: T | undefined;
    const failWith = (err: Error): void => {
      if (stack) stack.#failWith(err);
    };
    const time = lwipTime(clock, start);
    const { raw, tls } = await instantiate(module, {
      now: time.read,
      random,
      diag: (line) => options.onLog?.(line),
      assertFailed: (msg) => failWith(new Error(msg)),
    }, options.tls === true);
    const core = new Core(raw, clock, failWith, tls, time.invalidate);
    stack = make({ core, random } satisfies StackInternal);
    releaseShapes();
    const abi = core.abi;
    core.check(abi.stack_init(), 'init');
    if (connectTimeout !== undefined) abi.stack_set_config(CONFIG.CONNECT_TIMEOUT, connectTimeout);
    if (maxSockets !== undefined) abi.stack_set_config(CONFIG.MAX_FDS, maxSockets + 3);
    if (udpRcv !== undefined) abi.stack_set_config(CONFIG.UDP_RCVBUF, udpRcv);
    if (timeWait !== undefined) abi.stack_set_config(CONFIG.TIME_WAIT, timeWait);
    stack.#onError = options.onError;
    if (options.dns !== undefined) setServers(core, options.dns);
    core.flush();
    return stack;
  }

  #onError: ((err: Error) => void) | undefined;

  #failWith(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#core.fail(err);
    for (const s of this.#sockets.values()) s._forget();
    try {
      this.#onError?.(err);
    } catch {
      // a failing handler must not hide the original failure
    }
  }

  /** The error that stopped this stack, if one did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** The clock the stack runs on (StackOptions.clock, or real time). */
  get clock(): Clock {
    return this.#core.clock;
  }

  get disposed(): boolean {
    return !this.#core.alive && !this.#failure;
  }

  /**
   * Attaches a link as a new ethernet interface. With ip: 'dhcp' it returns a promise
   * that resolves once a lease is granted (rejects with ETIMEDOUT after dhcp.timeout,
   * and then the interface is removed).
   */
  addInterface(link: Link, options: InterfaceOptions & { ip: 'dhcp' }): Promise<NetInterface>;
  addInterface(link: Link, options?: InterfaceOptions): NetInterface;
  addInterface(link: Link, options: InterfaceOptions = {}): NetInterface | Promise<NetInterface> {
    this.#core.assertAlive();
    if (!link || typeof link.send !== 'function' || typeof link.attach !== 'function') {
      throw new TypeError('lwip-wasm: addInterface needs a Link (see createPair)');
    }
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    const iface = new NetInterface(this.#core, link, options, randomMac(this.#random), (i) => this.#interfaces.delete(i.index));
    this.#interfaces.set(iface.index, iface);
    this.#core.kick();
    if (options.ip === 'dhcp') {
      return waitForLease(this.#core, iface.index, options.dhcp, () => iface._leased(), () => iface.remove(), () => iface._linkGone()).then(() => iface);
    }
    return iface;
  }

  /**
   * Resolves a host name to an address (A, or AAAA with family 6; family 0 tries A, then
   * AAAA). Rejects with DnsError: ENOTFOUND, ETIMEDOUT, ENOSERVER or EAGAIN. A malformed
   * name throws TypeError. See docs/dns-dhcp.md.
   */
  resolve(name: string, options?: ResolveOptions): Promise<ResolvedAddress> {
    this.#core.assertAlive();
    return resolveName(this.#core, name, options);
  }

  /** Sets the DNS servers lookups use (at most 3); [] goes back to the ones DHCP gives. */
  setDnsServers(servers: string[]): void {
    this.#core.assertAlive();
    setServers(this.#core, servers);
  }

  /** The DNS servers a lookup would use now: the configured ones, or DHCP's. */
  get dnsServers(): string[] {
    this.#core.assertAlive();
    return getServers(this.#core);
  }

  get interfaces(): NetInterface[] {
    return [...this.#interfaces.values()];
  }

  /** The sockets open now (listeners and accepted connections included), as `ls /proc/<pid>/fd`. */
  get sockets(): Socket[] {
    return [...this.#sockets.values()];
  }

  // --- routing (src/route.ts, wasm/route.c) ----------------------------------------------

  #forwarding = false;

  /**
   * Forwarding between interfaces, as the ip_forward sysctl: on, the stack is a router
   * (IPv4 and IPv6; TTL and hop limit counted down, ICMP time exceeded and fragmentation
   * needed sent). Off by default: a host drops packets that are not for it.
   */
  setForwarding(on: boolean): void {
    this.#core.assertAlive();
    setForwarding(this.#core, on);
    this.#forwarding = on;
  }

  get forwarding(): boolean {
    return this.#forwarding;
  }

  /**
   * Adds a static route, as `ip route add`: { to: '10.0.2.0/24', via: '10.0.1.1' }, or
   * { to, ifindex } for a network on that link. Routes count only where no interface's own
   * subnet holds the destination; the longest prefix wins. Throws TypeError if a route
   * to the same prefix exists, ENOBUFS past MAX_ROUTES (64).
   */
  addRoute(route: RouteOptions): void {
    this.#core.assertAlive();
    addRoute(this.#core, route);
  }

  /** Removes the route to a prefix ('10.0.2.0/24'); false if there was none. */
  removeRoute(to: string): boolean {
    this.#core.assertAlive();
    return removeRoute(this.#core, { to });
  }

  /** The static routes, in table order. */
  get routes(): RouteInfo[] {
    this.#core.assertAlive();
    return listRoutes(this.#core);
  }

  /** Creates a non-blocking socket. domain: AF_INET | AF_INET6; type: SOCK_STREAM | SOCK_DGRAM. */
  socket(domain: number, type: number): Socket {
    if (domain !== AF_INET && domain !== AF_INET6) {
      throw new TypeError(`lwip-wasm: domain must be AF_INET (${AF_INET}) or AF_INET6 (${AF_INET6}), got ${String(domain)}`);
    }
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM) {
      throw new TypeError(`lwip-wasm: type must be SOCK_STREAM (${SOCK_STREAM}) or SOCK_DGRAM (${SOCK_DGRAM}), got ${String(type)}`);
    }
    const core = this.#core;
    const fd = core.check(core.abi.sock_socket(domain, type), 'socket');
    return this.#wrap(fd, domain, type);
  }

  #wrap(fd: number, domain: number, type: number): Socket {
    const s = new Socket(this.#core, fd, domain, type, (closed) => {
      this.#sockets.delete(closed.fd);
      this.#core.openFds.delete(closed.fd);
    });
    s._adopt = (newFd) => this.#wrap(newFd, domain, type);
    this.#sockets.set(fd, s);
    this.#core.openFds.add(fd);
    this.#core.kick();
    return s;
  }

  /**
   * Makes iface a transparent gateway for its peer: TCP connections and UDP datagrams to
   * any address are taken, each connection attempt held until the caller's verdict (see
   * Interceptor and docs/intercept.md). The relay's nat mode is built on it. Throws
   * EALREADY if iface already intercepts.
   */
  intercept(iface: NetInterface): Interceptor {
    const core = this.#core;
    core.assertAlive();
    if (this.#interfaces.get(iface.index) !== iface) throw new TypeError('lwip-wasm: not an interface of this stack');
    const fd = core.check(core.abi.intercept_open(iface.index), 'intercept');
    return new Interceptor(core, iface.index, this.#wrap(fd, AF_INET6, SOCK_STREAM));
  }

  /** The current revents of each entry, as poll(2) with timeout 0. */
  pollSync(entries: readonly PollEntry[]): number[] {
    this.#core.assertAlive();
    if (!Array.isArray(entries)) throw new TypeError('lwip-wasm: poll needs an array of { socket, events }');
    return entries.map((e) => {
      if (!e || !(e.socket instanceof Socket) || typeof e.events !== 'number') {
        throw new TypeError('lwip-wasm: each poll entry needs { socket: Socket, events: number }');
      }
      if (this.#sockets.get(e.socket.fd) !== e.socket) return POLLNVAL;
      return e.socket.events & (e.events | ALWAYS);
    });
  }

  /**
   * poll(2): resolves with every entry's revents as soon as one is non-zero, or all zeros
   * when timeoutMs runs out. 0 returns at once; -1 waits without limit.
   */
  async poll(entries: readonly PollEntry[], timeoutMs = -1, opts?: Pick<WaitOptions, 'signal'>): Promise<number[]> {
    checkWaitOptions(opts);
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= -1)) {
      throw new RangeError(`lwip-wasm: poll timeout must be -1 or a number of ms >= 0, got ${String(timeoutMs)}`);
    }
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const first = this.pollSync(entries);
    if (timeoutMs === 0 || first.some((r) => r !== 0)) return first;
    const core = this.#core;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(opts?.signal?.reason);
    opts?.signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = timeoutMs < 0 ? Infinity : core.clock.now() + timeoutMs;
    try {
      await Promise.race(entries.map((e) =>
        core.wait(e.socket.fd, e.events, deadline, ac.signal, () => new TimeoutSignal())));
    } catch (err) {
      if (!(err instanceof TimeoutSignal)) throw err;
    } finally {
      ac.abort();
      opts?.signal?.removeEventListener('abort', onAbort);
    }
    if (!core.alive) core.assertAlive();
    return this.pollSync(entries);
  }

  /** A new epoll instance over this stack's sockets. */
  epoll<T = unknown>(): Epoll<T> {
    this.#core.assertAlive();
    return new Epoll<T>(this.#core);
  }

  /**
   * select(2) over sockets: resolves with the ready subsets as soon as one is ready, or
   * empty sets when timeoutMs runs out (-1: no limit). Readable includes end of stream and
   * errors; except reports POLLPRI, which this stack never raises (no urgent data).
   */
  async select(read: readonly Socket[], write: readonly Socket[], except: readonly Socket[], timeoutMs = -1,
    opts?: Pick<WaitOptions, 'signal'>): Promise<{ read: Socket[]; write: Socket[]; except: Socket[] }> {
    for (const list of [read, write, except]) {
      if (!Array.isArray(list)) throw new TypeError('lwip-wasm: select needs three arrays of sockets');
    }
    const entries: PollEntry[] = [
      ...read.map((socket) => ({ socket, events: POLLIN })),
      ...write.map((socket) => ({ socket, events: POLLOUT })),
      ...except.map((socket) => ({ socket, events: POLLPRI })),
    ];
    const rev = await this.poll(entries, timeoutMs, opts);
    const pick = (list: readonly Socket[], start: number, bits: number) =>
      list.filter((_, i) => (rev[start + i]! & bits) !== 0);
    return {
      read: pick(read, 0, POLLIN | POLLHUP | POLLERR),
      write: pick(write, read.length, POLLOUT | POLLERR),
      except: pick(except, read.length + write.length, POLLPRI),
    };
  }

  /** Socket listing in the shape of `ss` (see SsOptions; formatSs prints it). */
  ss(options: SsOptions = {}): SsRow[] {
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: ss options must be an object');
    this.#core.assertAlive();
    const m = this.memory();
    return readSs(this.#core, options, m.sockets + m.pools['TCP_PCB']! + m.pools['TCP_PCB_LISTEN']! + 16);
  }

  /** Counts in the shape of /proc/net/sockstat (mem in bytes, not pages). */
  sockstat(): Sockstat {
    this.#core.assertAlive();
    return readSockstat(this.#core);
  }

  /** lwIP's protocol counters: packets sent, received, dropped, checksum errors... */
  stats(): Stats {
    this.#core.assertAlive();
    return readStats(this.#core);
  }

  /** Memory in use inside the wasm; see MemoryStats. */
  memory(): MemoryStats {
    const core = this.#core;
    core.assertAlive();
    const ptr = core.heap.alloc(LW_MEM_STATS.size);
    try {
      core.check(core.abi.stack_mem_stats(ptr), 'memory');
      const m = readLwMemStats(core.heap, ptr);
      const pools: Record<string, number> = {};
      m.poolUsed.forEach((used, i) => {
        pools[core.heap.cstring(core.abi.stack_pool_name(i))] = used;
      });
      return { poolsInUse: m.poolsInUse, pools, sockets: m.sockets, inputDrops: m.inputDrops, heapBytes: m.heapBytes };
    } finally {
      core.abi.free(ptr);
    }
  }

  /**
   * Closes every socket and releases the instance; timers stop, so a process may exit.
   * The instance's memory is freed once nothing refers to the stack; the most recently
   * disposed stack is held until the next is made, or for 2 s (src/shapes.ts says why).
   */
  dispose(): void {
    if (!this.#core.alive && !this.#failure) return;
    this.#http?.close();
    for (const s of this.#sockets.values()) s._forget();
    this.#sockets.clear();
    this.#core.openFds.clear();
    for (const i of this.#interfaces.values()) i.link.close();
    this.#core.dispose();
    holdShapes(this);
  }

  // --- TLS (src/tls/): in the wasm, for stacks made with { tls: true } -----------------

  /** True when this stack's wasm has TLS (Stack.create({ tls: true })). */
  get hasTls(): boolean {
    return this.#core.tls !== undefined;
  }

  /**
   * A TLS configuration to share between connections (node:tls's createSecureContext):
   * a server's with isServer (cert and key parsed once), else a client's. close() frees it.
   */
  createSecureContext(options: SecureContextOptions & { isServer?: boolean } = {}): SecureContext {
    this.#core.assertAlive();
    const { isServer, ...rest } = options;
    return new SecureContext(this.#core, rest, isServer === true);
  }

  /**
   * Starts TLS on a connected stream socket, as a client (servername, ca,
   * rejectUnauthorized, ALPNProtocols...) or with isServer as a server (cert, key). The
   * socket's recv and send carry plaintext from here on; await tlsSocket.handshake().
   * Throws TypeError on a stack without TLS.
   */
  startTls(socket: Socket, options?: TlsSocketOptions): TlsSocket {
    this.#core.assertAlive();
    if (!(socket instanceof Socket) || this.#sockets.get(socket.fd) !== socket) {
      throw new TypeError('lwip-wasm: startTls needs a socket of this stack');
    }
    return new TlsSocket(this.#core, socket, options);
  }

  // --- fetch (src/http/): its HTTP parser's wasm is compiled on first use ----------------

  #http: HttpClient | undefined;

  /**
   * WHATWG fetch over this stack: http: and https: (https: needs { tls: true }), HTTP/1.1
   * with a keep-alive pool per origin, streamed bodies, redirects and AbortSignal; names
   * go through stack.resolve. init.tls takes node:tls options for https: (ca, ...).
   * Network failures reject with TypeError('fetch failed') whose cause has the code.
   */
  fetch(input: string | URL | Request, init?: FetchInit): Promise<Response> {
    this.#core.assertAlive();
    this.#http ??= new HttpClient(this);
    return this.#http.fetch(input, init);
  }

  // --- web-standard streams (src/adapters/): browser-safe, no Node built-ins -------------

  /** A TCP connection as web streams, in the WinterTC Sockets API shape ("10.0.0.2:80"). */
  connect(address: StreamAddress, options?: ConnectStreamOptions): StreamSocket {
    return connectStream(this, address, options);
  }

  /** A TCP listener whose connections come as web streams (an async iterable, as Deno's). */
  listen(options?: ListenOptions): StreamListener {
    return listenStream(this, options);
  }

  /** A UDP socket as streams of { data, remoteAddress, remotePort } datagrams. */
  udp(options?: UdpOptions): UdpStreamSocket {
    return udpStream(this, options);
  }
}

/** Internal marker: a poll's own timeout, which is not an error. */
class TimeoutSignal extends Error {}

export { StackError };
