// An interface that takes the flows its peer sends to any address (wasm/intercept.c):
// the relay's per-client gateway is built on it. TCP connection attempts wait for a
// verdict (the real connection's outcome); allowed ones come out of the catch-all
// listener's accept() with the original destination as their local address. UDP
// datagrams are handed over one at a time, and replies go back from any address.
import type { Core } from './core.js';
import type { Socket } from './socket.js';
import { fromRaw, toRaw, type SocketAddress } from './address.js';
import { CHANGE, LW_FLOW, VERDICT, readLwFlow, writeLwFlow, type LwAddr } from './gen/abi.js';
import { AF_INET6, EAGAIN } from './gen/constants.js';

/** What becomes of a held connection attempt, or of a datagram that cannot be delivered. */
export type InterceptVerdict = 'allow' | 'reset' | 'net-unreachable' | 'host-unreachable' | 'port-unreachable' | 'prohibited' | 'drop';

const VERDICTS: Record<InterceptVerdict, number> = {
  allow: VERDICT.ALLOW,
  reset: VERDICT.RESET,
  'net-unreachable': VERDICT.NET_UNREACH,
  'host-unreachable': VERDICT.HOST_UNREACH,
  'port-unreachable': VERDICT.PORT_UNREACH,
  prohibited: VERDICT.PROHIBITED,
  drop: VERDICT.DROP,
};

/** A TCP connection attempt held until a verdict: from the client (src) to dst. */
export interface HeldConnect {
  readonly id: number;
  readonly src: SocketAddress;
  readonly dst: SocketAddress;
}

/** A UDP datagram from the client (src) for dst. */
export interface InterceptedDatagram {
  readonly src: SocketAddress;
  readonly dst: SocketAddress;
  readonly data: Uint8Array;
}

/** Unmaps ::ffff:a.b.c.d (how the dual-stack listener reports IPv4) to a.b.c.d. */
export function plainAddress(a: SocketAddress): SocketAddress {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a.address);
  return m ? { address: m[1]!, port: a.port, family: 'IPv4' } : a;
}

const flowAddr = (a: LwAddr): SocketAddress => {
  const v6 = a.family === AF_INET6;
  return fromRaw({ family: a.family, port: a.port, scope: a.scope, bytes: a.addr.subarray(0, v6 ? 16 : 4) });
};

const lwAddr = (a: SocketAddress): LwAddr => {
  const raw = toRaw(a.address, a.port);
  return { family: raw.family, port: raw.port, scope: raw.scope, addr: raw.bytes };
};

/** Held SYNs read per call. */
const SYN_BATCH = 64;
/** The largest UDP payload (IPv4: 65535 - 20 - 8). */
const UDP_MAX = 65507;

export class Interceptor {
  readonly #core: Core;
  readonly #ifindex: number;
  /** The catch-all listener: accept() gives each allowed connection. */
  readonly listener: Socket;
  #closed = false;

  /** @internal made by stack.intercept() */
  constructor(core: Core, ifindex: number, listener: Socket) {
    this.#core = core;
    this.#ifindex = ifindex;
    this.listener = listener;
  }

  get closed(): boolean {
    return this.#closed || !this.#core.alive;
  }

  /**
   * Resolves once connection attempts or datagrams may be waiting (take them with
   * takeConnects and takeDatagram), or with false at the deadline (this clock's ms).
   */
  async wait(deadline = Infinity, signal?: AbortSignal): Promise<boolean> {
    return this.#core.waitChange(CHANGE.INTERCEPT, this.#ifindex, deadline, signal);
  }

  /** Connection attempts held since the last call. */
  takeConnects(): HeldConnect[] {
    const core = this.#core;
    const out: HeldConnect[] = [];
    const buf = core.heap.alloc(SYN_BATCH * LW_FLOW.size);
    try {
      for (;;) {
        const n = core.check(core.abi.intercept_syns(this.#ifindex, buf, SYN_BATCH), 'intercept');
        for (let i = 0; i < n; i++) {
          const f = readLwFlow(core.heap, buf + i * LW_FLOW.size);
          out.push({ id: f.id, src: flowAddr(f.src), dst: flowAddr(f.dst) });
        }
        if (n < SYN_BATCH) return out;
      }
    } finally {
      core.abi.free(buf);
    }
  }

  /** Decides a held attempt: 'allow' lets the SYN through (lwIP answers SYN-ACK). */
  verdict(id: number, verdict: InterceptVerdict): void {
    const core = this.#core;
    core.check(core.abi.intercept_verdict(this.#ifindex, id, VERDICTS[verdict]), 'intercept');
  }

  /** The oldest datagram from the client, or null if none is queued. */
  takeDatagram(): InterceptedDatagram | null {
    const core = this.#core;
    const meta = core.heap.alloc(LW_FLOW.size);
    try {
      const buf = core.abi.stack_scratch(UDP_MAX);
      const n = core.abi.intercept_udp_recv(this.#ifindex, meta, buf, UDP_MAX);
      if (n === -EAGAIN) return null;
      core.check(n, 'intercept');
      const f = readLwFlow(core.heap, meta);
      return { src: flowAddr(f.src), dst: flowAddr(f.dst), data: core.heap.u8().slice(buf, buf + Math.min(n, UDP_MAX)) };
    } finally {
      core.abi.free(meta);
    }
  }

  /** Sends the client a datagram that appears to come from `from` (the remote it answers for). */
  sendDatagram(from: SocketAddress, to: SocketAddress, data: Uint8Array): void {
    const core = this.#core;
    const meta = core.heap.alloc(LW_FLOW.size);
    try {
      writeLwFlow(core.heap, meta, { id: 0, src: lwAddr(from), dst: lwAddr(to) });
      const buf = core.abi.stack_scratch(Math.max(1, data.byteLength));
      core.heap.u8().set(data, buf);
      core.check(core.abi.intercept_udp_send(this.#ifindex, meta, buf, data.byteLength), 'sendto');
    } finally {
      core.abi.free(meta);
    }
  }

  /** Tells the client its datagram from src for dst could not be delivered (an ICMP error). */
  unreachable(src: SocketAddress, dst: SocketAddress, verdict: Exclude<InterceptVerdict, 'allow' | 'reset' | 'drop'>): void {
    const core = this.#core;
    const meta = core.heap.alloc(LW_FLOW.size);
    try {
      writeLwFlow(core.heap, meta, { id: 0, src: lwAddr(src), dst: lwAddr(dst) });
      core.check(core.abi.intercept_udp_unreach(this.#ifindex, meta, VERDICTS[verdict]), 'intercept');
    } finally {
      core.abi.free(meta);
    }
  }

  /** Stops intercepting and closes the listener. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#core.alive) return;
    this.#core.abi.intercept_close(this.#ifindex);
    if (!this.listener.closed) this.listener.close();
  }
}
