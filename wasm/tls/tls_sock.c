/* TLS over a connected stream socket, inside the wasm. tls_attach puts a layer (lw.h's
 * struct lw_layer) on the socket: from then on its send, recv, shutdown, close, pending
 * and readiness go through Mbed TLS, whose BIO reads and writes the TCP byte stream
 * below with tcp_sock_recv and tcp_sock_send. JS sees only plaintext, through the same
 * descriptor and the same poll bits: STARTTLS is tls_attach on a socket that already
 * carried plain text.
 *
 * The handshake and the decryption move on whenever the socket's readiness is
 * recomputed (sock_refresh, after every lwIP callback and socket call): the layer's
 * events op first pumps Mbed TLS as far as the bytes at hand allow, then reports.
 * One decrypted record is held ahead of the reader (Mbed TLS's own buffer), so POLLIN
 * means plaintext is there, and a reader that stops stops the TCP window too.
 * Sends are cut to what TCP can take now, so a record is never left half-queued except
 * when lwIP's segment queue is short; Mbed TLS keeps such a tail and it is flushed when
 * TCP's send buffer drains. When the handshake ends, one way or the other, the change
 * stream gets an LW_CHANGE_TLS entry for the descriptor. A failure is sticky: every
 * later send and recv returns EPROTO, and tls_info says why. */
#include <stdlib.h>
#include <string.h>
#include "tls.h"
#include "mbedtls/ssl_internal.h"   /* mbedtls_ssl_flush_output */
#include "mbedtls/net_sockets.h"    /* MBEDTLS_ERR_NET_* */

struct lw_tls {
  struct lw_layer layer;       /* first: s->layer points here */
  struct lw_sock *sock;
  struct tls_conf *conf;
  mbedtls_ssl_context ssl;
  struct lw_changer change;    /* LW_CHANGE_TLS: the handshake ended */
  u8_t ip[16];                 /* the address a certificate must name (ip_len bytes) */
  int lib_error;               /* Mbed TLS's error that failed it */
  int io_error;                /* a TCP error the BIO met (positive errno) */
  u32_t alert;                 /* the fatal alert the peer sent; 256 for none */
  u32_t verify_flags;
  u8_t state;                  /* LW_TLS_STATE_* */
  u8_t error;                  /* LW_TLSERR_* */
  u8_t eof;                    /* close_notify or TCP's FIN: reads end */
  u8_t bio_eof;                /* the BIO saw TCP's end of stream */
  u8_t sent_close;             /* close_notify sent (or queued) */
  u8_t shut_pending;           /* SHUT_WR waits for close_notify to leave */
  u8_t ip_len;                 /* 4 or 16; 0: names are checked, not an address */
  u8_t bio_more;               /* sends in a batch: tcp_output once at its end */
};

#define TLS_OF(s) ((struct lw_tls *)(void *)(s)->layer)

/* --- the BIO: Mbed TLS's bytes to and from TCP -------------------------------------- */

static int
tls_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
  struct lw_tls *t = (struct lw_tls *)ctx;
  int r = tcp_sock_send(t->sock, buf, (u32_t)len, t->bio_more ? LW_MSG_MORE : 0);
  if (r == -LW_EAGAIN) {
    return MBEDTLS_ERR_SSL_WANT_WRITE;
  }
  if (r < 0) {
    t->io_error = -r;
    return MBEDTLS_ERR_NET_SEND_FAILED;
  }
  return r;
}

static int
tls_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
  struct lw_tls *t = (struct lw_tls *)ctx;
  int r = tcp_sock_recv(t->sock, buf, (u32_t)len, 0);
  if (r == -LW_EAGAIN) {
    return MBEDTLS_ERR_SSL_WANT_READ;
  }
  if (r == 0) {
    t->bio_eof = 1;
    return 0;   /* Mbed TLS: MBEDTLS_ERR_SSL_CONN_EOF */
  }
  if (r < 0) {
    t->io_error = -r;
    return MBEDTLS_ERR_NET_RECV_FAILED;
  }
  return r;
}

/* --- why it failed ------------------------------------------------------------------ */

static u8_t
tls_classify_verify(u32_t flags)
{
  if (flags & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING)) {
    return LW_TLSERR_CERT_UNKNOWN_CA;
  }
  if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
    return LW_TLSERR_CERT_EXPIRED;
  }
  if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
    return LW_TLSERR_CERT_NOT_YET_VALID;
  }
  if (flags == MBEDTLS_X509_BADCERT_CN_MISMATCH) {
    return LW_TLSERR_CERT_HOSTNAME;
  }
  if (flags & ~(u32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH) {
    return LW_TLSERR_CERT_INVALID;
  }
  return LW_TLSERR_CERT_HOSTNAME;
}

static u8_t
tls_classify(struct lw_tls *t, int ret)
{
  switch (ret) {
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
      return tls_classify_verify(t->verify_flags);
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
      t->alert = t->ssl.in_msg[1];
      switch (t->alert) {
        case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
        case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
          return LW_TLSERR_HANDSHAKE_FAILURE;
        case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
          return LW_TLSERR_PROTOCOL_VERSION;
        case MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL:
          return LW_TLSERR_NO_APPLICATION_PROTOCOL;
        default:
          return LW_TLSERR_ALERT;
      }
    case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
    case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
    case MBEDTLS_ERR_SSL_PK_TYPE_MISMATCH:
      return LW_TLSERR_HANDSHAKE_FAILURE;
    case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
      return LW_TLSERR_PROTOCOL_VERSION;
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
    case MBEDTLS_ERR_SSL_INVALID_MAC:
    case MBEDTLS_ERR_SSL_UNEXPECTED_RECORD:
    case MBEDTLS_ERR_SSL_COUNTER_WRAPPING:
      return LW_TLSERR_BAD_RECORD;
    case MBEDTLS_ERR_SSL_CERTIFICATE_TOO_LARGE:   /* ours, to send */
    case MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE:
      /* a handshake message that does not fit one 16 KiB record: Mbed TLS 2.28 does not
       * reassemble them, and the one that grows is the certificate chain */
      return LW_TLSERR_CERT_CHAIN_TOO_LARGE;
    case MBEDTLS_ERR_SSL_CONN_EOF:
      return LW_TLSERR_TRUNCATED;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
    case MBEDTLS_ERR_X509_ALLOC_FAILED:
    case MBEDTLS_ERR_MPI_ALLOC_FAILED:
    case MBEDTLS_ERR_ECP_ALLOC_FAILED:
      return LW_TLSERR_NO_MEMORY;
    default:
      break;
  }
  if (ret <= MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO && ret >= MBEDTLS_ERR_SSL_BAD_HS_FINISHED) {
    return LW_TLSERR_BAD_HANDSHAKE;   /* the BAD_HS_* range: a malformed message */
  }
  if (ret == MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE || ret == MBEDTLS_ERR_SSL_BAD_HS_NEW_SESSION_TICKET ||
      (ret <= -0x2000 && ret > -0x3000)) {
    return LW_TLSERR_BAD_HANDSHAKE;   /* or an X.509 parse error in the peer's chain */
  }
  return LW_TLSERR_INTERNAL;
}

static void
tls_fail(struct lw_tls *t, int ret)
{
  if (t->state == LW_TLS_STATE_FAILED) {
    return;
  }
  if (ret == MBEDTLS_ERR_SSL_CONN_EOF && t->state == LW_TLS_STATE_OPEN) {
    t->eof = 1;   /* TCP ended without close_notify: the end of the stream, as Node takes it */
    return;
  }
  t->verify_flags = mbedtls_ssl_get_verify_result(&t->ssl);
  if (t->verify_flags == (u32_t)-1) {
    t->verify_flags = 0;
  }
  t->lib_error = ret;
  if (t->io_error != 0) {
    /* the TCP connection itself failed (reset, timed out): the socket's own error */
    if (t->state == LW_TLS_STATE_OPEN) {
      return;   /* recv and send report io_error; nothing about TLS failed */
    }
    t->error = LW_TLSERR_TRUNCATED;
  } else {
    t->error = tls_classify(t, ret);
  }
  if (t->state == LW_TLS_STATE_HANDSHAKE) {
    change_post(&t->change, 0);
  }
  t->state = LW_TLS_STATE_FAILED;
}

/* --- moving it on --------------------------------------------------------------------- */

/* The verification callback of a connection to an IP address: the leaf must name it in
 * an iPAddress subjectAltName (Mbed TLS 2.28 matches DNS names only). */
static int
tls_verify_ip(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
  struct lw_tls *t = (struct lw_tls *)ctx;
  const mbedtls_x509_sequence *san;
  if (depth != 0 || t->ip_len == 0) {
    return 0;
  }
  /* bounded: the certificate's own list of names */
  for (san = &crt->subject_alt_names; san != NULL; san = san->next) {
    if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && san->buf.len == t->ip_len &&
        memcmp(san->buf.p, t->ip, t->ip_len) == 0) {
      return 0;
    }
  }
  *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  return 0;
}

static void
tls_output(struct lw_tls *t)
{
  if (t->sock->pcb.tcp != NULL) {
    tcp_output(t->sock->pcb.tcp);
  }
}

/* Runs the handshake, flushes what is queued, and decrypts one record ahead of the
 * reader, as far as the bytes at hand allow. */
static void
tls_pump(struct lw_tls *t)
{
  int ret;
  if (t->state == LW_TLS_STATE_FAILED) {
    return;
  }
  if (t->ssl.out_left > 0) {
    ret = mbedtls_ssl_flush_output(&t->ssl);
    if (ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
      tls_fail(t, ret);
      return;
    }
    if (ret == 0 && t->shut_pending) {
      t->shut_pending = 0;
      tcp_sock_shutdown(t->sock, LW_SHUT_WR);
    }
  }
  if (t->state == LW_TLS_STATE_HANDSHAKE) {
    ret = mbedtls_ssl_handshake(&t->ssl);
    tls_output(t);
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
      if (!t->bio_eof || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return;
      }
      ret = MBEDTLS_ERR_SSL_CONN_EOF;
    }
    if (ret != 0) {
      tls_fail(t, ret);
      return;
    }
    t->state = LW_TLS_STATE_OPEN;
    t->verify_flags = mbedtls_ssl_get_verify_result(&t->ssl);
    change_post(&t->change, 1);
  }
  /* Decrypt ahead: bounded by the bytes queued, since each pass either consumes a
   * record (application data, an empty one, a warning alert) or stops. */
  while (!t->eof && mbedtls_ssl_get_bytes_avail(&t->ssl) == 0) {
    ret = mbedtls_ssl_read(&t->ssl, NULL, 0);
    if (ret == 0) {
      if (mbedtls_ssl_get_bytes_avail(&t->ssl) > 0) {
        break;
      }
      if (t->bio_eof) {
        t->eof = 1;
      }
      continue;   /* an empty record */
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
      if (t->sock->rx_bytes > 0 || mbedtls_ssl_check_pending(&t->ssl)) {
        continue;   /* a warning alert was read; records follow */
      }
      break;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
      break;
    }
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
      t->eof = 1;
      break;
    }
    tls_fail(t, ret);
    tls_output(t);   /* the alert Mbed TLS sent about it */
    break;
  }
}

/* --- the layer's operations ------------------------------------------------------------- */

static u32_t
tls_events(struct lw_sock *s, u32_t tcp)
{
  struct lw_tls *t = TLS_OF(s);
  u32_t ev = tcp & (LW_POLLERR | LW_POLLHUP);
  tls_pump(t);
  if (t->state == LW_TLS_STATE_FAILED) {
    return ev | LW_POLLERR | LW_POLLIN | LW_POLLOUT | (tcp & LW_POLLRDHUP);
  }
  if (t->state == LW_TLS_STATE_HANDSHAKE) {
    return ev;
  }
  if (mbedtls_ssl_get_bytes_avail(&t->ssl) > 0 || t->eof || t->io_error != 0 || (s->flags & SF_RD_SHUT)) {
    ev |= LW_POLLIN;
  }
  if (t->eof || (s->flags & SF_RD_SHUT)) {
    ev |= LW_POLLRDHUP;
  }
  if ((tcp & LW_POLLOUT) && t->ssl.out_left == 0) {
    ev |= LW_POLLOUT;
  }
  return ev;
}

static int
tls_send(struct lw_sock *s, const u8_t *buf, u32_t len, int flags)
{
  struct lw_tls *t = TLS_OF(s);
  u32_t done = 0;
  int r, exp;
  if (t->state == LW_TLS_STATE_FAILED) {
    return t->io_error ? -t->io_error : -LW_EPROTO;
  }
  if (t->io_error != 0) {
    return -t->io_error;
  }
  if (t->sent_close) {
    return -LW_EPIPE;
  }
  r = tcp_sock_send(s, buf, 0, 0);   /* TCP's own verdict: a pending error, EPIPE ... */
  if (r < 0) {
    return r;
  }
  if (t->state == LW_TLS_STATE_HANDSHAKE) {
    return -LW_EAGAIN;   /* writable once the handshake is over (POLLOUT) */
  }
  if (t->ssl.out_left > 0) {
    r = mbedtls_ssl_flush_output(&t->ssl);
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
      return -LW_EAGAIN;
    }
    if (r != 0) {
      tls_fail(t, r);
      return t->io_error ? -t->io_error : -LW_EPROTO;
    }
  }
  exp = mbedtls_ssl_get_record_expansion(&t->ssl);
  if (exp < 0) {
    exp = 64;
  }
  t->bio_more = 1;
  /* bounded by len, and by TCP's room, which each record uses up */
  while (done < len) {
    u32_t room = sock_tcp_send_room(s);
    u32_t n = len - done;
    if (room <= (u32_t)exp) {
      break;
    }
    if (n > room - (u32_t)exp) {
      n = room - (u32_t)exp;
    }
    if (n > MBEDTLS_SSL_OUT_CONTENT_LEN) {
      n = MBEDTLS_SSL_OUT_CONTENT_LEN;
    }
    r = mbedtls_ssl_write(&t->ssl, buf + done, n);
    if (r > 0) {
      done += (u32_t)r;
      continue;
    }
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE && t->ssl.out_left > 0) {
      done += n;   /* the record is made; its tail leaves when TCP has room */
    } else if (r != MBEDTLS_ERR_SSL_WANT_WRITE) {
      tls_fail(t, r);
    }
    break;
  }
  t->bio_more = 0;
  if (!(flags & LW_MSG_MORE)) {
    tls_output(t);
  }
  if (done > 0) {
    return (int)done;
  }
  if (t->state == LW_TLS_STATE_FAILED) {
    return t->io_error ? -t->io_error : -LW_EPROTO;
  }
  return t->io_error ? -t->io_error : -LW_EAGAIN;
}

static int
tls_recv(struct lw_sock *s, u8_t *buf, u32_t len, int flags)
{
  struct lw_tls *t = TLS_OF(s);
  u32_t done = 0;
  if (flags & LW_MSG_PEEK) {
    return -LW_EOPNOTSUPP;   /* plaintext is read once, as it is decrypted */
  }
  if (s->flags & SF_RD_SHUT) {
    return 0;
  }
  /* bounded by len, and by the records queued: each pass takes one record's bytes */
  while (done < len) {
    size_t avail = mbedtls_ssl_get_bytes_avail(&t->ssl);
    int r;
    if (avail == 0) {
      tls_pump(t);
      if (mbedtls_ssl_get_bytes_avail(&t->ssl) == 0) {
        break;
      }
    }
    r = mbedtls_ssl_read(&t->ssl, buf + done, len - done);
    if (r <= 0) {
      break;
    }
    done += (u32_t)r;
  }
  if (done > 0 || len == 0) {
    return (int)done;
  }
  if (t->state == LW_TLS_STATE_FAILED) {
    return t->io_error ? -t->io_error : -LW_EPROTO;
  }
  if (t->io_error != 0) {
    return -t->io_error;
  }
  if (t->eof) {
    return 0;
  }
  return -LW_EAGAIN;
}

static int
tls_shutdown(struct lw_sock *s, int how)
{
  struct lw_tls *t = TLS_OF(s);
  int wr = how == LW_SHUT_WR || how == LW_SHUT_RDWR;
  if (wr && !t->sent_close && t->state == LW_TLS_STATE_OPEN && s->state == LS_CONNECTED) {
    t->sent_close = 1;
    (void)mbedtls_ssl_close_notify(&t->ssl);
    tls_output(t);
    if (t->ssl.out_left > 0) {
      /* the alert waits for room: TCP's FIN follows it from tls_pump */
      t->shut_pending = 1;
      return how == LW_SHUT_RDWR ? tcp_sock_shutdown(s, LW_SHUT_RD) : 0;
    }
  }
  t->sent_close = t->sent_close || wr;
  return tcp_sock_shutdown(s, how);
}

static int
tls_pending(const struct lw_sock *s)
{
  return (int)mbedtls_ssl_get_bytes_avail(&TLS_OF(s)->ssl);
}

static void
tls_close(struct lw_sock *s)
{
  struct lw_tls *t = TLS_OF(s);
  if (t->state == LW_TLS_STATE_OPEN && !t->sent_close && s->state == LS_CONNECTED) {
    (void)mbedtls_ssl_close_notify(&t->ssl);
  }
  /* Ciphertext nobody will read (the peer's close_notify, say) would turn the close
   * into a reset; TLS says goodbye with close_notify, so let the FIN go. */
  if (s->state == LS_CONNECTED && !(s->flags & SF_RD_SHUT)) {
    tcp_sock_shutdown(s, LW_SHUT_RD);
  }
  change_drop(&t->change);
  mbedtls_ssl_free(&t->ssl);
  tls_conf_unref(t->conf);
  s->layer = NULL;
  free(t);
}

static const struct lw_layer_ops tls_ops = {
  tls_send, tls_recv, tls_shutdown, tls_pending, tls_events, tls_close,
};

/* --- exports -------------------------------------------------------------------------- */

/* Starts TLS on connected stream socket fd with configuration conf. A client names the
 * server: name (a host name: SNI, and what the certificate must name) or ip (an address
 * the certificate must name in an iPAddress entry; no SNI, as RFC 6066 says); neither
 * for a server. */
LW_EXPORT int
tls_attach(int fd, int conf, const char *name, const struct lw_addr *ip)
{
  struct lw_sock *s = sock_get(fd);
  struct tls_conf *c = tls_conf_get(conf);
  struct lw_tls *t;
  int r;
  if (s == NULL || c == NULL) {
    return -LW_EBADF;
  }
  if (s->type != LW_SOCK_STREAM) {
    return -LW_EOPNOTSUPP;
  }
  if (s->layer != NULL) {
    return -LW_EALREADY;
  }
  if (s->state != LS_CONNECTED || s->pcb.tcp == NULL) {
    return -LW_ENOTCONN;
  }
  t = (struct lw_tls *)calloc(1, sizeof(*t));
  if (t == NULL) {
    return -LW_ENOMEM;
  }
  t->layer.ops = &tls_ops;
  t->sock = s;
  t->conf = c;
  t->alert = 256;
  t->state = LW_TLS_STATE_HANDSHAKE;
  change_init(&t->change, LW_CHANGE_TLS, fd);
  mbedtls_ssl_init(&t->ssl);
  r = mbedtls_ssl_setup(&t->ssl, &c->ssl);
  if (r == 0 && name != NULL && name[0] != '\0' && !c->server) {
    r = mbedtls_ssl_set_hostname(&t->ssl, name);
  }
  if (r != 0) {
    tls_set_last_error(r);
    mbedtls_ssl_free(&t->ssl);
    free(t);
    return r == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -LW_ENOMEM : -LW_EINVAL;
  }
  if (ip != NULL && !c->server) {
    t->ip_len = ip->family == LW_AF_INET ? 4 : 16;
    memcpy(t->ip, ip->addr, t->ip_len);
    mbedtls_ssl_set_verify(&t->ssl, tls_verify_ip, t);
  }
  mbedtls_ssl_set_bio(&t->ssl, t, tls_bio_send, tls_bio_recv, NULL);
  tls_conf_ref(c);
  s->layer = &t->layer;
  sock_refresh(s);   /* a client's ClientHello leaves now */
  return 0;
}

LW_EXPORT int
tls_info(int fd, struct lw_tls_info *out)
{
  struct lw_sock *s = sock_get(fd);
  struct lw_tls *t;
  const char *alpn;
  memset(out, 0, sizeof(*out));
  if (s == NULL) {
    return -LW_EBADF;
  }
  if (s->layer == NULL) {
    return -LW_EINVAL;
  }
  t = TLS_OF(s);
  out->state = t->state;
  out->error = t->error;
  out->lib_error = t->lib_error;
  out->verify_flags = t->verify_flags;
  out->alert = t->alert;
  if (t->state != LW_TLS_STATE_HANDSHAKE) {
    out->version = t->ssl.major_ver == 3 ? (0x0300u | (u32_t)t->ssl.minor_ver) : 0;
    out->cipher = t->ssl.session != NULL ? (u32_t)t->ssl.session->ciphersuite : 0;
    alpn = mbedtls_ssl_get_alpn_protocol(&t->ssl);
    if (alpn != NULL) {
      size_t n = strlen(alpn);
      out->alpn_len = (u32_t)(n < sizeof(out->alpn) ? n : sizeof(out->alpn));
      memcpy(out->alpn, alpn, out->alpn_len);
    }
  }
  return 0;
}

/* Copies the peer's certificate (DER) into out; returns its length (which may exceed
 * cap: call again with more room), or 0 when there is none. */
LW_EXPORT int
tls_peer_cert(int fd, u8_t *out, u32_t cap)
{
  struct lw_sock *s = sock_get(fd);
  const mbedtls_x509_crt *crt;
  if (s == NULL) {
    return -LW_EBADF;
  }
  if (s->layer == NULL) {
    return -LW_EINVAL;
  }
  crt = mbedtls_ssl_get_peer_cert(&TLS_OF(s)->ssl);
  if (crt == NULL || crt->raw.p == NULL) {
    return 0;
  }
  if (crt->raw.len <= cap) {
    memcpy(out, crt->raw.p, crt->raw.len);
  }
  return (int)crt->raw.len;
}
