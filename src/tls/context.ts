// A TLS configuration made once and used by many connections, as node:tls's
// createSecureContext gives: a server parses its certificate and key once, not per
// connection. It lives in the wasm until close(); connections made with it keep it
// alive until they close too.
import type { Core } from '../core.js';
import { makeConf, tlsOf, type SecureContextOptions } from './options.js';

export class SecureContext {
  /** True for a server's configuration (it has cert and key). */
  readonly isServer: boolean;
  /** The options it was made from (what a connection reports, e.g. rejectUnauthorized). */
  readonly options: Readonly<SecureContextOptions>;
  readonly #core: Core;
  #id: number;

  /** @internal stack.createSecureContext makes these. */
  constructor(core: Core, options: SecureContextOptions, isServer: boolean) {
    this.#core = core;
    this.isServer = isServer;
    this.options = { ...options };
    this.#id = makeConf(core, options, isServer);
  }

  /** @internal The configuration's number in the wasm. */
  get _id(): number {
    if (this.#id === 0) throw new TypeError('lwip-wasm: this SecureContext was closed');
    return this.#id;
  }

  get closed(): boolean {
    return this.#id === 0;
  }

  /** Frees it; connections already made with it go on until they close. Idempotent. */
  close(): void {
    if (this.#id === 0) return;
    const id = this.#id;
    this.#id = 0;
    if (this.#core.alive) tlsOf(this.#core).tls_conf_free(id);
  }
}
