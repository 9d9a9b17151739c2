// hub: a learning L2 switch between the connected clients and nothing else. Each client
// may send only from its own MAC and addresses (the identity check), so the MAC table
// is simply who owns which MAC.
import { isGroupMac, macText, type Parsed } from '../frame.js';
import { guardPacket } from '../guard.js';
import type { Drop, Mode, ModeClient, SessionPort } from './mode.js';

export class HubMode implements Mode {
  readonly name = 'hub' as const;
  readonly terminates = false;
  readonly #clients = new Set<ModeClient>();

  filter(client: ModeClient, p: Parsed, frame: Uint8Array): Drop | null {
    const why = client.identity.check(p);
    if (why !== null) return { reason: p.kind === 'malformed' ? 'malformed' : p.kind === 'other' ? 'unsupported' : 'spoofed', detail: why };
    const guarded = p.kind === 'ip' ? guardPacket(client.identity, p.ip, frame) : null;
    return guarded === null ? null : { reason: 'guard', detail: guarded };
  }

  async open(client: ModeClient): Promise<SessionPort> {
    this.#clients.add(client);
    return {
      send: (frame) => this.#forward(client, frame),
      close: () => this.#clients.delete(client),
    };
  }

  #forward(from: ModeClient, frame: Uint8Array): void {
    const dst = frame.subarray(0, 6);
    if (!isGroupMac(dst)) {
      const mac = macText(dst);
      for (const c of this.#clients) {
        if (c.identity.mac === mac) {
          if (c !== from) c.deliver(frame);
          return;
        }
      }
    }
    for (const c of this.#clients) if (c !== from) c.deliver(frame); // group or unknown: flood
  }

  async close(): Promise<void> {
    this.#clients.clear();
  }
}
