/* Internal declarations of the TLS glue (lwip-tls.wasm only). TLS runs inside the wasm:
 * Mbed TLS reads and writes the socket's TCP byte stream itself (tls_sock.c's BIO on
 * tcp_sock_recv and tcp_sock_send), so only plaintext crosses into JS. Configurations
 * (tls_conf.c) are shared by the connections made with them, and counted. */
#ifndef LW_TLS_H
#define LW_TLS_H

#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/pk.h"
#include "lw.h"

/* One configuration: a client's (trust, ALPN) or a server's (its chain and key too). */
struct tls_conf {
  mbedtls_ssl_config ssl;
  mbedtls_x509_crt ca;          /* `ca`: trusted certificates; empty: the default roots */
  mbedtls_x509_crt own;         /* a server's chain, leaf first */
  mbedtls_pk_context key;       /* its private key */
  const char **alpn;            /* NULL-terminated, into alpn_buf; NULL for none */
  char *alpn_buf;
  int *suites;                  /* 0-terminated; NULL for every suite built in */
  u32_t refs;                   /* 1 for JS's handle, 1 per connection using it */
  u8_t server, has_ca, has_own, roots, freed;
};

/* tls_conf.c */
struct tls_conf *tls_conf_get(int id);
void tls_conf_ref(struct tls_conf *c);
void tls_conf_unref(struct tls_conf *c);
void tls_set_last_error(int err);

/* tls_roots.c: the Mozilla roots built in, looked up by subject name. */
int tls_roots_ca_cb(void *ctx, mbedtls_x509_crt const *child, mbedtls_x509_crt **candidates);

/* tls_platform.c: randomness and time from JS. */
int tls_rng(void *ctx, unsigned char *buf, size_t len);
long long tls_time(long long *t);

#endif /* LW_TLS_H */
