// A NAT router in the simulated network, the way the relay's gateway does it but with
// the router's own stack sockets on the outside: each inside interface intercepts the
// TCP connections and UDP flows its hosts send anywhere; each is opened again from the
// router (so it leaves from the router's outside address, on a port of its own) and the
// two are spliced. A connect's outcome becomes the inside host's: refused is RST,
// unreachable is the ICMP error, silence is silence. UDP flows are forgotten after
// idleMs without a datagram; only the destination's replies come back (a port- and
// address-restricted NAT). Nothing from outside reaches an inside host unasked.
import type { Stack } from '../stack.js';
import type { Socket } from '../socket.js';
import type { NetInterface } from '../interface.js';
import type { Clock, ClockTimer } from '../clock.js';
import { plainAddress, type HeldConnect, type InterceptedDatagram, type Interceptor, type InterceptVerdict } from '../intercept.js';
import type { SocketAddress } from '../address.js';
import { SocketError } from '../errors.js';
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_LINGER, SHUT_WR } from '../gen/constants.js';

export interface NatCounters {
  /** TCP connections carried, and those the outside refused or never answered. */
  connections: number;
  refused: number;
  /** UDP flows opened. */
  flows: number;
}

const keyOf = (src: SocketAddress, dst: SocketAddress): string => `${src.address}|${src.port}|${dst.address}|${dst.port}`;

function verdictFor(err: unknown): InterceptVerdict {
  const code = err instanceof SocketError ? err.code : '';
  switch (code) {
    case 'ECONNREFUSED': return 'reset';
    case 'ENETUNREACH': return 'net-unreachable';
    case 'ETIMEDOUT': return 'drop';
    default: return 'host-unreachable';
  }
}

/** Closes a socket so its peer gets an RST (SO_LINGER 0), as a NAT passes a reset on. */
function reset(s: Socket): void {
  if (s.closed) return;
  try {
    s.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
  } catch {
    // already gone
  }
  s.close();
}

/** Copies one direction until its end; a reset on one side resets the other. */
async function pump(from: Socket, to: Socket): Promise<'eof' | 'reset'> {
  for (;;) {
    let data: Uint8Array;
    try {
      data = await from.recv(65536);
    } catch {
      return 'reset';
    }
    if (data.length === 0) {
      try {
        to.shutdown(SHUT_WR);
      } catch {
        return 'reset';
      }
      return 'eof';
    }
    try {
      await to.send(data);
    } catch {
      return 'reset';
    }
  }
}

async function splice(a: Socket, b: Socket): Promise<void> {
  const ab = pump(a, b);
  const ba = pump(b, a);
  const first = await Promise.race([ab, ba]);
  if (first === 'reset') {
    reset(a);
    reset(b);
    return;
  }
  const results = await Promise.all([ab, ba]);
  if (results.includes('reset')) {
    reset(a);
    reset(b);
  } else {
    a.close();
    b.close();
  }
}

interface Flow {
  sock: Socket;
  src: SocketAddress;
  dst: SocketAddress;
  icept: Interceptor;
  last: number;
}

export class NatRouter {
  readonly #stack: Stack;
  readonly #clock: Clock;
  readonly #idleMs: number;
  readonly #intercepts: Interceptor[] = [];
  readonly #pending = new Map<string, { out: Socket; ids: number[] }>();
  readonly #flows = new Map<string, Flow>();
  readonly #live = new Set<Socket>();
  #sweeper: ClockTimer | undefined;
  #closed = false;
  readonly counters: NatCounters = { connections: 0, refused: 0, flows: 0 };

  constructor(stack: Stack, inside: NetInterface[], clock: Clock, idleMs: number) {
    this.#stack = stack;
    this.#clock = clock;
    this.#idleMs = idleMs;
    for (const iface of inside) {
      const icept = stack.intercept(iface);
      this.#intercepts.push(icept);
      void this.#acceptLoop(icept);
      void this.#interceptLoop(icept);
    }
  }

  /** The router's own sockets (a process bounce on the router leaves them alone). */
  owns(s: Socket): boolean {
    return this.#live.has(s) || this.#intercepts.some((i) => i.listener === s);
  }

  #track(s: Socket): Socket {
    this.#live.add(s);
    return s;
  }

  async #interceptLoop(icept: Interceptor): Promise<void> {
    while (!this.#closed) {
      try {
        for (const h of icept.takeConnects()) this.#held(icept, h);
        for (let d = icept.takeDatagram(), n = 0; d && n < 256; d = icept.takeDatagram(), n++) this.#datagram(icept, d);
        await icept.wait();
      } catch {
        return; // the stack is gone
      }
    }
  }

  #held(icept: Interceptor, h: HeldConnect): void {
    const src = plainAddress(h.src);
    const dst = plainAddress(h.dst);
    const key = keyOf(src, dst);
    const known = this.#pending.get(key);
    if (known) {
      known.ids.push(h.id); // its SYN again, while the outside connect is on its way
      return;
    }
    const out = this.#track(this.#stack.socket(dst.family === 'IPv6' ? AF_INET6 : AF_INET, SOCK_STREAM));
    const entry = { out, ids: [h.id] };
    this.#pending.set(key, entry);
    out.connect(dst.address, dst.port).then(() => {
      if (this.#closed) return;
      this.counters.connections++;
      for (const id of entry.ids) this.#verdict(icept, id, 'allow');
    }, (err: unknown) => {
      this.#pending.delete(key);
      this.#forget(out);
      if (this.#closed) return;
      this.counters.refused++;
      for (const id of entry.ids) this.#verdict(icept, id, verdictFor(err));
    });
  }

  #verdict(icept: Interceptor, id: number, v: InterceptVerdict): void {
    try {
      icept.verdict(id, v);
    } catch {
      // decided already, or the attempt is gone
    }
  }

  async #acceptLoop(icept: Interceptor): Promise<void> {
    while (!this.#closed) {
      let conn: Socket;
      let peer: SocketAddress;
      try {
        ({ socket: conn, peer } = await icept.listener.acceptFrom());
      } catch {
        return;
      }
      this.#track(conn);
      const key = keyOf(plainAddress(peer), plainAddress(conn.getsockname()));
      const entry = this.#pending.get(key);
      this.#pending.delete(key);
      if (!entry) {
        reset(conn);
        this.#forget(conn);
        continue;
      }
      void splice(conn, entry.out).finally(() => {
        this.#forget(conn);
        this.#forget(entry.out);
      });
    }
  }

  #datagram(icept: Interceptor, d: InterceptedDatagram): void {
    const src = plainAddress(d.src);
    const dst = plainAddress(d.dst);
    const key = keyOf(src, dst);
    let flow = this.#flows.get(key);
    if (!flow) {
      const sock = this.#track(this.#stack.socket(dst.family === 'IPv6' ? AF_INET6 : AF_INET, SOCK_DGRAM));
      try {
        sock.connectSync(dst.address, dst.port);
      } catch {
        this.#forget(sock);
        sock.close();
        icept.unreachable(d.src, d.dst, 'net-unreachable');
        return;
      }
      flow = { sock, src, dst, icept, last: 0 };
      this.#flows.set(key, flow);
      this.counters.flows++;
      void this.#replies(key, flow);
      this.#sweep();
    }
    flow.last = this.#clock.now();
    try {
      flow.sock.sendSync(d.data);
    } catch {
      // its queue is full: a datagram lost, as on a busy router
    }
  }

  async #replies(key: string, flow: Flow): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      try {
        data = await flow.sock.recv(65536);
      } catch (err) {
        if (err instanceof SocketError && err.code === 'ECONNREFUSED' && !flow.sock.closed) {
          // the destination said port unreachable: tell the inside host the same
          try {
            flow.icept.unreachable(flow.src, flow.dst, 'port-unreachable');
          } catch {
            // gone
          }
          continue;
        }
        break;
      }
      flow.last = this.#clock.now();
      try {
        flow.icept.sendDatagram(flow.dst, flow.src, data);
      } catch {
        // the inside host's side is full or gone
      }
    }
    if (this.#flows.get(key) === flow) this.#flows.delete(key);
    this.#forget(flow.sock);
  }

  /** Forgets idle UDP flows; re-armed while any is left. */
  #sweep(): void {
    if (this.#sweeper || this.#closed) return;
    this.#sweeper = this.#clock.setTimer(() => {
      this.#sweeper = undefined;
      const now = this.#clock.now();
      for (const [key, f] of this.#flows) {
        if (now - f.last >= this.#idleMs) {
          this.#flows.delete(key);
          f.sock.close();
        }
      }
      if (this.#flows.size > 0) this.#sweep();
    }, Math.max(1000, this.#idleMs / 4));
    this.#sweeper.unref?.();
  }

  #forget(s: Socket): void {
    this.#live.delete(s);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweeper?.clear();
    for (const i of this.#intercepts) i.close();
    for (const s of this.#live) if (!s.closed) s.close();
    this.#live.clear();
    this.#flows.clear();
    this.#pending.clear();
  }
}
