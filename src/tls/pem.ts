// Certificates and keys as node:tls takes them (PEM text or DER bytes, one or a list),
// turned into DER for the wasm, which has no PEM parser of its own.

/** A certificate or key: PEM text (or its bytes), or DER bytes. */
export type PemOrDer = string | Uint8Array | ArrayBuffer;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const decoder = new TextDecoder();

function base64(text: string): Uint8Array {
  const clean = text.replace(/[\r\n\t ]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new TypeError('lwip-wasm: PEM block is not base64');
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function asText(v: PemOrDer): string | null {
  if (typeof v === 'string') return v;
  const bytes = v instanceof Uint8Array ? v : new Uint8Array(v);
  // PEM given as bytes (as fs.readFileSync gives it) starts "-----BEGIN"; DER with 0x30
  return bytes.length > 10 && decoder.decode(bytes.subarray(0, 10)) === '-----BEGIN' ? decoder.decode(bytes) : null;
}

/** Every PEM block in v whose label passes want, as DER; or v itself when it is DER. */
function blocks(v: PemOrDer, want: (label: string) => boolean, what: string): Uint8Array[] {
  if (typeof v !== 'string' && !(v instanceof Uint8Array) && !(v instanceof ArrayBuffer)) {
    throw new TypeError(`lwip-wasm: ${what} must be PEM text or DER bytes`);
  }
  const text = asText(v);
  if (text === null) return [v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer)];
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(m[2]!)) {
      throw new TypeError(`lwip-wasm: ${what} is encrypted; pass it decrypted (passphrases are not supported)`);
    }
    if (want(m[1]!)) out.push(base64(m[2]!.replace(/^[A-Za-z-]+:.*$/gm, '')));
  }
  if (out.length === 0) throw new TypeError(`lwip-wasm: ${what} holds no PEM block of the right kind`);
  return out;
}

/** Certificates (`ca`, `cert`): one, a PEM bundle, or a list of them. */
export function certificates(v: PemOrDer | readonly PemOrDer[], what: string): Uint8Array[] {
  const list = Array.isArray(v) ? (v as readonly PemOrDer[]) : [v as PemOrDer];
  return list.flatMap((item, i) => blocks(item, (l) => l === 'CERTIFICATE' || l === 'TRUSTED CERTIFICATE',
    list.length > 1 ? `${what}[${i}]` : what));
}

/** A private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), unencrypted. */
export function privateKey(v: PemOrDer, what = 'key'): Uint8Array {
  const keys = blocks(v, (l) => l === 'PRIVATE KEY' || l === 'RSA PRIVATE KEY' || l === 'EC PRIVATE KEY', what);
  return keys[0]!;
}
