// TLS failures as errors with stable codes. The C side classifies each failure
// (LW_TLS_ERRORS in wasm/abi.h); the code is ERR_TLS_ and that name, and the message
// says which certificate problem, alert or malformed message it was.
import { TLSERR_NAMES } from '../gen/abi.js';

type TlsErrName = Exclude<(typeof TLSERR_NAMES)[number], 'NONE'>;

/** ERR_TLS_CERT_EXPIRED, ERR_TLS_CERT_HOSTNAME, ... (see docs/tls.md). */
export type TlsErrorCode = `ERR_TLS_${TlsErrName}`;

/** What each code means, as its message starts. */
const MESSAGES: Record<TlsErrName, string> = {
  HANDSHAKE_FAILURE: 'handshake failure: no cipher suite, curve or signature algorithm in common',
  PROTOCOL_VERSION: 'no TLS version in common (this build speaks TLS 1.2)',
  CERT_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_UNKNOWN_CA: 'certificate chain leads to no trusted CA (unknown or self-signed issuer)',
  CERT_HOSTNAME: 'certificate does not name the host',
  CERT_INVALID: 'certificate chain did not verify',
  CERT_CHAIN_TOO_LARGE: 'a handshake message over 16 KiB (the certificate chain is too large)',
  NO_APPLICATION_PROTOCOL: 'no ALPN protocol in common',
  BAD_RECORD: 'malformed or forged TLS record',
  BAD_HANDSHAKE: 'malformed or unexpected handshake message',
  ALERT: 'the peer ended the connection with a fatal alert',
  TRUNCATED: 'the connection closed before the TLS handshake finished',
  NO_MEMORY: 'out of wasm memory',
  INTERNAL: 'TLS failed',
};

/** RFC 8446's alert names, for messages. */
const ALERTS: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 22: 'record_overflow',
  40: 'handshake_failure', 42: 'bad_certificate', 43: 'unsupported_certificate', 44: 'certificate_revoked',
  45: 'certificate_expired', 46: 'certificate_unknown', 47: 'illegal_parameter', 48: 'unknown_ca',
  49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error', 70: 'protocol_version',
  71: 'insufficient_security', 80: 'internal_error', 86: 'inappropriate_fallback', 90: 'user_canceled',
  100: 'no_renegotiation', 109: 'missing_extension', 110: 'unsupported_extension', 112: 'unrecognized_name',
  116: 'certificate_required', 120: 'no_application_protocol',
};

export function alertName(alert: number): string {
  return ALERTS[alert] ?? `alert ${alert}`;
}

/** Mbed TLS's MBEDTLS_X509_BADCERT_* bits, named for messages. */
const BADCERT: [number, string][] = [
  [0x01, 'expired'], [0x02, 'revoked'], [0x04, 'name mismatch'], [0x08, 'not trusted'],
  [0x200, 'not yet valid'], [0x400, 'missing'], [0x800, 'key usage'], [0x1000, 'extended key usage'],
  [0x4000, 'bad signature algorithm'], [0x8000, 'bad public key'], [0x10000, 'weak signature'],
  [0x20000, 'weak key'],
];

export function verifyFlagNames(flags: number): string[] {
  return BADCERT.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

export interface TlsErrorDetail {
  /** Mbed TLS's error code (negative), 0 when there is none. */
  libError?: number;
  /** MBEDTLS_X509_BADCERT_* bits of the peer's chain (0: it verified, or was not checked). */
  verifyFlags?: number;
  /** The fatal alert the peer sent, when it sent one. */
  alert?: number;
  /** The name the certificate had to match. */
  host?: string;
}

export class TlsError extends Error {
  /** A stable ERR_TLS_* code. */
  readonly code: TlsErrorCode;
  /** The call that met the failure ('handshake', 'recv', 'send'). */
  readonly syscall: string;
  /** Mbed TLS's error code (negative); 0 when there is none. */
  readonly libError: number;
  /** MBEDTLS_X509_BADCERT_* bits of the peer's chain. */
  readonly verifyFlags: number;
  /** The fatal alert the peer sent (RFC 8446 number), if one. */
  readonly alert?: number;

  constructor(code: TlsErrorCode, syscall: string, detail: TlsErrorDetail = {}) {
    const name = code.slice('ERR_TLS_'.length) as TlsErrName;
    const parts = [MESSAGES[name] ?? 'TLS failed'];
    if (detail.alert !== undefined && detail.alert !== 256) parts.push(`alert ${alertName(detail.alert)}`);
    if (name === 'CERT_HOSTNAME' && detail.host) parts.push(`host ${JSON.stringify(detail.host)}`);
    const flags = verifyFlagNames(detail.verifyFlags ?? 0);
    if (flags.length > 0 && name.startsWith('CERT_')) parts.push(`verify: ${flags.join(', ')}`);
    if (detail.libError) parts.push(`Mbed TLS -0x${(-detail.libError).toString(16)}`);
    super(`${syscall} ${code}: ${parts.join('; ')}`);
    this.name = 'TlsError';
    this.code = code;
    this.syscall = syscall;
    this.libError = detail.libError ?? 0;
    this.verifyFlags = detail.verifyFlags ?? 0;
    if (detail.alert !== undefined && detail.alert !== 256) this.alert = detail.alert;
  }
}

/** The code for an LW_TLSERR_* number. */
export function tlsErrorCode(error: number): TlsErrorCode {
  const name = TLSERR_NAMES[error];
  return `ERR_TLS_${name === undefined || name === 'NONE' ? 'INTERNAL' : name}` as TlsErrorCode;
}
