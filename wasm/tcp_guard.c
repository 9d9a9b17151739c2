/* Off-path segment checks (RFC 5961 sections 4-5) that lwIP 2.1.3 lacks.
 *
 * lwIP applies a segment's ACK, window and options before it checks the sequence number,
 * and its wrapping comparisons accept a sequence exactly 2^31 away. So one forged segment
 * from someone who knows only the addresses and ports can zero a connection's send
 * window, shrink its MSS, or close it. On a synchronized connection we therefore drop,
 * before lwIP sees it, a segment whose sequence number is outside the receive window
 * (allowing old duplicates, which lwIP must see to re-ACK) or whose ACK is outside
 * [SND.UNA - MAX.SND.WND, SND.NXT], as Linux does. RSTs and SYNs are left to lwIP,
 * which already demands an exact sequence for them.
 *
 * Two more things lwIP does differently from Linux live here too:
 * - Initial sequence numbers. lwIP's are a counter plus its tick count, which anyone
 *   can predict. Ours follow RFC 6528: a 4 µs clock plus a keyed hash (SipHash-2-4) of
 *   the connection's addresses and ports, so they cannot be guessed off-path, and they
 *   grow over time for a given 4-tuple.
 * - A SYN for a connection in TIME_WAIT. lwIP answers an in-window one with a RST, so
 *   a client that reuses its port soon after the server closed gets ECONNREFUSED. Linux
 *   (RFC 1122 4.2.2.13) ends TIME_WAIT when the SYN's sequence is beyond what the old
 *   connection received, and lets the listener take it; so do we. */
#include <string.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/sys.h"
#include "tcp_guard.h"
#include "hooks.h"

static int
tcp_guard_synchronized(enum tcp_state state)
{
  switch (state) {
    case ESTABLISHED:
    case FIN_WAIT_1:
    case FIN_WAIT_2:
    case CLOSE_WAIT:
    case CLOSING:
    case LAST_ACK:
      return 1;
    default:
      return 0;   /* LISTEN, SYN_*, TIME_WAIT: lwIP's own checks are the right ones */
  }
}

int tcp_guard_retry;

err_t
tcp_guard_inpacket(struct tcp_pcb *pcb, const struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len,
                   const u8_t *opt2, const struct pbuf *p)
{
  u8_t flags = TCPH_FLAGS(hdr);
  u32_t seq, ack, wnd, back;
  s32_t d;
  if (pcb->state == LISTEN && pcb->local_port == 0) {
    /* a gateway's catch-all listener (patch 0021): its SYNs wait for a verdict */
    return intercept_tcp_input(pcb, hdr, optlen, opt1len, opt2, p);
  }
  if (pcb->state == TIME_WAIT && (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
      TCP_SEQ_GT(hdr->seqno, pcb->rcv_nxt)) {
    /* A new connection on the old 4-tuple: end TIME_WAIT (no RST is sent for it) and
     * have the caller feed the frame again, to find the listener this time. */
    tcp_abort(pcb);
    tcp_guard_retry = 1;
    return ERR_ABRT;
  }
  if (!tcp_guard_synchronized(pcb->state) || (flags & (TCP_RST | TCP_SYN))) {
    return ERR_OK;
  }
  /* Sequence: the segment must start no later than the right edge we announced, and no
   * earlier than one full window behind (duplicates and keepalives). Signed distances
   * reject the 2^31 ambiguity outright. */
  seq = hdr->seqno;   /* tcp_input has already turned the header to host order */
  wnd = LWIP_MAX(pcb->rcv_wnd, pcb->rcv_ann_right_edge - pcb->rcv_nxt);
  back = LWIP_MAX((u32_t)TCP_WND_MAX(pcb), wnd);
  d = (s32_t)(seq - pcb->rcv_nxt);
  if (d > (s32_t)wnd || d < -(s32_t)back) {
    return ERR_ABRT;
  }
  if (d == (s32_t)wnd && wnd != 0 && p->tot_len > 0) {
    return ERR_ABRT;   /* data starting exactly at the right edge is beyond the window */
  }
  /* Acknowledgement: nothing we have not sent, nothing older than the peer's largest
   * window behind what it already acknowledged. */
  if (flags & TCP_ACK) {
    ack = hdr->ackno;
    if (TCP_SEQ_GT(ack, pcb->snd_nxt) ||
        (s32_t)(pcb->lastack - ack) > (s32_t)LWIP_MAX(pcb->snd_wnd_max, pcb->mss)) {
      return ERR_ABRT;
    }
  }
  return ERR_OK;
}

/* --- Initial sequence numbers (RFC 6528) --------------------------------------------- */

#define ROTL(x, b) (u64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(u64_t v[4])
{
  v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
  v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
  v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
  v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

/* SipHash-2-4 of len bytes under a 128-bit key. */
static u64_t
siphash24(const u64_t key[2], const u8_t *in, size_t len)
{
  u64_t v[4] = {
    key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
    key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull
  };
  u64_t m, last = (u64_t)len << 56;
  size_t i;
  for (i = 0; i + 8 <= len; i += 8) {
    memcpy(&m, in + i, 8);   /* wasm is little-endian, as SipHash reads its words */
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
  }
  for (; i < len; i++) {
    last |= (u64_t)in[i] << (8 * (i & 7));
  }
  v[3] ^= last;
  sip_round(v);
  sip_round(v);
  v[0] ^= last;
  v[2] ^= 0xff;
  for (i = 0; i < 4; i++) {
    sip_round(v);
  }
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

u32_t
tcp_guard_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip, u16_t remote_port)
{
  static u64_t key[2];
  static int keyed;
  u8_t in[2 * sizeof(ip_addr_t) + 4];
  size_t n = 0;
  if (!keyed) {   /* from the stack's randomness: crypto, or the seed a test gave */
    key[0] = ((u64_t)LWIP_RAND() << 32) | LWIP_RAND();
    key[1] = ((u64_t)LWIP_RAND() << 32) | LWIP_RAND();
    keyed = 1;
  }
  memcpy(in + n, local_ip, sizeof(ip_addr_t));
  n += sizeof(ip_addr_t);
  memcpy(in + n, remote_ip, sizeof(ip_addr_t));
  n += sizeof(ip_addr_t);
  memcpy(in + n, &local_port, 2);
  memcpy(in + n + 2, &remote_port, 2);
  n += 4;
  /* M is a 4 µs clock (RFC 6528 section 3), from the stack's own, maybe virtual, time. */
  return (u32_t)(sys_now() * 250u) + (u32_t)siphash24(key, in, n);
}
