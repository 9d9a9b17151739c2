// The TCP connections crossing a simulated network, as a middlebox sees them from the
// frames each end sends: where each end's byte stream stands, and the last frame each
// sent (the template for segments made on the other end's behalf). Connection toxics
// act on these; a cut one ends as a proxy in the middle would end it:
//
// - reset: each end gets an RST at the place it expects (an end that is still owed data
//   answers the first with a challenge ACK, RFC 5961, which tells the place exactly);
//   nothing more goes between them.
// - close: each end gets a FIN after the data it may still have (what was sent before
//   the cut, retransmissions included, still goes through); from then on this module
//   answers each end as a closed peer would: its FIN is acknowledged, data it sends
//   after the close is answered with an RST.
import { replyTo, sliceSegment, fixTcpChecksums, seqDiff, ACK, FIN, RST, SYN, type FrameView } from './frame.js';
import type { HostPort } from './port.js';

export type Dir = 'upstream' | 'downstream';

export interface Side {
  readonly address: string;
  readonly port: number;
  /** The sequence number after everything this end sent (SYN and FIN count one). */
  nxt: number | undefined;
  /** Where this end's FIN is in its stream, once sent. */
  fin: number | undefined;
  /** This end's initial sequence number, if its SYN was seen. */
  isn: number | undefined;
  /** The highest acknowledgement this end was sent (by its peer, or by the simulator). */
  acked: number | undefined;
  /** The last frame this end sent, where, and its last window field. */
  template: { frame: Uint8Array; view: FrameView; port: HostPort } | undefined;
}

/** How a cut connection ends. */
interface CutEnd {
  /** close: where the FIN made for this end sits in the stream towards it. */
  finAt: number;
  finAcked: boolean;
  /** Segments made for this end (bounded: an end that will not settle is left alone). */
  made: number;
}

export interface Cut {
  mode: 'close' | 'reset';
  client: CutEnd;
  server: CutEnd;
}

const MADE_MAX = 8;

export class Conn {
  readonly key: string;
  readonly client: Side;
  readonly server: Side;
  cut: Cut | undefined;
  /** Per-toxic state of this connection (undefined: the toxic passed it over). */
  readonly toxicState = new Map<object, unknown>();
  /** An RST went by: the connection is over. */
  over = false;
  /** A cut asked for before both ends had spoken: done at the first frame after. */
  pendingCut: { mode: 'close' | 'reset'; at: Partial<Record<Dir, number>> } | undefined;

  constructor(key: string, client: Side, server: Side) {
    this.key = key;
    this.client = client;
    this.server = server;
  }

  side(dir: Dir): Side {
    return dir === 'upstream' ? this.client : this.server;
  }

  peer(dir: Dir): Side {
    return dir === 'upstream' ? this.server : this.client;
  }

  /**
   * The client has answered the SYN-ACK: both ends have a place in each stream to cut at,
   * and each takes an RST at that place (a client still in SYN_SENT would want an ACK).
   */
  get established(): boolean {
    return this.client.nxt !== undefined && this.server.nxt !== undefined &&
      this.client.template !== undefined && this.server.template !== undefined &&
      (this.client.template.view.tcp!.flags & SYN) === 0;
  }
}

/** Records that an end was acknowledged up to ack. */
export function noteAck(s: Side, ack: number): void {
  if (s.acked === undefined || seqDiff(ack, s.acked) > 0) s.acked = ack >>> 0;
}

const keyOf = (a: string, ap: number, b: string, bp: number): string => `${a}|${ap}|${b}|${bp}`;
const MAX_CONNS = 65536;

/** Segment length in sequence space: payload, plus one each for SYN and FIN. */
const seqLen = (v: FrameView): number => v.tcp!.payloadLen + (v.tcp!.flags & SYN ? 1 : 0) + (v.tcp!.flags & FIN ? 1 : 0);

export class ConnTable {
  readonly #conns = new Map<string, Conn>();
  /** Where frames of a cut connection that still go on are sent (the rules, then the wire). */
  readonly #onward: (port: HostPort, frame: Uint8Array) => void;
  counters = { resets: 0, closes: 0, made: 0 };

  /** Told when a connection is over (an RST, or both FINs acknowledged) and forgotten. */
  readonly #done: (conn: Conn) => void;

  constructor(onward: (port: HostPort, frame: Uint8Array) => void, done: (conn: Conn) => void = () => {}) {
    this.#onward = onward;
    this.#done = done;
  }

  get size(): number {
    return this.#conns.size;
  }

  /**
   * Notes a TCP frame an end sent; returns its connection and direction. A SYN without
   * ACK starts a new connection (the sender is its client).
   */
  track(v: FrameView, frame: Uint8Array, port: HostPort): { conn: Conn; dir: Dir } {
    const t = v.tcp!;
    const src = v.src!;
    const dst = v.dst!;
    const fwd = keyOf(src, v.sport!, dst, v.dport!);
    const rev = keyOf(dst, v.dport!, src, v.sport!);
    let conn = this.#conns.get(fwd);
    let dir: Dir = 'upstream';
    if (!conn) {
      conn = this.#conns.get(rev);
      dir = 'downstream';
    }
    const fresh = (t.flags & (SYN | ACK)) === SYN;
    if (!conn || (fresh && (dir === 'downstream' || conn.over || conn.cut || conn.client.isn !== t.seq))) {
      if (conn) this.#conns.delete(conn.key);
      conn = new Conn(fwd, { address: src, port: v.sport!, nxt: undefined, fin: undefined, isn: undefined, acked: undefined, template: undefined },
        { address: dst, port: v.dport!, nxt: undefined, fin: undefined, isn: undefined, acked: undefined, template: undefined });
      dir = 'upstream';
      this.#conns.set(fwd, conn);
      if (this.#conns.size > MAX_CONNS) this.#conns.delete(this.#conns.keys().next().value as string);
    }
    const side = conn.side(dir);
    if (t.flags & SYN) side.isn = t.seq;
    const end = (t.seq + seqLen(v)) >>> 0;
    if (side.nxt === undefined || seqDiff(end, side.nxt) > 0) side.nxt = end;
    if (t.flags & FIN) side.fin = (t.seq + t.payloadLen) >>> 0;
    side.template = { frame, view: v, port };
    if (t.flags & ACK) noteAck(conn.peer(dir), t.ack);
    // an end is finished once its FIN is acknowledged
    const finished = (x: Side): boolean => x.fin !== undefined && x.acked !== undefined && seqDiff(x.acked, x.fin) > 0;
    if (!conn.cut && (t.flags & RST || (finished(conn.client) && finished(conn.server)))) {
      conn.over = true;
      this.#conns.delete(conn.key);
      this.#done(conn);
    }
    if (conn.pendingCut && conn.established) {
      const p = conn.pendingCut;
      conn.pendingCut = undefined;
      this.cut(conn, p.mode, p.at);
    }
    return { conn, dir };
  }

  /** Forgets every connection (the network is closing). */
  clear(): void {
    this.#conns.clear();
  }

  // --- cutting ------------------------------------------------------------------------

  /**
   * Ends a connection as a proxy would (see the file comment). For close, `at` gives
   * where a direction's stream stops (default: all its end has sent so far).
   */
  cut(conn: Conn, mode: 'close' | 'reset', at: Partial<Record<Dir, number>> = {}): void {
    if (conn.cut || conn.over) return;
    if (!conn.established) {
      conn.pendingCut ??= { mode, at };
      return;
    }
    const upTo = (dir: Dir): number => {
      const s = conn.side(dir);
      // a FIN the end already sent is part of what the other end gets
      const limit = at[dir] ?? (s.fin !== undefined ? s.fin : s.nxt!);
      return limit >>> 0;
    };
    conn.cut = {
      mode,
      client: { finAt: upTo('downstream'), finAcked: false, made: 0 },
      server: { finAt: upTo('upstream'), finAcked: false, made: 0 },
    };
    if (mode === 'reset') {
      this.counters.resets++;
      this.#make(conn, 'upstream', conn.server.nxt!, RST);
      this.#make(conn, 'downstream', conn.client.nxt!, RST);
    } else {
      this.counters.closes++;
      for (const dir of ['upstream', 'downstream'] as const) {
        const me = conn.side(dir);
        const end = dir === 'upstream' ? conn.cut.client : conn.cut.server;
        const peer = conn.peer(dir);
        if (peer.fin !== undefined && seqDiff(end.finAt, peer.fin) === 0) continue; // its real FIN carries on
        // it acknowledges what the other end really got: the rest is resent, and what of
        // it lies beyond the cut meets a closed peer
        this.#make(conn, dir, end.finAt, FIN | ACK, me.acked ?? me.nxt!);
      }
    }
  }

  /** A segment for the end `dir` names (the end that sent frames in that direction). */
  #make(conn: Conn, dir: Dir, seq: number, flags: number, ack = 0): void {
    const me = conn.side(dir);
    const tpl = me.template;
    const peerTpl = conn.peer(dir).template;
    const end = dir === 'upstream' ? conn.cut!.client : conn.cut!.server;
    if (!tpl || end.made >= MADE_MAX) return;
    end.made++;
    this.counters.made++;
    const window = peerTpl ? peerTpl.view.tcp!.window : 0;
    tpl.port.inject([replyTo(tpl.frame, tpl.view, seq, ack, flags, window)]);
  }

  /**
   * A frame an end of a cut connection sent: what of it still goes on is handed on, and
   * the end is answered as a closed peer would answer it.
   */
  onCut(conn: Conn, dir: Dir, port: HostPort, frame: Uint8Array, v: FrameView): void {
    const cut = conn.cut!;
    const t = v.tcp!;
    const mine = dir === 'upstream' ? cut.client : cut.server;
    const theirs = dir === 'upstream' ? cut.server : cut.client;
    if (t.flags & RST) return;
    if (cut.mode === 'reset') {
      // An end still owed data answered our RST with a challenge ACK: its ACK says where.
      if (t.flags & ACK) this.#make(conn, dir, t.ack, RST);
      return;
    }
    // Data the other end is still owed (sent before the cut, or resent) goes through, and
    // a FIN of its own that sits right at the cut.
    const beyond = seqDiff(t.seq, theirs.finAt) >= 0;
    const endsAt = (t.seq + t.payloadLen) >>> 0;
    if (seqDiff(endsAt, theirs.finAt) <= 0 && (t.payloadLen > 0 || t.flags & FIN) && !(t.flags & SYN)) {
      if (!(t.flags & FIN) || endsAt === theirs.finAt) this.#onward(port, frame);
      else this.#onward(port, stripFin(sliceSegment(frame, v, 0, t.payloadLen), v));
    } else if (t.payloadLen > 0 && !beyond) {
      this.#onward(port, stripFin(sliceSegment(frame, v, 0, seqDiff(theirs.finAt, t.seq)), v));
    }
    if (t.flags & ACK && seqDiff(t.ack, mine.finAt) > 0) mine.finAcked = true;
    if (t.flags & FIN) {
      // it closed too: acknowledge its FIN (and send ours again if it has not seen it)
      const finEnd = (t.seq + t.payloadLen + 1) >>> 0;
      if (mine.finAcked) this.#make(conn, dir, (mine.finAt + 1) >>> 0, ACK, finEnd);
      else this.#make(conn, dir, mine.finAt, FIN | ACK, finEnd);
    } else if (t.payloadLen > 0 && beyond) {
      // data written after the close: a closed socket answers RST
      this.#make(conn, dir, t.ack, RST);
    } else if (t.payloadLen === 0 && !mine.finAcked && t.flags & ACK && seqDiff(t.ack, mine.finAt) === 0) {
      // it has everything but our FIN: send the FIN again
      const me = conn.side(dir);
      this.#make(conn, dir, mine.finAt, FIN | ACK, me.acked ?? me.nxt!);
    }
  }
}

/** A piece of a segment without its FIN (the FIN belongs after the cut). */
function stripFin(piece: Uint8Array, v: FrameView): Uint8Array {
  const off = v.l4Off + 13;
  if ((piece[off]! & FIN) === 0) return piece;
  piece[off] = piece[off]! & ~FIN;
  // the flags byte is inside the TCP checksum: recompute it
  const pv = { ...v, tcp: { ...v.tcp!, flags: piece[off]! } };
  fixTcpChecksums(piece, pv);
  return piece;
}
