// stack.dns: node:dns's lookup() and promises.lookup() over a stack, which node:net and
// node:dgram over the stack use as Node's use dns.lookup. Names go to the stack's own
// resolver (stack.resolve); 'localhost' is the stack's own loopback (127.0.0.1 and ::1),
// as it is on any host, never the machine's. Node-only.
import dnsNode from 'node:dns';
import type { SocketProvider } from './provider.js';
import { DnsError } from '../index.js';
import { ipFamily } from './host.js';
import { Lifetime, whenSettled } from './lifetime.js';
import { dnsException, EAI, errInvalidArgType, errInvalidArgValue } from './node-errors.js';
import { validateBoolean, validateFunction, validateNumber, validateOneOf, validateString } from './validators.js';

export interface LookupAddress {
  address: string;
  family: number;
}

export interface LookupOptions {
  /** 4, 6 or 0 (either; also 'IPv4' / 'IPv6'). */
  family?: number | 'IPv4' | 'IPv6';
  /** dns.ADDRCONFIG, dns.V4MAPPED, dns.ALL. */
  hints?: number;
  /** Every address instead of the first. */
  all?: boolean;
  /** 'verbatim' (the resolver's order: IPv4 first here), 'ipv4first' or 'ipv6first'. */
  order?: 'verbatim' | 'ipv4first' | 'ipv6first';
  /** true: 'verbatim'; false: 'ipv4first'. */
  verbatim?: boolean;
}

export type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup's shape, which net.connect's and dgram.createSocket's `lookup` options take. */
export type LookupFunction = (
  hostname: string,
  options: LookupOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** node:dns's lookup over one stack. */
export interface LwipDns {
  readonly stack: SocketProvider;
  lookup(hostname: string, callback: LookupCallback): object;
  lookup(hostname: string, family: number, callback: LookupCallback): object;
  lookup(hostname: string, options: LookupOptions, callback: LookupCallback): object;
  readonly promises: {
    lookup(hostname: string, options?: LookupOptions | number): Promise<LookupAddress | LookupAddress[]>;
  };
  readonly ADDRCONFIG: number;
  readonly V4MAPPED: number;
  readonly ALL: number;
}

export const { ADDRCONFIG, V4MAPPED, ALL } = dnsNode;
const ORDERS = ['verbatim', 'ipv4first', 'ipv6first'] as const;

interface Query {
  hostname: string;
  family: 0 | 4 | 6;
  hints: number;
  all: boolean;
  order: (typeof ORDERS)[number];
}

/** Node's argument handling for lookup(hostname[, options], callback). */
function parseArgs(hostname: unknown, options: unknown, callback: unknown, argc: number): [Query, LookupCallback] {
  if (hostname) validateString(hostname, 'hostname');
  const q: Query = { hostname: (hostname as string) || '', family: 0, hints: 0, all: false, order: 'verbatim' };
  let cb = callback;
  if (typeof options === 'function') {
    cb = options;
  } else if (typeof options === 'number') {
    validateFunction(cb, 'callback');
    validateOneOf(options, 'family', [0, 4, 6]);
    q.family = options as 0 | 4 | 6;
  } else if (options !== undefined && typeof options !== 'object') {
    validateFunction(argc === 2 ? options : cb, 'callback');
    throw errInvalidArgType('options', ['integer', 'object'], options);
  } else {
    validateFunction(cb, 'callback');
    readOptions(q, options as LookupOptions | null | undefined);
  }
  return [q, cb as LookupCallback];
}

function readOptions(q: Query, o: LookupOptions | null | undefined): void {
  if (o?.hints != null) {
    validateNumber(o.hints, 'options.hints');
    q.hints = o.hints >>> 0;
    if ((q.hints & ~(ADDRCONFIG | ALL | V4MAPPED)) !== 0) {
      throw errInvalidArgValue('hints', q.hints);
    }
  }
  if (o?.family != null) {
    if (o.family === 'IPv4') q.family = 4;
    else if (o.family === 'IPv6') q.family = 6;
    else {
      validateOneOf(o.family, 'options.family', [0, 4, 6]);
      q.family = o.family as 0 | 4 | 6;
    }
  }
  if (o?.all != null) {
    validateBoolean(o.all, 'options.all');
    q.all = o.all;
  }
  if (o?.verbatim != null) {
    validateBoolean(o.verbatim, 'options.verbatim');
    q.order = o.verbatim ? 'verbatim' : 'ipv4first';
  }
  if (o?.order != null) {
    validateOneOf(o.order, 'options.order', ORDERS);
    q.order = o.order;
  }
}

/** Families the stack has a usable (not loopback, not link-local) address of, for ADDRCONFIG. */
function configuredFamilies(stack: SocketProvider): { v4: boolean; v6: boolean } {
  let v4 = false;
  let v6 = false;
  for (const i of stack.interfaces ?? []) {
    if (i.ipv4 && !i.ipv4.address.startsWith('127.') && i.ipv4.address !== '0.0.0.0') v4 = true;
    if (i.ipv6.some((a) => !/^fe[89ab]/i.test(a) && a !== '::1')) v6 = true;
  }
  return { v4, v6 };
}

function isLocalhost(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'localhost' || n === 'localhost.';
}

/** The addresses for q, in the order asked for; rejects with Node's getaddrinfo error. */
async function resolveAll(stack: SocketProvider, q: Query): Promise<LookupAddress[]> {
  let families: Array<4 | 6> = q.family === 4 ? [4] : q.family === 6 ? [6] : [4, 6];
  const mapped = q.family === 6 && (q.hints & V4MAPPED) !== 0;
  let found: LookupAddress[] = [];
  if (isLocalhost(q.hostname)) {
    // the stack's own loopback, as /etc/hosts gives any host's
    found = families.map((f) => ({ address: f === 4 ? '127.0.0.1' : '::1', family: f }));
  } else {
    if (q.family === 0 && (q.hints & ADDRCONFIG) !== 0) {
      const have = configuredFamilies(stack);
      // as getaddrinfo: with no usable address of either family, ADDRCONFIG filters nothing
      if (have.v4 !== have.v6) families = have.v4 ? [4] : [6];
    }
    if (!stack.resolve) throw dnsException(EAI.NONAME, 'getaddrinfo', q.hostname);
    const asked = mapped ? [6, 4] as const : families;
    const results = await Promise.allSettled(asked.map((f) => stack.resolve!(q.hostname, { family: f })));
    let firstError: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        const f = asked[i]!;
        if (f === 4 && mapped) found.push({ address: `::ffff:${r.value.address}`, family: 6 });
        else found.push({ address: r.value.address, family: f });
      } else {
        firstError ??= r.reason;
      }
    });
    if (mapped) {
      // V4MAPPED: mapped IPv4 addresses only when there is no IPv6 one, unless ALL
      const v6 = found.filter((a) => !a.address.startsWith('::ffff:'));
      if (v6.length > 0 && (q.hints & ALL) === 0) found = v6;
    }
    if (found.length === 0) throw toLookupError(firstError, q.hostname);
  }
  if (q.order === 'ipv6first') found.sort((a, b) => b.family - a.family);
  else if (q.order === 'ipv4first') found.sort((a, b) => a.family - b.family);
  return found;
}

/**
 * A stack DnsError as getaddrinfo's: a name the server denies, or any name on a stack with
 * no DNS server (as on a host with neither a hosts entry nor a resolver), is ENOTFOUND; no
 * answer in time is EAI_AGAIN.
 */
function toLookupError(err: unknown, hostname: string): unknown {
  if (err instanceof DnsError) {
    const found = err.code === 'ENOTFOUND' || err.code === 'ENOSERVER';
    return dnsException(found ? EAI.NONAME : EAI.AGAIN, 'getaddrinfo', hostname);
  }
  if (err instanceof TypeError) return dnsException(EAI.NONAME, 'getaddrinfo', hostname); // not a valid name
  return err;
}

const modules = new WeakMap<SocketProvider, LwipDns>();

/** The node:dns lookup functions for a stack (one per stack; stack.dns returns the same one). */
export function createDns(stack: SocketProvider): LwipDns {
  const known = modules.get(stack);
  if (known) return known;
  const lifetime = new Lifetime();

  function lookup(hostname: unknown, options?: unknown, callback?: unknown): object {
    // eslint-disable-next-line prefer-rest-params
    const [q, cb] = parseArgs(hostname, options, callback, arguments.length);
    if (!q.hostname) {
      if (q.all) process.nextTick(cb, null, []);
      else process.nextTick(cb, null, null, q.family === 6 ? 6 : 4);
      return {};
    }
    const literal = ipFamily(q.hostname);
    if (literal) {
      if (q.all) process.nextTick(cb, null, [{ address: q.hostname, family: literal }]);
      else process.nextTick(cb, null, q.hostname, literal);
      return {};
    }
    // a lookup in flight keeps the process alive, as Node's getaddrinfo request does
    whenSettled(lifetime.track(resolveAll(stack, q)), (found) => {
      if (q.all) cb(null, found);
      else cb(null, found[0]!.address, found[0]!.family);
    }, (err: unknown) => cb(err as NodeJS.ErrnoException, undefined as unknown as string));
    return {};
  }

  function promiseLookup(hostname: unknown, options?: unknown): Promise<LookupAddress | LookupAddress[]> {
    if (hostname) validateString(hostname, 'hostname');
    const q: Query = { hostname: (hostname as string) || '', family: 0, hints: 0, all: false, order: 'verbatim' };
    if (typeof options === 'number') {
      validateOneOf(options, 'family', [0, 4, 6]);
      q.family = options as 0 | 4 | 6;
    } else if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw errInvalidArgType('options', ['integer', 'object'], options);
    } else {
      readOptions(q, options as LookupOptions | undefined);
    }
    if (!q.hostname) return Promise.resolve(q.all ? [] : { address: null as unknown as string, family: q.family === 6 ? 6 : 4 });
    const literal = ipFamily(q.hostname);
    if (literal) {
      const one = { address: q.hostname, family: literal };
      return Promise.resolve(q.all ? [one] : one);
    }
    return lifetime.track(resolveAll(stack, q)).then((found) => (q.all ? found : found[0]!));
  }

  const dns: LwipDns = {
    stack,
    lookup: lookup as LwipDns['lookup'],
    promises: { lookup: promiseLookup as LwipDns['promises']['lookup'] },
    ADDRCONFIG, V4MAPPED, ALL,
  };
  modules.set(stack, dns);
  return dns;
}
