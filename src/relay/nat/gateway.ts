// One client's gateway in nat mode: a stack of our own on the other end of the client's
// link. It answers ARP and ND, leases the client its address (DHCP), advertises itself
// as the IPv6 router (SLAAC, RDNSS), serves DNS, and intercepts every TCP connection
// and UDP flow the client sends anywhere else; each is judged by policy and limits
// after lwIP has reassembled it, and only then opened for real with node:net and
// node:dgram (tcp.ts, udp.ts). The gateway's own addresses stand for the relay host's
// loopback, under the same policy.
import { Stack } from '../../stack.js';
import type { Socket } from '../../socket.js';
import { FrameBatch, type Link, type LinkReceiver } from '../../transports/link.js';
import type { NetInterface } from '../../interface.js';
import type { Interceptor } from '../../intercept.js';
import { formatIPv6, parseIPv4, parseIPv6, type SocketAddress } from '../../address.js';
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_BROADCAST } from '../../gen/constants.js';
import type { ModeClient, SessionPort } from '../modes/mode.js';
import type { Policy } from '../policy.js';
import { TokenBucket } from '../limits.js';
import { serveDhcp } from './dhcp-server.js';
import { DnsServer, NameBook, type NameSource } from './dns-server.js';
import { isRouterSolicitation, routerAdvertisement, ROUTER_LIFETIME } from './ra.js';
import { TcpForwarder } from './tcp.js';
import { UdpForwarder } from './udp.js';
import type { NatContext } from './context.js';

export interface GatewayConfig {
  /** The client's IPv4 address and prefix length, and the gateway's address. */
  address: string;
  prefix: number;
  gateway: string;
  /** The IPv6 /64 clients take addresses from (the gateway is its ::2), or null for none. */
  ipv6: string | null;
  mtu: number;
  /** Serve DNS (and hand it out by DHCP and RA). */
  dns: boolean;
  names: NameSource;
  policy: Policy;
  maxConnections: number;
  connectionsPerSecond: number;
  maxUdpFlows: number;
  udpIdleTimeout: number;
  connectTimeout: number;
}

/** The gateway's MAC: fixed, so a client that reconnects after a relay restart still finds it. */
const GATEWAY_MAC = '02:00:0a:00:02:02';
const LOOPBACK4 = '127.0.0.1';
const LOOPBACK6 = '::1';

/** Frames both ways between a session and its gateway stack. */
class GatewayLink implements Link {
  readonly mtu: number;
  readonly #client: ModeClient;
  #receiver: LinkReceiver | undefined;
  readonly #batch = new FrameBatch();
  #queued = false;
  onSolicit: (() => void) | undefined;

  constructor(mtu: number, client: ModeClient) {
    this.mtu = mtu;
    this.#client = client;
  }

  attach(receiver: LinkReceiver): void {
    this.#receiver = receiver;
  }

  /** A client on lwip-wasm.batch.v2 takes TCP segments of up to 64 KiB whole. */
  get segmentOffload(): boolean {
    return this.#client.offload;
  }

  /** A frame from the stack, for the client. */
  send(frame: Uint8Array, segMax = 0): boolean {
    this.#client.deliver(frame, false, segMax);
    return true; // a client that cannot keep up loses frames in the session, as a link would
  }

  /** Frames as views of the stack's memory: the session copies them into its batch. */
  sendViews(frames: readonly Uint8Array[], segs?: readonly number[]): boolean {
    for (let i = 0; i < frames.length; i++) this.#client.deliver(frames[i]!, true, segs ? segs[i]! : 0);
    return true;
  }

  /** A frame from the client (seg: a segment over the MTU): frames of one turn reach the stack as one batch. */
  fromClient(frame: Uint8Array, seg = 0): void {
    if (isRouterSolicitation(frame)) this.onSolicit?.();
    this.#batch.push(frame, seg);
    if (!this.#queued) {
      this.#queued = true;
      queueMicrotask(() => {
        this.#queued = false;
        const [batch, hints] = this.#batch.take();
        this.#receiver?.onFrames(batch, hints);
      });
    }
  }

  close(): void {
    this.#receiver = undefined;
  }
}

const bytesOf = (address: string): Uint8Array => parseIPv4(address) ?? parseIPv6(address) ?? new Uint8Array(0);

export class Gateway implements SessionPort {
  readonly #stack: Stack;
  readonly #link: GatewayLink;
  readonly #icept: Interceptor;
  readonly #tcp: TcpForwarder;
  readonly #udp: UdpForwarder;
  readonly #servers: Socket[] = [];
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #closed = false;

  private constructor(stack: Stack, link: GatewayLink, icept: Interceptor, tcp: TcpForwarder, udp: UdpForwarder) {
    this.#stack = stack;
    this.#link = link;
    this.#icept = icept;
    this.#tcp = tcp;
    this.#udp = udp;
  }

  static async start(cfg: GatewayConfig, client: ModeClient): Promise<Gateway> {
    const stack = await Stack.create();
    try {
      const link = new GatewayLink(cfg.mtu, client);
      const v6 = cfg.ipv6 === null ? null : gatewayIPv6(cfg.ipv6);
      const iface = stack.addInterface(link, {
        ip: `${cfg.gateway}/${cfg.prefix}`, mac: GATEWAY_MAC, mtu: cfg.mtu, ...(v6 ? { ipv6: `${v6}/64` } : {}),
      });
      const icept = stack.intercept(iface);
      const names = new NameBook();
      const ownV6 = new Set(iface.ipv6);
      const bucket = new TokenBucket(cfg.connectionsPerSecond);
      const ctx: NatContext = {
        maxConnections: cfg.maxConnections,
        connectionsPerSecond: cfg.connectionsPerSecond,
        maxUdpFlows: cfg.maxUdpFlows,
        udpIdleTimeout: cfg.udpIdleTimeout,
        connectTimeout: cfg.connectTimeout,
        newConnection: () => bucket.take(1),
        refuse: (reason, detail) => client.refuse(reason, detail),
        target: (dst: SocketAddress): SocketAddress => {
          if (dst.address === cfg.gateway) return { address: LOOPBACK4, port: dst.port, family: 'IPv4' };
          if (ownV6.has(dst.address)) return { address: LOOPBACK6, port: dst.port, family: 'IPv6' };
          return dst;
        },
        judge: (proto, target, asked) => cfg.policy.judge(proto, bytesOf(target.address), target.port, names.nameOf(asked.address)),
      };
      const gw = new Gateway(stack, link, icept, new TcpForwarder(icept, ctx), new UdpForwarder(icept, ctx));
      gw.#serve(cfg, iface, names, v6);
      void gw.#interceptLoop();
      return gw;
    } catch (err) {
      stack.dispose();
      throw err;
    }
  }

  /** DHCP, DNS (UDP and TCP) and router advertisements. */
  #serve(cfg: GatewayConfig, iface: NetInterface, names: NameBook, v6: string | null): void {
    const stack = this.#stack;
    const dhcp = stack.socket(AF_INET, SOCK_DGRAM);
    dhcp.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
    dhcp.bind('0.0.0.0', 67);
    this.#servers.push(dhcp);
    void serveDhcp(dhcp, cfg);
    if (cfg.dns) {
      const dns = new DnsServer({ source: cfg.names, names });
      const udp = stack.socket(AF_INET6, SOCK_DGRAM);
      udp.bind('::', 53); // both families
      this.#servers.push(udp);
      void serveDnsUdp(udp, dns);
      // TCP on the gateway's own addresses only: port 53 anywhere else is ordinary traffic.
      for (const [family, address] of [[AF_INET, cfg.gateway], ...(v6 ? [[AF_INET6, v6] as const] : [])] as const) {
        const l = stack.socket(family, SOCK_STREAM);
        l.bind(address, 53);
        l.listen(16);
        this.#servers.push(l);
        void serveDnsTcp(l, dns);
      }
    }
    if (v6 && cfg.ipv6) {
      const prefix = bytesOf(cfg.ipv6.split('/')[0]!);
      const ra = routerAdvertisement({
        mac: bytesOf6Mac(iface.mac), linkLocal: bytesOf(iface.ipv6[0]!), prefix, dns: cfg.dns ? bytesOf(v6) : null, mtu: cfg.mtu,
      });
      const advertise = (): void => {
        if (!this.#closed) this.#link.send(ra);
      };
      this.#link.onSolicit = advertise;
      advertise();
      const t = setInterval(advertise, (ROUTER_LIFETIME * 1000) / 3);
      t.unref?.();
      this.#timers.push(t);
    }
  }

  async #interceptLoop(): Promise<void> {
    const icept = this.#icept;
    while (!this.#closed) {
      try {
        for (const h of icept.takeConnects()) this.#tcp.held(h);
        for (let d = icept.takeDatagram(), n = 0; d && n < 256; d = icept.takeDatagram(), n++) this.#udp.datagram(d);
        await icept.wait();
      } catch {
        return; // the stack is gone
      }
    }
  }

  /** TCP connections tried or open, and UDP flows. */
  get connections(): number {
    return this.#tcp.size;
  }

  get udpFlows(): number {
    return this.#udp.size;
  }

  send(frame: Uint8Array, seg = 0): void {
    if (!this.#closed) this.#link.fromClient(frame, seg);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#tcp.close();
    this.#udp.close();
    this.#stack.dispose();
  }
}

/** The gateway's IPv6 address in a /64 ("fd00:2::/64" gives fd00:2::2). */
export function gatewayIPv6(prefix: string): string {
  const [addr = '', len] = prefix.split('/');
  const b = parseIPv6(addr);
  if (!b || (len !== undefined && len !== '64')) throw new TypeError(`lwip-wasm relay: nat.ipv6 must be an IPv6 /64 such as fd00:2::/64 (got '${prefix}')`);
  b.fill(0, 8);
  b[15] = 2;
  return formatIPv6(b);
}

function bytesOf6Mac(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':'), (h) => parseInt(h, 16));
}

async function serveDnsUdp(sock: Socket, dns: DnsServer): Promise<void> {
  for (;;) {
    let q;
    try {
      q = await sock.recvfrom(4096);
    } catch {
      return;
    }
    void dns.answer(q.data).then((reply) => {
      if (reply && !sock.closed) {
        try {
          sock.sendtoSync(reply.byteLength > 4096 ? truncated(reply) : reply, q.address, q.port);
        } catch {
          // gone, or its queue is full: the client asks again
        }
      }
    });
  }
}

/** A reply too big for UDP: the header with TC set and no records (the client retries over TCP). */
function truncated(reply: Uint8Array): Uint8Array {
  const out = reply.slice(0, 12);
  out[2]! |= 0x02;
  out.fill(0, 4, 12);
  return out;
}

async function serveDnsTcp(listener: Socket, dns: DnsServer): Promise<void> {
  for (;;) {
    let conn: Socket;
    try {
      conn = await listener.accept();
    } catch {
      return;
    }
    void (async () => {
      // RFC 1035 4.2.2: each message behind a 2-byte length; one connection, many queries.
      let buf = new Uint8Array(0);
      try {
        for (;;) {
          const data = await conn.recv(65536, { timeout: 30_000 });
          if (data.length === 0) break;
          const joined = new Uint8Array(buf.length + data.length);
          joined.set(buf);
          joined.set(data, buf.length);
          buf = joined;
          while (buf.length >= 2 && buf.length >= 2 + ((buf[0]! << 8) | buf[1]!)) {
            const len = (buf[0]! << 8) | buf[1]!;
            const reply = await dns.answer(buf.subarray(2, 2 + len));
            buf = buf.slice(2 + len);
            if (reply) {
              const framed = new Uint8Array(2 + reply.length);
              framed[0] = reply.length >> 8;
              framed[1] = reply.length & 0xff;
              framed.set(reply, 2);
              await conn.send(framed);
            }
          }
          if (buf.length > 2 + 65535) break;
        }
      } catch {
        // a reset, an idle client, or the gateway closing
      } finally {
        if (!conn.closed) conn.close();
      }
    })();
  }
}
