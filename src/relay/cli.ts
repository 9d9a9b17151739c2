// `lwip-wasm relay ...`: the relay from the command line. Options map one to one onto
// createRelay's; lists (--allow, --deny, --origin) repeat or take commas.
import { parseArgs } from 'node:util';
import { createRelay } from './server.js';
import type { RelayMode, RelayOptions } from './options.js';

export const USAGE = `Usage: lwip-wasm relay [options]

  --port N                 port to listen on (default 8080)
  --host ADDR              address to listen on (default 127.0.0.1)
  --mode nat|hub|tap       nat: a gateway per client, flows judged and opened by the relay
                           (default); hub: clients only; tap: a TAP device
  --token SECRET           clients must send ?token=SECRET (or Authorization: Bearer SECRET)
  --origin URL             a page origin allowed to connect (repeatable; '*' for any; default:
                           the relay's own, http://127.0.0.1:PORT on loopback)
  --insecure-open          listen beyond loopback with neither --token nor --origin
  --metrics-token SECRET   GET /metrics takes this token (default: --token; with neither, loopback only)
  --allow RULE             allow a destination denied by default: CIDR[:port[-port]], tcp/ udp/ icmp/ prefix
  --deny RULE              deny a destination allowed by default (same syntax)
  --max-clients N          clients at once (64)
  --max-clients-per-address N   clients at once from one source address (16)
  --max-connections N      TCP connections per client (64)
  --max-udp-flows N        nat: UDP flows per client (256)
  --frames-per-second N    per client (10000)
  --bytes-per-second N     per client (4194304)
  --max-frame-size N       bytes, ethernet header included (1518, or the nat MTU + 18 if larger)
  --client-high-water-mark N   bytes queued towards a client before frames to it drop (2097152)
  --connection-idle-timeout MS idle time after which a TCP connection stops counting (300000)
  --connections-per-second N   new TCP connections per client per second (100)
  --silent-timeout MS      close a client that has sent nothing this long after connecting (30000)
  --nat-address A --nat-prefix N --nat-gateway G   what the gateway's DHCP hands out (10.0.2.15/24 via 10.0.2.2)
  --nat-ipv6 CIDR          nat: the IPv6 /64 clients take addresses from (fd00:2::/64); 'off' for none
  --mtu N                  nat: the clients' MTU, handed out by DHCP and RA (1500; up to 65520)
  --no-dns                 nat: no DNS server on the gateway
  --connect-timeout MS     nat: how long a real TCP connect may take (20000)
  --udp-idle-timeout MS    nat: how long an idle UDP flow lasts (60000)
  --tap NAME               tap: the device (default: a new tapN)
  --tap-attach             tap: only attach to an existing device   --tap-up  set it up (CAP_NET_ADMIN)
  --subnet CIDR            hub, tap: clients' addresses must be in it (once for IPv4, once for IPv6;
                           tap without an IPv6 one allows link-local IPv6 only)
  --demo                   also serve a browser demo at / (nat mode)
  --demo-dist DIR          the built package the demo serves (default: the relay's own)
  --no-metrics             do not serve GET /metrics
  --quiet                  no log lines
`;

function list(v: string[] | undefined): string[] | undefined {
  return v?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new RangeError(`--${name} takes a whole number (got '${v}')`);
  return Number(v);
}

/** Parses relay arguments into options (throws TypeError/RangeError on bad input). */
export function parseRelayArgs(argv: readonly string[]): RelayOptions & { help?: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, mode: { type: 'string' }, token: { type: 'string' },
      origin: { type: 'string', multiple: true }, allow: { type: 'string', multiple: true }, deny: { type: 'string', multiple: true },
      'max-clients': { type: 'string' }, 'max-connections': { type: 'string' }, 'max-clients-per-address': { type: 'string' },
      'insecure-open': { type: 'boolean' }, 'metrics-token': { type: 'string' },
      'frames-per-second': { type: 'string' }, 'bytes-per-second': { type: 'string' }, 'max-frame-size': { type: 'string' },
      'client-high-water-mark': { type: 'string' }, 'connection-idle-timeout': { type: 'string' },
      'connections-per-second': { type: 'string' }, 'silent-timeout': { type: 'string' },
      'nat-address': { type: 'string' }, 'nat-prefix': { type: 'string' }, 'nat-gateway': { type: 'string' },
      mtu: { type: 'string' }, 'no-dns': { type: 'boolean' }, 'nat-ipv6': { type: 'string' },
      'connect-timeout': { type: 'string' }, 'udp-idle-timeout': { type: 'string' }, 'max-udp-flows': { type: 'string' },
      'demo-dist': { type: 'string' },
      tap: { type: 'string' }, 'tap-attach': { type: 'boolean' }, 'tap-up': { type: 'boolean' }, subnet: { type: 'string', multiple: true },
      demo: { type: 'boolean' }, 'no-metrics': { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const o: RelayOptions & { help?: boolean } = {};
  const set = <K extends keyof RelayOptions>(k: K, v: RelayOptions[K] | undefined): void => {
    if (v !== undefined) o[k] = v;
  };
  if (values.help) o.help = true;
  set('port', int('port', values.port));
  set('host', values.host);
  if (values.mode !== undefined) {
    if (!['nat', 'hub', 'tap'].includes(values.mode)) throw new TypeError(`--mode must be nat, hub or tap (got '${values.mode}')`);
    o.mode = values.mode as RelayMode;
  }
  set('token', values.token);
  set('origins', list(values.origin));
  set('allow', list(values.allow));
  set('deny', list(values.deny));
  set('maxClients', int('max-clients', values['max-clients']));
  set('maxClientsPerAddress', int('max-clients-per-address', values['max-clients-per-address']));
  set('metricsToken', values['metrics-token']);
  if (values['insecure-open']) o.insecureOpen = true;
  set('maxConnections', int('max-connections', values['max-connections']));
  set('maxUdpFlows', int('max-udp-flows', values['max-udp-flows']));
  set('framesPerSecond', int('frames-per-second', values['frames-per-second']));
  set('bytesPerSecond', int('bytes-per-second', values['bytes-per-second']));
  set('maxFrameSize', int('max-frame-size', values['max-frame-size']));
  set('clientHighWaterMark', int('client-high-water-mark', values['client-high-water-mark']));
  set('connectionIdleTimeout', int('connection-idle-timeout', values['connection-idle-timeout']));
  set('connectionsPerSecond', int('connections-per-second', values['connections-per-second']));
  set('silentTimeout', int('silent-timeout', values['silent-timeout']));
  const nat: NonNullable<RelayOptions['nat']> = {};
  if (values['nat-address'] !== undefined) nat.address = values['nat-address'];
  const prefix = int('nat-prefix', values['nat-prefix']);
  if (prefix !== undefined) nat.prefix = prefix;
  if (values['nat-gateway'] !== undefined) nat.gateway = values['nat-gateway'];
  if (values['no-dns']) nat.dns = false;
  if (values['nat-ipv6'] !== undefined) nat.ipv6 = values['nat-ipv6'] === 'off' ? false : values['nat-ipv6'];
  const mtu = int('mtu', values.mtu);
  if (mtu !== undefined) nat.mtu = mtu;
  const connectTimeout = int('connect-timeout', values['connect-timeout']);
  if (connectTimeout !== undefined) nat.connectTimeout = connectTimeout;
  const udpIdle = int('udp-idle-timeout', values['udp-idle-timeout']);
  if (udpIdle !== undefined) nat.udpIdleTimeout = udpIdle;
  if (Object.keys(nat).length) o.nat = nat;
  if (values.tap !== undefined || values['tap-attach'] || values['tap-up']) {
    o.tap = { attach: values['tap-attach'] ?? false, up: values['tap-up'] ?? false };
    if (values.tap !== undefined) o.tap.name = values.tap;
  }
  const subnets = list(values.subnet);
  if (subnets !== undefined) {
    const subnet = subnets.length === 1 ? subnets[0]! : subnets;
    if (o.mode === 'tap') o.tap = { ...o.tap, subnet };
    else o.subnet = subnet;
  }
  if (values['demo-dist'] !== undefined) o.demo = { dist: values['demo-dist'] };
  else if (values.demo) o.demo = true;
  if (values['no-metrics']) o.metrics = false;
  if (!values.quiet) o.onLog = (line) => console.error(`${new Date().toISOString()} ${line}`);
  return o;
}

/** The CLI: `lwip-wasm relay ...`. Resolves with the exit code once the relay stops. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'relay') {
    console.error(command === undefined || command === '--help' || command === '-h' ? USAGE : `unknown command '${command}'\n\n${USAGE}`);
    return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
  let options: RelayOptions & { help?: boolean };
  try {
    options = parseRelayArgs(rest);
  } catch (err) {
    console.error(`lwip-wasm relay: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const { help: _help, ...relayOptions } = options;
  let relay;
  try {
    relay = await createRelay(relayOptions);
  } catch (err) {
    console.error(`lwip-wasm relay: ${(err as Error).message}`);
    return 1;
  }
  // Print where it listens on stdout (scripts read it), everything else on stderr.
  console.log(relay.demoUrl ? `relay ${relay.url} demo ${relay.demoUrl}` : `relay ${relay.url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void relay.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
