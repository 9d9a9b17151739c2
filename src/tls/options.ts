// TLS options with node:tls's names, checked, and turned into a configuration inside
// the wasm (wasm/tls/tls_conf.c). A configuration is a numbered object there, shared by
// the connections made with it.
import type { Core } from '../core.js';
import type { TlsAbi } from '../gen/abi.js';
import { TLS_CONF } from '../gen/abi.js';
import { certificates, privateKey, type PemOrDer } from './pem.js';

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** What a TLS configuration holds; the names are node:tls's. */
export interface SecureContextOptions {
  /**
   * Trusted certificates (PEM, a PEM bundle, DER, or a list of them). Replaces the
   * built-in Mozilla roots, as in Node.
   */
  ca?: PemOrDer | readonly PemOrDer[];
  /** Our certificate chain, leaf first (a server's). */
  cert?: PemOrDer | readonly PemOrDer[];
  /** The private key of cert's leaf (PEM or DER; PKCS#8, PKCS#1 or SEC1; not encrypted). */
  key?: PemOrDer;
  /** ALPN protocols, most preferred first (e.g. ['h2', 'http/1.1']). */
  ALPNProtocols?: readonly string[];
  /** Cipher suites to allow, colon-separated OpenSSL or IANA names (default: all six). */
  ciphers?: string;
  /** Lowest TLS version to accept; this build speaks TLS 1.2, so 'TLSv1.3' cannot be met. */
  minVersion?: TlsVersion;
  /** Highest TLS version to offer; anything below 'TLSv1.2' cannot be met. */
  maxVersion?: TlsVersion;
  /** A client verifies the server's chain and name unless this is false (default true). */
  rejectUnauthorized?: boolean;
}

/** The suites built in (wasm/tls/mbedtls_config.h): IANA number, standard and OpenSSL names. */
export const SUITES: readonly { id: number; standardName: string; name: string }[] = [
  { id: 0xc02c, standardName: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', name: 'ECDHE-ECDSA-AES256-GCM-SHA384' },
  { id: 0xc030, standardName: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', name: 'ECDHE-RSA-AES256-GCM-SHA384' },
  { id: 0xcca9, standardName: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', name: 'ECDHE-ECDSA-CHACHA20-POLY1305' },
  { id: 0xcca8, standardName: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', name: 'ECDHE-RSA-CHACHA20-POLY1305' },
  { id: 0xc02b, standardName: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', name: 'ECDHE-ECDSA-AES128-GCM-SHA256' },
  { id: 0xc02f, standardName: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', name: 'ECDHE-RSA-AES128-GCM-SHA256' },
];

const VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const KNOWN = new Set(['ca', 'cert', 'key', 'ALPNProtocols', 'ciphers', 'minVersion', 'maxVersion', 'rejectUnauthorized',
  'servername', 'secureContext', 'isServer', 'timeout', 'signal']);

/** The stack's TLS exports, or a TypeError that says how to get them. */
export function tlsOf(core: Core): TlsAbi {
  if (!core.tls) {
    throw new TypeError('lwip-wasm: this stack has no TLS: create it with Stack.create({ tls: true })');
  }
  return core.tls;
}

function checkOptions(o: SecureContextOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('lwip-wasm: TLS options must be an object');
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw new TypeError(`lwip-wasm: unknown TLS option ${JSON.stringify(k)}`);
  }
  for (const [name, v] of [['minVersion', o.minVersion], ['maxVersion', o.maxVersion]] as const) {
    if (v !== undefined && !VERSIONS.includes(v)) {
      throw new RangeError(`lwip-wasm: ${name} must be one of ${VERSIONS.join(', ')}, got ${String(v)}`);
    }
  }
  if (o.minVersion === 'TLSv1.3') {
    throw new RangeError('lwip-wasm: minVersion TLSv1.3 cannot be met: this build speaks TLS 1.2 (Mbed TLS 2.28)');
  }
  if (o.maxVersion !== undefined && VERSIONS.indexOf(o.maxVersion) < 2) {
    throw new RangeError(`lwip-wasm: maxVersion ${o.maxVersion} cannot be met: TLS 1.2 is the only version built in`);
  }
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
    throw new TypeError('lwip-wasm: rejectUnauthorized must be a boolean');
  }
  if (o.ALPNProtocols !== undefined) {
    if (!Array.isArray(o.ALPNProtocols) || o.ALPNProtocols.length === 0 ||
        o.ALPNProtocols.some((p) => typeof p !== 'string' || p.length === 0 || new TextEncoder().encode(p).length > 255)) {
      throw new TypeError('lwip-wasm: ALPNProtocols must be a non-empty array of names of 1 to 255 bytes');
    }
  }
  if (o.ciphers !== undefined && typeof o.ciphers !== 'string') throw new TypeError('lwip-wasm: ciphers must be a string');
}

/** IANA numbers of the suites a `ciphers` string names (unknown names are skipped, as OpenSSL does). */
function suiteIds(ciphers: string): number[] {
  const ids: number[] = [];
  for (const name of ciphers.split(/[:, ]+/).filter(Boolean)) {
    const s = SUITES.find((x) => x.name === name || x.standardName === name);
    if (s && !ids.includes(s.id)) ids.push(s.id);
  }
  if (ids.length === 0) {
    throw new RangeError(`lwip-wasm: ciphers ${JSON.stringify(ciphers)} names none of the suites built in (${SUITES.map((x) => x.name).join(':')})`);
  }
  return ids;
}

/** Runs fn with bytes copied into wasm memory; the pointer lives for the call only. */
function withBytes<T>(core: Core, bytes: Uint8Array, fn: (ptr: number) => T): T {
  const ptr = core.heap.alloc(Math.max(bytes.length, 1));
  try {
    core.heap.u8().set(bytes, ptr);
    return fn(ptr);
  } finally {
    core.abi.free(ptr);
  }
}

function libHex(tls: TlsAbi): string {
  const e = tls.tls_last_error();
  return e < 0 ? ` (Mbed TLS -0x${(-e).toString(16)})` : '';
}

/**
 * Makes a configuration in the wasm from options: a server's when server is true.
 * Returns its id; the caller frees it (tls_conf_free) when done with it.
 */
export function makeConf(core: Core, options: SecureContextOptions, server: boolean): number {
  checkOptions(options);
  const tls = tlsOf(core);
  // Parse every certificate and key before anything is made, so bad input leaks nothing.
  const ca = options.ca !== undefined ? certificates(options.ca, 'ca') : [];
  const chain = options.cert !== undefined ? certificates(options.cert, 'cert') : [];
  const key = options.key !== undefined ? privateKey(options.key) : undefined;
  if (server && (chain.length === 0 || key === undefined)) {
    throw new TypeError('lwip-wasm: a TLS server needs cert and key');
  }
  if (!server && (chain.length > 0 || key !== undefined)) {
    throw new TypeError('lwip-wasm: client certificates (cert and key on a client) are not supported');
  }
  const id = core.check(tls.tls_conf_new(server ? 1 : 0), 'tls');
  try {
    ca.forEach((der, i) => {
      if (withBytes(core, der, (p) => tls.tls_conf_add_ca(id, p, der.length)) < 0) {
        throw new TypeError(`lwip-wasm: ca${ca.length > 1 ? `[${i}]` : ''} is not a certificate${libHex(tls)}`);
      }
    });
    chain.forEach((der, i) => {
      if (withBytes(core, der, (p) => tls.tls_conf_add_cert(id, p, der.length)) < 0) {
        throw new TypeError(`lwip-wasm: cert${chain.length > 1 ? `[${i}]` : ''} is not a certificate${libHex(tls)}`);
      }
    });
    if (key !== undefined && withBytes(core, key, (p) => tls.tls_conf_set_key(id, p, key.length)) < 0) {
      throw new TypeError(`lwip-wasm: key is not a private key, or not the one of cert's leaf${libHex(tls)}`);
    }
    if (options.ALPNProtocols !== undefined) {
      const names = options.ALPNProtocols.map((p) => new TextEncoder().encode(p));
      const wire = new Uint8Array(names.reduce((n, b) => n + 1 + b.length, 0));
      let off = 0;
      for (const b of names) {
        wire[off++] = b.length;
        wire.set(b, off);
        off += b.length;
      }
      core.check(withBytes(core, wire, (p) => tls.tls_conf_alpn(id, p, wire.length)), 'tls');
    }
    if (options.ciphers !== undefined) {
      const ids = suiteIds(options.ciphers);
      const be = new Uint8Array(ids.length * 2);
      ids.forEach((v, i) => {
        be[2 * i] = v >> 8;
        be[2 * i + 1] = v & 0xff;
      });
      core.check(withBytes(core, be, (p) => tls.tls_conf_ciphers(id, p, ids.length)), 'tls');
    }
    if (!server && options.rejectUnauthorized === false) core.check(tls.tls_conf_set(id, TLS_CONF.VERIFY, 1), 'tls');
    return id;
  } catch (err) {
    tls.tls_conf_free(id);
    throw err;
  }
}
