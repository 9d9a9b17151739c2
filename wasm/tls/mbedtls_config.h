/* Mbed TLS 2.28 as lwip-tls.wasm uses it: a TLS 1.2 client and server with ECDHE key
 * exchange, AES-GCM and ChaCha20-Poly1305, and X.509 verification. Everything else is
 * left out, so the wasm carries only what a modern handshake needs. The build passes
 * -DMBEDTLS_CONFIG_FILE='"mbedtls_config.h"', so this file replaces Mbed TLS's config.h
 * whole; check_config.h (included last) refuses any inconsistent choice. */
#ifndef LW_MBEDTLS_CONFIG_H
#define LW_MBEDTLS_CONFIG_H

/* --- System ------------------------------------------------------------------------- */

/* Time comes from JS (the wall clock, js_time in abi.h), for certificate validity. */
#define MBEDTLS_HAVE_TIME
/* Certificate dates are checked against it (expired / not yet valid). */
#define MBEDTLS_HAVE_TIME_DATE
/* mbedtls_time() is ours (wasm/tls/tls_platform.c), not libc's: wasm has no clock. */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_TIME_TYPE_MACRO long long
#define MBEDTLS_PLATFORM_TIME_MACRO tls_time
long long tls_time(long long *t);   /* declared here: Mbed TLS's sources call it by name */
/* So is gmtime_r (a few lines of civil-date arithmetic), for the same reason. */
#define MBEDTLS_PLATFORM_GMTIME_R_ALT
/* No /dev/urandom and no entropy pool: every random byte comes from JS's
 * crypto.getRandomValues through js_entropy (tls_platform.c), which is a CSPRNG. */
#define MBEDTLS_NO_PLATFORM_ENTROPY
/* wasm has no inline assembly. */
/* (MBEDTLS_HAVE_ASM left undefined) */

/* --- Big numbers and curves ------------------------------------------------------------ */

/* RSA and elliptic-curve arithmetic. */
#define MBEDTLS_BIGNUM_C
/* Elliptic curves: ECDHE key exchange and ECDSA signatures. */
#define MBEDTLS_ECP_C
/* The curves servers and certificates use: P-256 and P-384 (NIST), X25519 (ECDHE). */
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
/* No DRBG inside ECP: every secret multiplication (ECDHE, ECDSA signing) is given the
 * TLS layer's f_rng for blinding; only public-data operations (signature checks) run
 * without one, and those need none. */
#define MBEDTLS_ECP_NO_INTERNAL_RNG
/* Fast reduction for the NIST primes: handshakes several times faster, some KB more. */
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
/* RSA: most server certificates and many CA chains are RSA. */
#define MBEDTLS_RSA_C
/* PKCS#1 v1.5 signatures (TLS 1.2 and most certificates) and PSS (some certificates). */
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21

/* --- Symmetric crypto and hashes ------------------------------------------------------------ */

/* AES-128/256-GCM and ChaCha20-Poly1305: the AEAD ciphers of every suite offered. */
#define MBEDTLS_AES_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
/* SHA-256 and SHA-384 (SHA512_C): the PRF of every suite, and certificate signatures.
 * SHA-1 and MD5 are left out: no suite offered needs them, and certificates signed
 * with them are refused. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C

/* --- Keys and certificates ------------------------------------------------------------ */

#define MBEDTLS_ASN1_PARSE_C
/* ECDSA signatures are written as ASN.1 (the server side signs with an EC key). */
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
/* Keys in DER: PKCS#1, SEC1 and unencrypted PKCS#8. PEM is turned into DER in JS, so no
 * base64 or PEM code is built in. */
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
/* Certificates signed with RSASSA-PSS parse and verify. */
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
/* The default trust store is looked up by issuer name when a chain is verified
 * (tls_roots.c), so the Mozilla roots are never all parsed into memory. */
#define MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK
/* A chain may have at most this many intermediates: longer ones fail to verify. */
#define MBEDTLS_X509_MAX_INTERMEDIATE_CA 8

/* --- TLS ------------------------------------------------------------------------------ */

#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
/* TLS 1.2 only: 1.0 and 1.1 are obsolete (RFC 8996), and 2.28 has no TLS 1.3. */
#define MBEDTLS_SSL_PROTO_TLS1_2
/* Forward-secret key exchange only, signed by an ECDSA or an RSA certificate. */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
/* The six suites offered, strongest first as OpenSSL orders them; the `ciphers` option
 * narrows the list per context. */
#define MBEDTLS_SSL_CIPHERSUITES \
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, \
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, \
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, \
  MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, \
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, \
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
/* ALPN (`ALPNProtocols`, e.g. http/1.1) and SNI (`servername`). */
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
/* RFC 7627: binds the master secret to the handshake; OpenSSL and Node offer it. */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
/* The peer's certificate stays available after the handshake (getPeerCertificate). */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
/* Send the alert a failure calls for, so the peer learns why (as OpenSSL does). */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
/* Key usage and extended key usage are checked on the peer's certificate. */
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE
/* Records of up to 16 KiB each way: any server may send full-size records, and large
 * records are what make bulk transfer fast. Two buffers of this size per connection. */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 16384
/* Not built: renegotiation (refused with an alert), session tickets and caches, DTLS,
 * CBC suites, static RSA and (EC)DH-PSK key exchange, debug output, error strings
 * (the JS side names errors itself), PSA crypto, self tests. */

#include "mbedtls/check_config.h"

#endif /* LW_MBEDTLS_CONFIG_H */
