/* The default trust store: the Mozilla roots of Debian's ca-certificates, taken when the
 * wasm was built (scripts/gen-roots.mjs writes build/tls_roots.inc). They stay DER in
 * the wasm's data; when Mbed TLS looks for the issuer of a certificate in a chain, this
 * finds the roots whose subject is that issuer's name and parses only those, pointing
 * into the data rather than copying it. So the roots cost no heap until one is used,
 * and only a few hundred bytes while it is. */
#include <stdlib.h>
#include <string.h>
#include "tls.h"

struct tls_root {
  u32_t off, len;            /* the certificate, in roots_der */
  u32_t subj_off, subj_len;  /* its subject Name, within the certificate */
};

#include "tls_roots.inc"   /* roots_der[], roots[], ROOTS_COUNT */

int
tls_roots_ca_cb(void *ctx, mbedtls_x509_crt const *child, mbedtls_x509_crt **candidates)
{
  mbedtls_x509_crt *chain = NULL;
  u32_t i;
  LWIP_UNUSED_ARG(ctx);
  *candidates = NULL;
  for (i = 0; i < ROOTS_COUNT; i++) {
    const struct tls_root *r = &roots[i];
    if (r->subj_len != child->issuer_raw.len ||
        memcmp(roots_der + r->off + r->subj_off, child->issuer_raw.p, r->subj_len) != 0) {
      continue;
    }
    if (chain == NULL) {
      chain = (mbedtls_x509_crt *)calloc(1, sizeof(*chain));
      if (chain == NULL) {
        return -1;   /* Mbed TLS fails the verification (fatal error) */
      }
      mbedtls_x509_crt_init(chain);
    }
    /* A root that does not parse with this build (an algorithm left out) is skipped. */
    (void)mbedtls_x509_crt_parse_der_nocopy(chain, roots_der + r->off, r->len);
  }
  if (chain != NULL && chain->raw.p == NULL) {
    mbedtls_x509_crt_free(chain);
    free(chain);
    chain = NULL;
  }
  *candidates = chain;   /* Mbed TLS frees it after the search */
  return 0;
}
