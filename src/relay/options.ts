// The relay's options, their defaults, and their validation (bad input throws before
// anything listens).
import { parseRule, type Rule } from './rules.js';

export type RelayMode = 'nat' | 'hub' | 'tap';

export interface NatOptions {
  /** The client's address and prefix length, as the gateway's DHCP hands them out (10.0.2.15/24). */
  address?: string;
  prefix?: number;
  /** The gateway (10.0.2.2); connections to it reach the relay host's 127.0.0.1, judged as such. */
  gateway?: string;
  /**
   * The IPv6 /64 clients take addresses from by SLAAC (default 'fd00:2::/64'; the gateway is
   * its ::2, which stands for the relay host's ::1), or false for no IPv6.
   */
  ipv6?: string | false;
  /** Serve DNS on the gateway, through the relay host's resolver, and hand it out (default true). */
  dns?: boolean;
  /**
   * How the gateway's DNS resolves A and AAAA (default: node:dns lookup, so /etc/hosts
   * counts): all addresses of the family, or a rejection with code ENOTFOUND.
   */
  lookup?: (name: string, family: 4 | 6) => Promise<string[]>;
  /** MTU of the client's link, handed out by DHCP and RA (default 1500). */
  mtu?: number;
  /** How long a real TCP connect may take; then the client's attempt is dropped (default 20000 ms). */
  connectTimeout?: number;
  /** How long an idle UDP flow lasts (default 60000 ms). */
  udpIdleTimeout?: number;
}

export interface TapModeOptions {
  /** The TAP device (default: a new tapN, which needs CAP_NET_ADMIN). */
  name?: string;
  /** Attach to an existing device only (a persistent device the relay's user owns). */
  attach?: boolean;
  /** Set the device up (needs CAP_NET_ADMIN). */
  up?: boolean;
  /**
   * The subnets on the device (CIDR; one IPv4 and one IPv6 at most): a client's
   * addresses must be in them. Without an IPv4 one a client may take any IPv4 address no
   * other client has (the kernel's reverse-path filter is all that stops a forged source
   * from being routed); without an IPv6 one, clients may use only link-local IPv6.
   */
  subnet?: string | readonly string[];
}

export interface DemoOptions {
  /** The folder with the built package (index.js and lwip.wasm); default: the relay's own dist/. */
  dist?: string;
}

export interface RelayOptions {
  /** TCP port to listen on (default 8080; 0 picks a free one). */
  port?: number;
  /** Address to listen on (default '127.0.0.1'; '0.0.0.0' or '::' for every interface). */
  host?: string;
  mode?: RelayMode;
  /** A shared secret clients must present (?token= in the URL, or Authorization: Bearer). */
  token?: string;
  /**
   * Origins (scheme://host[:port]) whose pages may connect; '*' allows any. Default: only
   * the origin of the relay's own URL (http://127.0.0.1:PORT when it listens on loopback
   * or every interface, http://HOST:PORT otherwise), and clients that send no Origin
   * (not browsers). The Host header is never what decides it: a page that rebinds its
   * own name to the relay controls that header.
   */
  origins?: readonly string[];
  /**
   * Start even when listening beyond loopback with neither token nor origins (anyone who
   * can reach the port, from any page, could then use the relay). Default false.
   */
  insecureOpen?: boolean;
  /** A token for GET /metrics (default: the client token). With neither, /metrics answers loopback only. */
  metricsToken?: string;
  /** Clients at once from one source address (default 16). */
  maxClientsPerAddress?: number;
  /** Destinations to allow or deny beyond the defaults: CIDR[:port[-port]], optionally tcp/ udp/ icmp/ in front. */
  allow?: readonly string[];
  deny?: readonly string[];
  /** Clients at once (default 64). */
  maxClients?: number;
  /** TCP connections each client may have open (default 64). */
  maxConnections?: number;
  /** UDP flows each client may have at once (nat; default 256). */
  maxUdpFlows?: number;
  /** Frames and bytes each client may send per second, with a one-second burst (defaults 10000 and 4 MiB; a download's ACKs count: 15 MiB/s takes about 5600 a second). */
  framesPerSecond?: number;
  bytesPerSecond?: number;
  /** Largest frame accepted from a client, ethernet header included (default 1518: MTU 1500 plus a VLAN tag; in nat mode at least nat.mtu + 18). */
  maxFrameSize?: number;
  /** Bytes queued towards one client beyond which frames to it are dropped (default 2 MiB). */
  clientHighWaterMark?: number;
  /** Idle time after which a tracked TCP connection no longer counts (default 300000 ms). */
  connectionIdleTimeout?: number;
  /** New TCP connections each client may open per second, with a one-second burst (default 100). */
  connectionsPerSecond?: number;
  /** A client that has sent no frame at all this long after connecting is closed with 4408 (default 30000 ms). */
  silentTimeout?: number;
  nat?: NatOptions;
  tap?: TapModeOptions;
  /** hub: the subnets clients' addresses must be in (CIDR, one IPv4 and one IPv6 at most; default any). */
  subnet?: string | readonly string[];
  /** Serve the browser demo at / (nat mode). */
  demo?: boolean | DemoOptions;
  /** Serve GET /metrics as JSON (default true; it needs the token when one is set). */
  metrics?: boolean;
  /** Each refusal, limit and denial, once per client and kind; connects and disconnects. */
  onLog?: (line: string) => void;
}

export interface Resolved {
  port: number;
  host: string;
  mode: RelayMode;
  token: string | null;
  origins: readonly string[] | null;
  metricsToken: string | null;
  maxClientsPerAddress: number;
  allow: readonly string[];
  deny: readonly string[];
  maxClients: number;
  maxConnections: number;
  maxUdpFlows: number;
  framesPerSecond: number;
  bytesPerSecond: number;
  maxFrameSize: number;
  clientHighWaterMark: number;
  connectionIdleTimeout: number;
  connectionsPerSecond: number;
  silentTimeout: number;
  nat: Required<Omit<NatOptions, 'lookup'>> & Pick<NatOptions, 'lookup'>;
  tap: TapModeOptions;
  /** The subnets anti-spoofing holds clients to (hub: subnet; tap: tap.subnet). */
  subnet: Rule | null;
  subnet6: Rule | null;
  demo: DemoOptions | null;
  metrics: boolean;
  log: (line: string) => void;
}

function positive(name: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || value > max || (!Number.isInteger(value) && Number.isFinite(value))) {
    throw new RangeError(`lwip-wasm relay: ${name} must be a positive integer up to ${max} (got ${String(value)})`);
  }
  return value;
}

/** The IPv4 and IPv6 subnets from one or two CIDRs. */
function subnetRules(cidrs: string | readonly string[] | undefined): { v4: Rule | null; v6: Rule | null } {
  const out: { v4: Rule | null; v6: Rule | null } = { v4: null, v6: null };
  for (const cidr of cidrs === undefined ? [] : typeof cidrs === 'string' ? [cidrs] : cidrs) {
    const rule = parseRule(cidr);
    if ((rule.bytes.length !== 4 && rule.bytes.length !== 16) || rule.portLo !== 0 || rule.portHi !== 65535 || rule.proto !== null) {
      throw new TypeError(`lwip-wasm relay: subnet must be a CIDR such as 10.77.0.0/24 or fd00:77::/64 (got '${cidr}')`);
    }
    const key = rule.bytes.length === 4 ? 'v4' : 'v6';
    if (out[key]) throw new TypeError(`lwip-wasm relay: one IPv4 and one IPv6 subnet at most (got '${out[key]!.text}' and '${cidr}')`);
    out[key] = rule;
  }
  return out;
}

/** 127.0.0.0/8, ::1 and localhost: an address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function resolveOptions(o: RelayOptions): Resolved {
  const mode = o.mode ?? 'nat';
  if (mode !== 'nat' && mode !== 'hub' && mode !== 'tap') throw new TypeError(`lwip-wasm relay: mode must be nat, hub or tap (got ${String(mode)})`);
  const port = o.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`lwip-wasm relay: port must be 0-65535 (got ${port})`);
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0)) throw new TypeError('lwip-wasm relay: token must be a non-empty string');
  if (o.demo && mode !== 'nat') throw new TypeError('lwip-wasm relay: the demo needs nat mode (it fetches from the relay host)');
  if (o.metricsToken !== undefined && (typeof o.metricsToken !== 'string' || o.metricsToken.length === 0)) throw new TypeError('lwip-wasm relay: metricsToken must be a non-empty string');
  const host = o.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && o.token === undefined && o.origins === undefined && !o.insecureOpen) {
    throw new TypeError(`lwip-wasm relay: listening on ${host} (beyond loopback) with no token and no origins would let any page ` +
      'that can reach it use the relay; give --token or --origin, or --insecure-open to mean it');
  }
  const nat = o.nat ?? {};
  const natMtu = positive('nat.mtu', nat.mtu, 1500, 65520);
  const subnets = subnetRules(mode === 'tap' ? o.tap?.subnet : o.subnet);
  return {
    port,
    host,
    mode,
    token: o.token ?? null,
    metricsToken: o.metricsToken ?? o.token ?? null,
    maxClientsPerAddress: positive('maxClientsPerAddress', o.maxClientsPerAddress, 16),
    origins: o.origins ? [...o.origins].map((s) => s.replace(/\/+$/, '')) : null,
    allow: [...(o.allow ?? [])],
    deny: [...(o.deny ?? [])],
    maxClients: positive('maxClients', o.maxClients, 64),
    maxConnections: positive('maxConnections', o.maxConnections, 64),
    maxUdpFlows: positive('maxUdpFlows', o.maxUdpFlows, 256),
    framesPerSecond: positive('framesPerSecond', o.framesPerSecond, 10_000, Infinity),
    bytesPerSecond: positive('bytesPerSecond', o.bytesPerSecond, 4 * 1024 * 1024, Infinity),
    // A client on a larger nat MTU sends larger frames; the default follows it.
    maxFrameSize: positive('maxFrameSize', o.maxFrameSize, mode === 'nat' ? Math.max(1518, natMtu + 18) : 1518, 65535 + 14),
    clientHighWaterMark: positive('clientHighWaterMark', o.clientHighWaterMark, 2 * 1024 * 1024),
    connectionIdleTimeout: positive('connectionIdleTimeout', o.connectionIdleTimeout, 300_000),
    connectionsPerSecond: positive('connectionsPerSecond', o.connectionsPerSecond, 100, Infinity),
    silentTimeout: positive('silentTimeout', o.silentTimeout, 30_000),
    nat: {
      address: nat.address ?? '10.0.2.15',
      prefix: positive('nat.prefix', nat.prefix, 24, 30),
      gateway: nat.gateway ?? '10.0.2.2',
      ipv6: nat.ipv6 ?? 'fd00:2::/64',
      dns: nat.dns ?? true,
      lookup: nat.lookup,
      mtu: natMtu,
      connectTimeout: positive('nat.connectTimeout', nat.connectTimeout, 20_000),
      udpIdleTimeout: positive('nat.udpIdleTimeout', nat.udpIdleTimeout, 60_000),
    },
    tap: o.tap ?? {},
    subnet: subnets.v4,
    subnet6: subnets.v6,
    demo: o.demo ? (o.demo === true ? {} : o.demo) : null,
    metrics: o.metrics ?? true,
    log: o.onLog ?? (() => {}),
  };
}
