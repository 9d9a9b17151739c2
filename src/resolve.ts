// Name resolution (wasm/dns.c over lwIP's DNS client): A and AAAA lookups against the
// configured servers or the ones DHCP gave, with clear errors and timeouts.
import type { Core } from './core.js';
import { toRaw, fromRaw, parseIPv4, parseIPv6 } from './address.js';
import { CHANGE, LW_ADDR } from './gen/abi.js';
import { EAGAIN, EDESTADDRREQ, EINVAL, ENOENT, ETIMEDOUT } from './gen/constants.js';

export interface ResolveOptions {
  /** 4 for an A record, 6 for AAAA, 0 (default) for A and, if there is none, AAAA. */
  family?: 0 | 4 | 6;
  /** Milliseconds before the lookup rejects with ETIMEDOUT (default: lwIP's retries, about 7 s per server). */
  timeout?: number;
  /** Aborting rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type DnsErrorCode = 'ENOTFOUND' | 'ETIMEDOUT' | 'ENOSERVER' | 'EAGAIN';

/** A lookup failed; code says how, as Node's dns errors do. */
export class DnsError extends Error {
  /**
   * 'ENOTFOUND': the server answered that the name or record does not exist (NXDOMAIN,
   * no record of the family, or a server failure). 'ETIMEDOUT': no answer in time.
   * 'ENOSERVER': no DNS server is configured or leased. 'EAGAIN': too many lookups in flight.
   */
  readonly code: DnsErrorCode;
  readonly syscall = 'resolve';
  readonly hostname: string;
  constructor(code: DnsErrorCode, hostname: string, message: string) {
    super(message);
    this.name = 'DnsError';
    this.code = code;
    this.hostname = hostname;
  }
}

/** lwIP's DNS_MAX_NAME_LENGTH is 256 with the NUL; RFC 1035 allows 253 characters. */
const MAX_NAME = 253;

/** Checks a host name (RFC 1123 labels; '_' allowed); returns it without a trailing dot. */
export function checkHostname(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError(`lwip-wasm: a host name must be a string, got ${typeof name}`);
  const n = name.endsWith('.') && name.length > 1 ? name.slice(0, -1) : name;
  const bad = (why: string): never => {
    throw new TypeError(`lwip-wasm: invalid host name ${JSON.stringify(name)}: ${why}`);
  };
  if (n.length === 0) bad('empty');
  if (n.length > MAX_NAME) bad(`longer than ${MAX_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(n)) bad('not ASCII (give an internationalised name in its xn-- form)');
  for (const label of n.split('.')) {
    if (label.length === 0) bad('empty label');
    if (label.length > 63) bad(`label "${label.slice(0, 16)}..." longer than 63 characters`);
    if (!/^[A-Za-z0-9_-]+$/.test(label)) bad(`label "${label}" has characters other than letters, digits, '-' and '_'`);
    if (label.startsWith('-') || label.endsWith('-')) bad(`label "${label}" starts or ends with '-'`);
  }
  return n;
}

export function checkResolveOptions(o: ResolveOptions | undefined): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null) throw new TypeError('lwip-wasm: resolve options must be an object');
  if (o.family !== undefined && o.family !== 0 && o.family !== 4 && o.family !== 6) {
    throw new TypeError(`lwip-wasm: family must be 0, 4 or 6, got ${String(o.family)}`);
  }
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout > 0))) {
    throw new RangeError(`lwip-wasm: timeout must be a positive number of milliseconds, got ${String(o.timeout)}`);
  }
  if (o.signal !== undefined && !(typeof o.signal === 'object' && o.signal !== null && 'aborted' in o.signal)) {
    throw new TypeError('lwip-wasm: signal must be an AbortSignal');
  }
}

/** Parses server addresses ('8.8.8.8', '2001:db8::53', 'fe80::1%2'); throws TypeError if one is bad. */
export function parseServers(servers: unknown): ReturnType<typeof toRaw>[] {
  if (!Array.isArray(servers)) throw new TypeError('lwip-wasm: DNS servers must be an array of IP addresses');
  return servers.map((s: unknown) => {
    if (typeof s !== 'string') throw new TypeError(`lwip-wasm: a DNS server must be an IP address string, got ${typeof s}`);
    return toRaw(s, 53);
  });
}

/** Configures the servers every lookup uses (an empty list goes back to DHCP's). */
export function setServers(core: Core, servers: readonly string[]): void {
  const raws = parseServers(servers);
  const list = core.abi.stack_scratch(Math.max(1, raws.length) * LW_ADDR.size);
  raws.forEach((r, i) => core.heap.writeAddress(list + i * LW_ADDR.size, r));
  const ret = core.abi.dns_servers_set(list, raws.length);
  if (ret === -EINVAL) {
    throw new RangeError(`lwip-wasm: at most ${maxServers(core)} DNS servers, and no wildcard address (got ${servers.length})`);
  }
  core.check(ret, 'setDnsServers');
}

function maxServers(core: Core): number {
  let n = 0;
  while (n < 16 && core.abi.dns_server_get(n, 0, core.addrOut) !== -EINVAL) n++;
  return n;
}

/** The servers a lookup would use now: the configured ones, or DHCP's. */
export function getServers(core: Core): string[] {
  const out: string[] = [];
  for (let i = 0; i < 16; i++) {
    const r = core.abi.dns_server_get(i, 0, core.addrOut);
    if (r === -EINVAL) break;
    if (r === 0) {
      const a = fromRaw(core.heap.readAddress(core.addrOut));
      out.push(a.scopeId ? `${a.address}%${a.scopeId}` : a.address);
    }
  }
  return out;
}

/** Resolves name to one address of the family asked for. */
export function resolveName(core: Core, name: string, opts: ResolveOptions | undefined): Promise<ResolvedAddress> {
  checkResolveOptions(opts);
  if (typeof name === 'string') {
    // An address literal resolves to itself, as getaddrinfo does.
    const v4 = parseIPv4(name) !== null;
    const v6 = !v4 && parseIPv6(name) !== null;
    const family = opts?.family ?? 0;
    if ((v4 && family !== 6) || (v6 && family !== 4)) return Promise.resolve({ address: name, family: v4 ? 4 : 6 });
    if (v4 || v6) {
      return Promise.reject(new DnsError('ENOTFOUND', name, `lwip-wasm: ${name} is an IPv${v4 ? 4 : 6} address, not IPv${family}`));
    }
  }
  const host = checkHostname(name);
  core.assertAlive();
  const signal = opts?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const bytes = new TextEncoder().encode(host);
  const namePtr = core.abi.stack_scratch(bytes.length + 1);
  const u8 = core.heap.u8();
  u8.set(bytes, namePtr);
  u8[namePtr + bytes.length] = 0;
  const id = core.abi.dns_query_start(namePtr, opts?.family ?? 0);
  if (id < 0) {
    if (id === -EDESTADDRREQ) {
      return Promise.reject(new DnsError('ENOSERVER', host,
        `lwip-wasm: cannot resolve ${host}: no DNS server (pass dns to Stack.create, call setDnsServers, or lease one by DHCP)`));
    }
    if (id === -EAGAIN) {
      return Promise.reject(new DnsError('EAGAIN', host, `lwip-wasm: cannot resolve ${host}: too many lookups in flight; retry`));
    }
    return Promise.reject(new TypeError(`lwip-wasm: lwIP refused the host name ${JSON.stringify(host)}`));
  }
  const deadline = opts?.timeout === undefined ? Infinity : core.clock.now() + opts.timeout;
  return awaitAnswer(core, id, host, opts, deadline);
}

/** Waits on the change stream for query id's answer (C posts it when lwIP calls back). */
async function awaitAnswer(core: Core, id: number, host: string, opts: ResolveOptions | undefined, deadline: number): Promise<ResolvedAddress> {
  const signal = opts?.signal;
  let answered = false;
  try {
    for (;;) {
      const r = core.abi.dns_query_result(id, core.addrOut);
      if (r !== 0) {
        answered = true;
        if (r === 1) {
          const a = fromRaw(core.heap.readAddress(core.addrOut));
          return { address: a.address, family: a.family === 'IPv6' ? 6 : 4 };
        }
        if (r === -ENOENT) {
          const what = opts?.family === 4 ? 'A record' : opts?.family === 6 ? 'AAAA record' : 'address';
          throw new DnsError('ENOTFOUND', host, `lwip-wasm: ${host} not found: the DNS server has no ${what} for it`);
        }
        if (r === -ETIMEDOUT) throw new DnsError('ETIMEDOUT', host, `lwip-wasm: resolving ${host} timed out: no DNS server answered`);
        throw new DnsError('ENOTFOUND', host, `lwip-wasm: resolving ${host} failed (${r})`);
      }
      if (core.clock.now() >= deadline) {
        throw new DnsError('ETIMEDOUT', host, `lwip-wasm: resolving ${host} timed out after ${opts?.timeout} ms`);
      }
      await core.waitChange(CHANGE.DNS, id, deadline, signal);
    }
  } finally {
    // Given up on (timeout, abort, failure): C frees the query when lwIP calls back.
    if (!answered && core.alive) core.abi.dns_query_cancel(id);
  }
}
