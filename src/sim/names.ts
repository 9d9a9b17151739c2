// The simulated network's name service: a stack of its own with an interface on every
// segment (at the segment's last address), answering A and AAAA queries for the hosts'
// names over UDP, with the relay's DNS server (dns-packet) over a registry instead of
// the host's resolver. A query is answered with the host's address on the segment it
// came from, if the host is there; else with the address on the host's first segment.
import type { Stack } from '../stack.js';
import type { Socket } from '../socket.js';
import { AF_INET, AF_INET6, SOCK_DGRAM } from '../gen/constants.js';
import { DnsServer, NameBook, type NameSource } from '../relay/nat/dns-server.js';

/** A host's addresses, per segment in its interface order. */
export interface NameEntry {
  on: Array<{ segment: string; v4: string; v6: string | undefined }>;
}

export type Registry = (name: string) => NameEntry | undefined;

const notFound = (name: string): Error => Object.assign(new Error(`${name} is no host of this network`), { code: 'ENOTFOUND' });
const noData = (name: string): Error => Object.assign(new Error(`${name} has no address of that family`), { code: 'ENODATA' });

/** Names as seen from one segment. */
function sourceFor(segment: string, registry: Registry): NameSource {
  return {
    async lookup(name, family) {
      const entry = registry(name.toLowerCase().replace(/\.$/, ''));
      if (!entry) throw notFound(name);
      const here = entry.on.find((a) => a.segment === segment);
      const pick = (a: NameEntry['on'][number] | undefined): string | undefined => (a === undefined ? undefined : family === 4 ? a.v4 : a.v6);
      const address = pick(here) ?? entry.on.map(pick).find((x) => x !== undefined);
      if (address === undefined) throw noData(name);
      return [address];
    },
    async resolve(name) {
      if (!registry(name.toLowerCase())) throw notFound(name);
      return [];
    },
  };
}

/** Serves DNS on each of the stack's addresses (one socket per segment); close() stops. */
export function serveNames(stack: Stack, segments: Array<{ segment: string; v4: string; v6: string | undefined }>, registry: Registry): { close(): void } {
  const sockets: Socket[] = [];
  for (const s of segments) {
    const dns = new DnsServer({ source: sourceFor(s.segment, registry), names: new NameBook(64) });
    for (const [family, address] of [[AF_INET, s.v4], [AF_INET6, s.v6]] as const) {
      if (address === undefined) continue;
      const sock = stack.socket(family, SOCK_DGRAM);
      sock.bind(address, 53);
      sockets.push(sock);
      void answerLoop(sock, dns);
    }
  }
  return {
    close() {
      for (const s of sockets) if (!s.closed) s.close();
    },
  };
}

async function answerLoop(sock: Socket, dns: DnsServer): Promise<void> {
  for (;;) {
    let q;
    try {
      q = await sock.recvfrom(4096);
    } catch {
      return; // closed
    }
    const reply = await dns.answer(q.data);
    if (reply && !sock.closed) {
      try {
        sock.sendtoSync(reply, q.address, q.port);
      } catch {
        // its queue is full, or the network is closing: the client asks again
      }
    }
  }
}
