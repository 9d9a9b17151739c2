// The DNS server of a client's gateway: it answers the client's queries itself, through
// the relay host's resolver (node:dns: lookup for A and AAAA, as Node programs resolve,
// so /etc/hosts counts; the host's configured servers for the other types). Names that
// resolve to a denied address are still answered (the connection is what the policy
// judges); every answer is remembered so a rule naming a host can match a connection to
// the address the client was given for it.
import { lookup as dnsLookup, Resolver } from 'node:dns/promises';
import { Buffer } from 'node:buffer';
import packet from 'dns-packet';
import type { Answer, DecodedPacket, Question, RecordType } from 'dns-packet';

/** How names are resolved: lookup for A/AAAA, resolve for the rest. */
export interface NameSource {
  lookup(name: string, family: 4 | 6): Promise<string[]>;
  resolve(name: string, type: RecordType): Promise<Answer[]>;
}

/** Addresses the client was given for names, newest first (bounded). */
export class NameBook {
  readonly #byAddress = new Map<string, string>();
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  remember(address: string, name: string): void {
    this.#byAddress.delete(address);
    this.#byAddress.set(address, name.toLowerCase());
    if (this.#byAddress.size > this.#max) this.#byAddress.delete(this.#byAddress.keys().next().value as string);
  }

  /** The name the client resolved to address, if it did. */
  nameOf(address: string): string | undefined {
    return this.#byAddress.get(address);
  }
}

const TTL = 60;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const RCODE_REFUSED = 5;
const ANSWERED_TYPES = new Set<RecordType>(['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'CAA', 'NAPTR']);

/** node:dns as a NameSource (the relay host's resolver). */
export function hostResolver(): NameSource {
  const resolver = new Resolver();
  return {
    async lookup(name, family) {
      const all = await dnsLookup(name, { family, all: true, verbatim: true });
      return all.map((a) => a.address);
    },
    async resolve(name, type) {
      // node:dns gives typed records; turn each into dns-packet's answer shape.
      switch (type) {
        case 'CNAME': return (await resolver.resolveCname(name)).map((data) => ({ type, name, ttl: TTL, data }));
        case 'NS': return (await resolver.resolveNs(name)).map((data) => ({ type, name, ttl: TTL, data }));
        case 'PTR': return (await resolver.resolvePtr(name)).map((data) => ({ type, name, ttl: TTL, data }));
        case 'TXT': return (await resolver.resolveTxt(name)).map((data) => ({ type, name, ttl: TTL, data }));
        case 'MX': return (await resolver.resolveMx(name)).map((m) => ({ type, name, ttl: TTL, data: { preference: m.priority, exchange: m.exchange } }));
        case 'SRV': return (await resolver.resolveSrv(name)).map((s) => ({ type, name, ttl: TTL, data: { priority: s.priority, weight: s.weight, port: s.port, target: s.name } }));
        case 'CAA': return (await resolver.resolveCaa(name)).map((c) => ({
          type, name, ttl: TTL,
          data: { flags: c.critical, tag: (c.issue !== undefined ? 'issue' : c.issuewild !== undefined ? 'issuewild' : 'iodef') as 'issue', value: c.issue ?? c.issuewild ?? c.iodef ?? '' },
        }));
        case 'NAPTR': return (await resolver.resolveNaptr(name)).map((n) => ({
          type, name, ttl: TTL,
          data: { order: n.order, preference: n.preference, flags: n.flags, services: n.service, regexp: n.regexp, replacement: n.replacement },
        }));
        case 'SOA': {
          const s = await resolver.resolveSoa(name);
          return [{ type, name, ttl: TTL, data: { mname: s.nsname, rname: s.hostmaster, serial: s.serial, refresh: s.refresh, retry: s.retry, expire: s.expire, minimum: s.minttl } }];
        }
        default: return [];
      }
    },
  };
}

export interface DnsServerOptions {
  source: NameSource;
  names: NameBook;
  /** Queries in flight at once; beyond, REFUSED (default 32). */
  maxInFlight?: number;
}

/** Answers DNS queries (wire format in, wire format out). */
export class DnsServer {
  readonly #source: NameSource;
  readonly #names: NameBook;
  readonly #max: number;
  #inFlight = 0;

  constructor(o: DnsServerOptions) {
    this.#source = o.source;
    this.#names = o.names;
    this.#max = o.maxInFlight ?? 32;
  }

  /** The reply to a query, or null for something that is not one (no reply is due). */
  async answer(query: Uint8Array): Promise<Uint8Array | null> {
    let q: DecodedPacket;
    try {
      q = packet.decode(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
    } catch {
      return null;
    }
    if (q.type !== 'query' || !q.questions) return null;
    const reply = (rcode: number, answers: Answer[] = []): Uint8Array => packet.encode({
      type: 'response', id: q.id,
      flags: packet.RECURSION_AVAILABLE | (q.flag_rd ? packet.RECURSION_DESIRED : 0) | rcode,
      questions: q.questions, answers,
    });
    const question = q.questions[0];
    if (q.questions.length !== 1 || !question) return reply(RCODE_NOTIMP);
    if (!ANSWERED_TYPES.has(question.type)) return reply(RCODE_NOTIMP);
    if (this.#inFlight >= this.#max) return reply(RCODE_REFUSED);
    this.#inFlight++;
    try {
      return reply(0, await this.#resolve(question));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'NXDOMAIN') return reply(RCODE_NXDOMAIN);
      if (code === 'ENODATA') return reply(0);
      return reply(RCODE_SERVFAIL);
    } finally {
      this.#inFlight--;
    }
  }

  async #resolve(question: Question): Promise<Answer[]> {
    const { name, type } = question;
    if (type === 'A' || type === 'AAAA') {
      const addrs = await this.#source.lookup(name, type === 'A' ? 4 : 6);
      for (const a of addrs) this.#names.remember(a, name);
      return addrs.map((data) => ({ type, name, ttl: TTL, data }));
    }
    return this.#source.resolve(name, type);
  }
}
