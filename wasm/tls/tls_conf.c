/* TLS configurations, numbered for JS: a client's (what it trusts, its ALPN list and
 * suites) or a server's (its certificate chain and key as well). A configuration is
 * built once and shared by every connection made with it; each holds a reference, so
 * tls_conf_free from JS only drops JS's, and the memory goes with the last connection.
 * Certificates and keys arrive as DER (JS turns PEM into DER). */
#include <stdlib.h>
#include <string.h>
#include "tls.h"
#include "mbedtls/ssl_ciphersuites.h"

#define CONF_MAX 4096   /* configurations alive at once (each is a few KB) */

static struct tls_conf **confs;
static u32_t conf_cap;
static int last_error;

void
tls_set_last_error(int err)
{
  last_error = err;
}

/* The Mbed TLS error behind the last failed tls_conf_* or tls_attach call (negative). */
LW_EXPORT int
tls_last_error(void)
{
  return last_error;
}

struct tls_conf *
tls_conf_get(int id)
{
  struct tls_conf *c;
  if (id < 1 || (u32_t)id > conf_cap) {
    return NULL;
  }
  c = confs[id - 1];
  return (c != NULL && !c->freed) ? c : NULL;
}

void
tls_conf_ref(struct tls_conf *c)
{
  c->refs++;
}

void
tls_conf_unref(struct tls_conf *c)
{
  u32_t i;
  if (--c->refs > 0) {
    return;
  }
  for (i = 0; i < conf_cap; i++) {
    if (confs[i] == c) {
      confs[i] = NULL;
    }
  }
  mbedtls_ssl_config_free(&c->ssl);
  mbedtls_x509_crt_free(&c->ca);
  mbedtls_x509_crt_free(&c->own);
  mbedtls_pk_free(&c->key);
  free(c->alpn);
  free(c->alpn_buf);
  free(c->suites);
  free(c);
}

LW_EXPORT int
tls_conf_new(int server)
{
  struct tls_conf *c;
  u32_t i;
  int r;
  for (i = 0; i < conf_cap && confs[i] != NULL; i++) {
  }
  if (i == conf_cap) {
    u32_t cap = conf_cap ? conf_cap * 2 : 16;
    struct tls_conf **n;
    if (cap > CONF_MAX) {
      return -LW_ENFILE;
    }
    n = (struct tls_conf **)realloc(confs, cap * sizeof(*n));
    if (n == NULL) {
      return -LW_ENOMEM;
    }
    memset(n + conf_cap, 0, (cap - conf_cap) * sizeof(*n));
    confs = n;
    conf_cap = cap;
  }
  c = (struct tls_conf *)calloc(1, sizeof(*c));
  if (c == NULL) {
    return -LW_ENOMEM;
  }
  mbedtls_ssl_config_init(&c->ssl);
  mbedtls_x509_crt_init(&c->ca);
  mbedtls_x509_crt_init(&c->own);
  mbedtls_pk_init(&c->key);
  r = mbedtls_ssl_config_defaults(&c->ssl, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                  MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (r != 0) {
    tls_set_last_error(r);
    c->refs = 1;
    tls_conf_unref(c);
    return -LW_ENOMEM;
  }
  c->server = server ? 1 : 0;
  c->refs = 1;
  mbedtls_ssl_conf_rng(&c->ssl, tls_rng, NULL);
  /* TLS 1.2 is all this build speaks (1.0 and 1.1 are not built in). */
  mbedtls_ssl_conf_min_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_max_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  /* A client verifies by default, against the built-in roots until `ca` is given; a
   * server asks for no client certificate. */
  mbedtls_ssl_conf_authmode(&c->ssl, server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
  if (!server) {
    c->roots = 1;
    mbedtls_ssl_conf_ca_cb(&c->ssl, tls_roots_ca_cb, NULL);
  }
  confs[i] = c;
  return (int)i + 1;
}

/* JS lets go of a configuration; connections using it keep it until they close. */
LW_EXPORT int
tls_conf_free(int id)
{
  struct tls_conf *c = tls_conf_get(id);
  if (c == NULL) {
    return -LW_EBADF;
  }
  c->freed = 1;
  tls_conf_unref(c);
  return 0;
}

LW_EXPORT int
tls_conf_set(int id, int key, u32_t value)
{
  struct tls_conf *c = tls_conf_get(id);
  if (c == NULL) {
    return -LW_EBADF;
  }
  switch (key) {
    case LW_TLS_CONF_VERIFY:
      if (value > 2) {
        return -LW_EINVAL;
      }
      mbedtls_ssl_conf_authmode(&c->ssl, value == 0 ? MBEDTLS_SSL_VERIFY_NONE
                                         : value == 1 ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_REQUIRED);
      return 0;
    case LW_TLS_CONF_DEFAULT_ROOTS:
      c->roots = value ? 1 : 0;
      if (c->roots) {
        mbedtls_ssl_conf_ca_cb(&c->ssl, tls_roots_ca_cb, NULL);
      } else if (c->has_ca) {
        mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, NULL);
      } else {
        mbedtls_ssl_conf_ca_chain(&c->ssl, NULL, NULL);
      }
      return 0;
    default:
      return -LW_EINVAL;
  }
}

/* Adds one trusted certificate; the first one replaces the default roots, as Node's
 * `ca` option does. */
LW_EXPORT int
tls_conf_add_ca(int id, const u8_t *der, u32_t len)
{
  struct tls_conf *c = tls_conf_get(id);
  int r;
  if (c == NULL) {
    return -LW_EBADF;
  }
  r = mbedtls_x509_crt_parse_der(&c->ca, der, len);
  if (r != 0) {
    tls_set_last_error(r);
    return r == MBEDTLS_ERR_X509_ALLOC_FAILED ? -LW_ENOMEM : -LW_EINVAL;
  }
  c->has_ca = 1;
  c->roots = 0;
  mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, NULL);
  return 0;
}

/* Adds one certificate of our own chain, leaf first (a server's; a client's would be
 * for client authentication, which is not offered). */
LW_EXPORT int
tls_conf_add_cert(int id, const u8_t *der, u32_t len)
{
  struct tls_conf *c = tls_conf_get(id);
  int r;
  if (c == NULL) {
    return -LW_EBADF;
  }
  r = mbedtls_x509_crt_parse_der(&c->own, der, len);
  if (r != 0) {
    tls_set_last_error(r);
    return r == MBEDTLS_ERR_X509_ALLOC_FAILED ? -LW_ENOMEM : -LW_EINVAL;
  }
  c->has_own = 1;
  return 0;
}

/* The private key of the chain added before; it must match the leaf's public key. */
LW_EXPORT int
tls_conf_set_key(int id, const u8_t *der, u32_t len)
{
  struct tls_conf *c = tls_conf_get(id);
  int r;
  if (c == NULL) {
    return -LW_EBADF;
  }
  if (!c->has_own) {
    return -LW_EINVAL;
  }
  mbedtls_pk_free(&c->key);
  mbedtls_pk_init(&c->key);
  r = mbedtls_pk_parse_key(&c->key, der, len, NULL, 0);
  if (r == 0) {
    r = mbedtls_pk_check_pair(&c->own.pk, &c->key);
  }
  if (r == 0) {
    r = mbedtls_ssl_conf_own_cert(&c->ssl, &c->own, &c->key);
  }
  if (r != 0) {
    tls_set_last_error(r);
    mbedtls_pk_free(&c->key);
    mbedtls_pk_init(&c->key);
    return -LW_EINVAL;
  }
  return 0;
}

/* ALPN protocols in wire format (each a length byte, then the name), most preferred
 * first; a server picks the first of its own the client offers. */
LW_EXPORT int
tls_conf_alpn(int id, const u8_t *wire, u32_t len)
{
  struct tls_conf *c = tls_conf_get(id);
  u32_t n = 0, off = 0, i;
  char *buf;
  const char **list;
  if (c == NULL) {
    return -LW_EBADF;
  }
  /* bounded by len: each step moves past one length byte and its name */
  while (off < len) {
    if (wire[off] == 0 || off + 1u + wire[off] > len) {
      return -LW_EINVAL;
    }
    off += 1u + wire[off];
    n++;
  }
  if (n == 0) {
    return -LW_EINVAL;
  }
  buf = (char *)malloc(len + 1u);
  list = (const char **)calloc(n + 1u, sizeof(*list));
  if (buf == NULL || list == NULL) {
    free(buf);
    free(list);
    return -LW_ENOMEM;
  }
  /* the names, each followed by a NUL where the next length byte was */
  for (off = 0, i = 0; i < n; i++) {
    u8_t l = wire[off];
    memcpy(buf + off, wire + off + 1, l);
    buf[off + l] = '\0';
    list[i] = buf + off;
    off += 1u + l;
  }
  if (mbedtls_ssl_conf_alpn_protocols(&c->ssl, list) != 0) {
    free(buf);
    free(list);
    return -LW_EINVAL;
  }
  free(c->alpn);
  free(c->alpn_buf);
  c->alpn = list;
  c->alpn_buf = buf;
  return 0;
}

/* Narrows the suites to count IANA numbers (big-endian pairs), in preference order. */
LW_EXPORT int
tls_conf_ciphers(int id, const u8_t *ids, u32_t count)
{
  struct tls_conf *c = tls_conf_get(id);
  int *list;
  u32_t i;
  if (c == NULL) {
    return -LW_EBADF;
  }
  if (count == 0 || count > 64) {
    return -LW_EINVAL;
  }
  list = (int *)calloc(count + 1u, sizeof(*list));
  if (list == NULL) {
    return -LW_ENOMEM;
  }
  for (i = 0; i < count; i++) {
    list[i] = (ids[2 * i] << 8) | ids[2 * i + 1];
    if (mbedtls_ssl_ciphersuite_from_id(list[i]) == NULL) {
      free(list);
      return -LW_EINVAL;   /* not one of the suites built in */
    }
  }
  mbedtls_ssl_conf_ciphersuites(&c->ssl, list);
  free(c->suites);
  c->suites = list;
  return 0;
}
