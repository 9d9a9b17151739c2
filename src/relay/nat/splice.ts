// Joins a client's connection (a socket of its gateway stack) to the real connection the
// relay opened for it, byte for byte, both ways, with each side's backpressure, half-close
// and reset carried to the other: the client's FIN ends the real socket's writing side
// (and the real peer's FIN the client's), a reset on either side resets the other, and a
// side that stops reading stops the other side's sender.
import type { Socket as RealSocket } from 'node:net';
import type { Socket } from '../../socket.js';
import { SocketError } from '../../errors.js';
import { SOL_SOCKET, SO_LINGER, SHUT_WR } from '../../gen/constants.js';

/** Bytes read from the client's side per call. */
const READ_CHUNK = 256 * 1024;
/** Bytes of the real socket's reads: its one buffer (net's onread). */
const REAL_READ = 64 * 1024;
/**
 * Reads a real socket into one buffer kept for its life (net's onread option), so a
 * download allocates nothing per read, where a fresh 64 KiB buffer per read is garbage
 * the relay must collect. Give `options` to net.connect and pause the socket: it reads
 * nothing (and so sees no end of stream) until the splice attaches and resumes it.
 */
export class RealReader {
  #sink: ((chunk: Buffer) => boolean) | null = null;
  readonly options = {
    buffer: Buffer.allocUnsafe(REAL_READ),
    // Nothing reads before attach (the socket is paused); were it to, pause again.
    callback: (n: number, buf: Buffer): boolean => this.#sink?.(buf.subarray(0, n)) ?? false,
  };

  /** Hands every read to sink (its chunk valid only during the call; false pauses). */
  attach(sink: (chunk: Buffer) => boolean): void {
    this.#sink = sink;
  }
}

export interface SpliceCounters {
  /** Bytes from the client to the real peer, and back. */
  up: number;
  down: number;
}

/**
 * Resets the real connection, after what the client sent before its reset is out (as
 * on the wire, where those bytes precede the RST). Node sends a FIN, not an RST, when
 * resetAndDestroy() follows a write in the same turn (Node 20), so the reset waits for
 * the writes' callback and one more turn (at most a second with writes stuck).
 */
function resetReal(real: RealSocket): void {
  if (real.destroyed) return;
  const reset = (): void => {
    clearTimeout(timer);
    setImmediate(() => {
      if (!real.destroyed) real.resetAndDestroy();
    });
  };
  const timer = setTimeout(reset, 1000);
  real.write(new Uint8Array(0), reset);
}

/** Resets a gateway socket (close with SO_LINGER 0 sends RST, as on Linux). */
export function resetSocket(s: Socket): void {
  if (s.closed) return;
  try {
    s.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
    s.close();
  } catch {
    // the stack is gone: nothing to reset
  }
}

/**
 * Splices s and real until both directions end or either side resets; resolves then
 * (never rejects), with both sockets closed.
 */
export function splice(s: Socket, real: RealSocket, reader: RealReader, counters: SpliceCounters): Promise<void> {
  let upDone = false;
  let downDone = false;
  let finished = false;
  let resolveAll!: () => void;
  const done = new Promise<void>((r) => {
    resolveAll = r;
  });
  const finish = (reset: 'client' | 'real' | null): void => {
    if (finished) return;
    finished = true;
    if (reset === 'client') resetReal(real);
    else if (reset === 'real') resetSocket(s);
    if (!s.closed) {
      try {
        s.close(); // FIN after what is queued, as close(2) does
      } catch {
        // the stack went away
      }
    }
    // After FINs both ways the real socket closes by itself once its writes are out;
    // destroying it now could cut the last of them. (resetReal destroys it itself.)
    if (reset === 'real' && !real.destroyed) real.destroy();
    resolveAll();
  };
  const maybeFinish = (): void => {
    if (upDone && downDone) finish(null);
  };

  // client -> real: read only while the real socket takes data. Each read is a buffer
  // of its own size, held until written: reusing larger buffers would let a real peer
  // that does not read, and a client sending tiny segments, pin one per write.
  void (async () => {
    try {
      for (;;) {
        const data = await s.recv(READ_CHUNK);
        if (finished) return;
        if (data.length === 0) {
          real.end(); // the client's FIN
          upDone = true;
          maybeFinish();
          return;
        }
        counters.up += data.length;
        if (!real.write(data)) {
          await new Promise<void>((resolve) => {
            const go = (): void => {
              real.off('drain', go);
              real.off('close', go);
              resolve();
            };
            real.on('drain', go);
            real.on('close', go);
          });
          if (finished || real.destroyed) return;
        }
      }
    } catch {
      finish('client'); // the client reset (or its stack went away): reset the real side
    }
  })();

  // real -> client: pause the real socket while the gateway's send buffer is full.
  let sending: Promise<void> = Promise.resolve();
  let spare: Uint8Array | undefined;
  let queued = 0; // sends waiting in `sending`: later reads queue behind them, in order
  const queue = (bytes: Uint8Array): void => {
    queued++;
    sending = sending.then(() => s.send(bytes)).then(() => {
      if (--queued === 0 && !finished) real.resume();
    }, () => finish('client'));
  };
  reader.attach((chunk) => {
    counters.down += chunk.length;
    // Copies: the read buffer is reused by the next read.
    if (queued > 0) {
      queue(Uint8Array.prototype.slice.call(chunk));
      return false;
    }
    let off = 0;
    try {
      off = s.sendSync(chunk);
    } catch (err) {
      if (!(err instanceof SocketError && err.code === 'EAGAIN')) {
        finish('client');
        return false;
      }
    }
    if (off < chunk.length) {
      // The rest waits in a buffer kept for this (the socket stays paused until it is sent).
      real.pause();
      spare ??= new Uint8Array(REAL_READ);
      const rest = spare.subarray(0, chunk.length - off);
      rest.set(chunk.subarray(off));
      queue(rest);
      return false;
    }
    return true;
  });
  real.resume(); // paused since it connected
  let realEnded = false;
  real.on('end', () => {
    realEnded = true;
    // the real peer's FIN, after every byte before it reached the client's send buffer
    void sending.then(() => {
      if (finished) return;
      try {
        s.shutdown(SHUT_WR);
      } catch {
        finish('client');
        return;
      }
      downDone = true;
      maybeFinish();
    });
  });
  real.on('error', () => finish('real')); // ECONNRESET, ETIMEDOUT...: the client hears a reset
  real.on('close', () => {
    // Closed without its FIN (destroyed, or reset without an 'error'): reset the client.
    // After the FIN, 'close' may come while bytes before it still wait for the client's
    // send buffer: the 'end' handler above finishes that direction.
    if (!finished && !realEnded) finish('real');
  });
  return done;
}
