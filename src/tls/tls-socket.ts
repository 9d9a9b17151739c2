// A TLS connection over a stream socket: Mbed TLS in the wasm holds the session and
// reads and writes the socket's TCP bytes itself (wasm/tls/tls_sock.c); this wraps the
// socket, whose recv and send now carry plaintext, and waits for the handshake.
import type { Core } from '../core.js';
import type { Socket, Data, RecvOptions } from '../socket.js';
import { CHANGE, LW_TLS_INFO, TLS_STATE, readLwTlsInfo, type LwTlsInfo } from '../gen/abi.js';
import { SocketError } from '../errors.js';
import { SOCK_STREAM, ETIMEDOUT, EBADF, SHUT_WR } from '../gen/constants.js';
import { checkWaitOptions, type WaitOptions } from '../wait.js';
import { toRaw } from '../address.js';
import { ipFamily } from '../adapters/host.js';
import { SecureContext } from './context.js';
import { makeConf, tlsOf, SUITES, type SecureContextOptions } from './options.js';
import { TlsError, tlsErrorCode, type TlsErrorCode } from './errors.js';

/** startTls's options: node:tls's names. */
export interface TlsSocketOptions extends SecureContextOptions {
  /** Act as the server (needs cert and key, or a server's secureContext). Default false. */
  isServer?: boolean;
  /**
   * The server's name: sent as SNI and checked against its certificate. An IP address
   * is checked against the certificate's IP entries and sends no SNI. Default: the
   * address the socket is connected to.
   */
  servername?: string;
  /** A configuration made with stack.createSecureContext (then the other options are not used). */
  secureContext?: SecureContext;
}

/** What the handshake agreed on. */
export interface TlsInfo {
  /** 'TLSv1.2'. */
  protocol: string;
  /** The suite, named as Node's getCipher() does. */
  cipher: { name: string; standardName: string; version: string };
  /** The ALPN protocol agreed, or false. */
  alpnProtocol: string | false;
  /** True when the peer's chain and name verified (always false on a server: clients show none). */
  authorized: boolean;
  /** Why it did not verify, when rejectUnauthorized was false; null otherwise. */
  authorizationError: TlsErrorCode | null;
}

const decoder = new TextDecoder();

export class TlsSocket {
  /** The stream socket underneath; its recv and send carry plaintext now. */
  readonly socket: Socket;
  readonly isServer: boolean;
  /** The name the server's certificate must match (client), if any. */
  readonly servername: string | undefined;
  readonly #core: Core;
  #info: TlsInfo | undefined;

  /** @internal stack.startTls makes these. */
  constructor(core: Core, socket: Socket, options: TlsSocketOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: TLS options must be an object');
    const tls = tlsOf(core);
    if (socket.type !== SOCK_STREAM) throw new TypeError('lwip-wasm: TLS needs a stream (TCP) socket');
    const { secureContext, isServer, servername, ...rest } = options;
    if (isServer !== undefined && typeof isServer !== 'boolean') throw new TypeError('lwip-wasm: isServer must be a boolean');
    if (servername !== undefined && typeof servername !== 'string') throw new TypeError('lwip-wasm: servername must be a string');
    if (secureContext !== undefined && !(secureContext instanceof SecureContext)) {
      throw new TypeError('lwip-wasm: secureContext must come from stack.createSecureContext');
    }
    const server = secureContext ? secureContext.isServer : isServer === true;
    if (secureContext && isServer !== undefined && isServer !== secureContext.isServer) {
      throw new TypeError(`lwip-wasm: secureContext is a ${secureContext.isServer ? 'server' : 'client'}'s`);
    }
    this.#core = core;
    this.socket = socket;
    this.isServer = server;
    // The name to check: servername, else the address connected to (as Node's host).
    let name = servername;
    if (!server && name === undefined) name = socket.getpeername().address;
    this.servername = server ? undefined : name;
    const conf = secureContext ? secureContext._id : makeConf(core, rest, server);
    try {
      let ret: number;
      if (server || name === undefined || name === '') {
        ret = tls.tls_attach(socket.fd, conf, 0, 0);
      } else if (ipFamily(name) !== 0) {
        const bare = name.replace(/%.*$/, '');
        const raw = toRaw(bare, 0);
        core.heap.writeAddress(core.addrIn, raw);
        ret = tls.tls_attach(socket.fd, conf, 0, core.addrIn);
      } else {
        const bytes = new TextEncoder().encode(name);
        if (bytes.length > 255 || bytes.includes(0)) throw new TypeError('lwip-wasm: servername is not a host name');
        const p = core.heap.alloc(bytes.length + 1);
        try {
          core.heap.u8().set(bytes, p);
          core.heap.u8()[p + bytes.length] = 0;
          ret = tls.tls_attach(socket.fd, conf, p, 0);
        } finally {
          core.abi.free(p);
        }
      }
      core.check(ret, 'tls');
    } finally {
      // The connection holds its own reference; a context made here goes with it.
      if (!secureContext) tls.tls_conf_free(conf);
    }
    socket._tls = this;
  }

  #read(): LwTlsInfo {
    const core = this.#core;
    const ptr = core.heap.alloc(LW_TLS_INFO.size);
    try {
      core.check(tlsOf(core).tls_info(this.socket.fd, ptr), 'tls');
      return readLwTlsInfo(core.heap, ptr);
    } finally {
      core.abi.free(ptr);
    }
  }

  #error(i: LwTlsInfo, syscall: string): TlsError {
    return new TlsError(tlsErrorCode(i.error), syscall, {
      libError: i.libError, verifyFlags: i.verifyFlags, alert: i.alert, ...(this.servername ? { host: this.servername } : {}),
    });
  }

  /** @internal Socket asks this for the error behind an EPROTO. */
  _error(syscall: string): Error | undefined {
    if (this.socket.closed || !this.#core.alive) return undefined;
    const i = this.#read();
    return i.state === TLS_STATE.FAILED ? this.#error(i, syscall) : undefined;
  }

  /**
   * Resolves once the handshake is over with what it agreed; rejects with TlsError (its
   * code says why), or with the socket's error when TCP itself failed. opts.timeout (ms)
   * rejects with ETIMEDOUT.
   */
  async handshake(opts?: WaitOptions): Promise<TlsInfo> {
    checkWaitOptions(opts);
    const core = this.#core;
    const deadline = opts?.timeout === undefined ? Infinity : core.clock.now() + opts.timeout;
    for (;;) {
      if (this.socket.closed) throw new SocketError(EBADF, 'handshake');
      const i = this.#read();
      if (i.state === TLS_STATE.OPEN) return this.#infoFrom(i);
      if (i.state === TLS_STATE.FAILED) throw this.#error(i, 'handshake');
      if (!(await core.waitChange(CHANGE.TLS, this.socket.fd, deadline, opts?.signal))) {
        throw new SocketError(ETIMEDOUT, 'handshake');
      }
    }
  }

  #infoFrom(i: LwTlsInfo): TlsInfo {
    const suite = SUITES.find((s) => s.id === i.cipher);
    const version = i.version === 0x0303 ? 'TLSv1.2' : `0x${i.version.toString(16)}`;
    this.#info = {
      protocol: version,
      cipher: { name: suite?.name ?? `0x${i.cipher.toString(16)}`, standardName: suite?.standardName ?? '', version },
      alpnProtocol: i.alpnLen > 0 ? decoder.decode(i.alpn.subarray(0, i.alpnLen)) : false,
      authorized: !this.isServer && i.verifyFlags === 0,
      authorizationError: !this.isServer && i.verifyFlags !== 0 ? this.#verifyCode(i) : null,
    };
    return this.#info;
  }

  #verifyCode(i: LwTlsInfo): TlsErrorCode {
    const f = i.verifyFlags;
    if (f & 0x408) return 'ERR_TLS_CERT_UNKNOWN_CA';
    if (f & 0x01) return 'ERR_TLS_CERT_EXPIRED';
    if (f & 0x200) return 'ERR_TLS_CERT_NOT_YET_VALID';
    if (f === 0x04) return 'ERR_TLS_CERT_HOSTNAME';
    return 'ERR_TLS_CERT_INVALID';
  }

  /** What the handshake agreed on, once it is over (null before). */
  get info(): TlsInfo | null {
    return this.#info ?? null;
  }

  /** The peer's certificate (DER), or null when it showed none. */
  getPeerCertificate(): Uint8Array | null {
    const core = this.#core;
    const tls = tlsOf(core);
    let cap = 4096;
    for (let tries = 0; tries < 2; tries++) {
      const p = core.heap.alloc(cap);
      try {
        const n = core.check(tls.tls_peer_cert(this.socket.fd, p, cap), 'tls');
        if (n === 0) return null;
        if (n <= cap) return core.heap.copy(p, n);
        cap = n;
      } finally {
        core.abi.free(p);
      }
    }
    return null;
  }

  // --- the socket's calls, which carry plaintext now ---------------------------------

  send(data: Data, opts?: WaitOptions): Promise<number> {
    return this.socket.send(data, opts);
  }

  sendSync(data: Data, flags?: number): number {
    return this.socket.sendSync(data, flags);
  }

  recv(maxBytes?: number, opts?: RecvOptions): Promise<Uint8Array> {
    return this.socket.recv(maxBytes, opts);
  }

  recvSync(maxBytes?: number, flags?: number): Uint8Array {
    return this.socket.recvSync(maxBytes, flags);
  }

  recvInto(buf: Uint8Array, opts?: RecvOptions): Promise<number> {
    return this.socket.recvInto(buf, opts);
  }

  /** SHUT_WR sends close_notify, then TCP's FIN. */
  shutdown(how: number = SHUT_WR): void {
    this.socket.shutdown(how);
  }

  /** Sends close_notify (if the session is open) and closes the socket. */
  close(): void {
    if (!this.socket.closed) this.socket.close();
  }

  get events(): number {
    return this.socket.events;
  }

  get closed(): boolean {
    return this.socket.closed;
  }
}
