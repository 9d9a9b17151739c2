// One passt process per client session: passt is a userspace NAT (no root) that speaks
// QEMU's socket framing, a 4-byte big-endian length and then the frame, over a UNIX
// socket. It serves exactly one guest at a time, so each session gets its own; that also
// keeps every client's NAT state, DHCP lease and failures apart.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PasstConfig {
  /** The passt executable (default 'passt', from PATH). */
  command: string;
  /** The address, prefix and gateway passt's DHCP hands the client. */
  address: string;
  prefix: number;
  gateway: string;
  /** Hand clients the host's resolvers (/etc/resolv.conf, as passt reads it) by DHCP, or none. */
  dns: boolean;
  mtu: number;
  /** How long to wait for passt's socket. */
  startTimeoutMs: number;
}

export interface PasstHandlers {
  onFrame(frame: Uint8Array): void;
  onClose(reason: string): void;
}

/** A running passt and the connection to it. */
export class Passt {
  readonly #child: ChildProcess;
  readonly #dir: string;
  #socket: Socket | undefined;
  #pending: Buffer = Buffer.alloc(0);
  #closed = false;
  #stderr = '';
  readonly #handlers: PasstHandlers;

  private constructor(child: ChildProcess, dir: string, handlers: PasstHandlers) {
    this.#child = child;
    this.#dir = dir;
    this.#handlers = handlers;
  }

  static async start(config: PasstConfig, handlers: PasstHandlers): Promise<Passt> {
    const dir = mkdtempSync(join(tmpdir(), 'lwip-relay-'));
    // Run as root, passt drops to 'nobody' before it creates its socket: let it create one
    // here (write and search, but no listing; the socket itself is nobody's, mode 0755).
    if (process.getuid?.() === 0) chmodSync(dir, 0o733);
    const path = join(dir, 'passt.socket');
    const args = [
      '--foreground', '--one-off', '--ipv4-only', '--socket', path,
      '--address', config.address, '--netmask', String(config.prefix), '--gateway', config.gateway,
      // Never --debug: this passt version crashes formatting a debug line on a connection
      // to a local address (conn_flag_do).
      '--mtu', String(config.mtu), '--stderr', '--quiet',
      // No inbound forwarding: the client reaches out, nothing reaches in.
      '--tcp-ports', 'none', '--udp-ports', 'none',
    ];
    if (!config.dns) args.push('--dns', 'none');
    const child = spawn(config.command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const passt = new Passt(child, dir, handlers);
    child.stderr?.on('data', (d: Buffer) => {
      passt.#stderr = (passt.#stderr + d.toString()).slice(-2000);
    });
    const exited = new Promise<string>((resolve) => {
      child.once('error', (err) => resolve(`cannot run ${config.command}: ${err.message}`));
      child.once('exit', (code, signal) => resolve(`passt exited (${signal ?? code}): ${passt.#stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    try {
      passt.#socket = await Promise.race([
        connectWhenReady(path, config.startTimeoutMs),
        exited.then((why) => Promise.reject(new Error(why))),
      ]);
    } catch (err) {
      passt.close();
      throw err;
    }
    void exited.then((why) => passt.#end(why));
    const socket = passt.#socket;
    socket.on('data', (chunk: Buffer) => passt.#read(chunk));
    socket.on('error', (err) => passt.#end(`passt socket: ${err.message}`));
    socket.on('close', () => passt.#end('passt closed the connection'));
    return passt;
  }

  /** Writes one frame; false when the socket's buffer is full (the caller pauses its source). */
  send(frame: Uint8Array): boolean {
    const socket = this.#socket;
    if (this.#closed || !socket) return true;
    // Length and frame in one write: this passt reads the 4-byte length and the frame in
    // one recv(), and loses its place in the stream if a read returns the length alone.
    // (Nor pad short frames to 60 bytes: it takes the padding of a TCP segment for data.)
    const out = Buffer.allocUnsafe(4 + frame.length);
    out.writeUInt32BE(frame.length, 0);
    out.set(frame, 4);
    return socket.write(out);
  }

  onDrain(fn: () => void): void {
    this.#socket?.on('drain', fn);
  }

  #read(chunk: Buffer): void {
    let buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) break;
      // A copy: the frame outlives this chunk (it is queued on the WebSocket).
      this.#handlers.onFrame(Uint8Array.prototype.slice.call(buf, 4, 4 + len));
      buf = buf.subarray(4 + len);
    }
    this.#pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  #end(why: string): void {
    if (this.#closed) return;
    this.close();
    this.#handlers.onClose(why);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.destroy();
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** passt creates its socket and then listens; retry the connect until it does (bounded). */
async function connectWhenReady(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no socket yet';
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    if (existsSync(path)) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`passt did not open its socket within ${timeoutMs} ms (${lastError})`);
}
