/* CUBIC congestion control (RFC 9438), as Linux's default (net/ipv4/tcp_cubic.c) with
 * its constants: beta 717/1024, C 0.4, fast convergence, the Reno-friendly region.
 * Linux's HyStart is left out: it ends slow start on delay increases measured in
 * microseconds, and our clock has milliseconds (on a link with a sub-millisecond RTT
 * it would never fire). Slow start is RFC 5681's with Linux's increase of one segment
 * per segment acknowledged; cwnd is kept in bytes, CUBIC's arithmetic in segments.
 *
 * Why CUBIC: it is what the Linux peers users compare against run, so the same loss
 * pattern costs about the same window: 0.7 of it per loss event, and then growth
 * that at small bandwidth-delay products follows the Reno-friendly line. */
#include <math.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "tcp_loss.h"

#define BETA        717u    /* / 1024 */
#define BETA_SCALE  1024u
#define CUBIC_C     0.4
/* Reno-friendly estimate: one segment per cwnd * 8 / 15 ACKed segments
 * (3 (1 - beta) / (1 + beta) segments per RTT, in Linux's fixed point: 15). */
#define FRIENDLY_SCALE (8u * (BETA_SCALE + BETA) / 3u / (BETA_SCALE - BETA))

void
tcp_cc_init(struct tcp_pcb *pcb)
{
  struct tcp_loss *l = &pcb->loss;
  l->cubic_wmax = l->cubic_origin = l->cubic_epoch = l->cubic_k = 0;
  l->cubic_cnt = l->cubic_ack_cnt = l->cubic_tcp_cwnd = l->cwnd_cnt = l->acked_rem = 0;
}

static u32_t
segs_of(const struct tcp_pcb *pcb, u32_t bytes)
{
  u32_t s = bytes / (pcb->mss ? pcb->mss : 1);
  return s > 0 ? s : 1;
}

u32_t
tcp_cc_ssthresh(struct tcp_pcb *pcb)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t segs = segs_of(pcb, pcb->cwnd);
  u32_t ss;
  l->cubic_epoch = 0;
  /* fast convergence: release bandwidth for newer flows */
  if (segs < l->cubic_wmax) {
    l->cubic_wmax = segs * (BETA_SCALE + BETA) / (2u * BETA_SCALE);
  } else {
    l->cubic_wmax = segs;
  }
  ss = segs * BETA / BETA_SCALE;
  if (ss < 2) {
    ss = 2;
  }
  return ss * pcb->mss;
}

void
tcp_cc_on_rto(struct tcp_pcb *pcb)
{
  tcp_cc_init(pcb);   /* Linux resets CUBIC's state on entering Loss */
}

/* Segments to ACK before cwnd grows by one (Linux: bictcp_update). */
static u32_t
cubic_cnt(struct tcp_pcb *pcb, u32_t segs, u32_t acked, u32_t now)
{
  struct tcp_loss *l = &pcb->loss;
  double t, target, cnt;
  u32_t delta, max_cnt;

  l->cubic_ack_cnt += acked;
  if (l->cubic_epoch == 0) {
    l->cubic_epoch = now ? now : 1;
    l->cubic_ack_cnt = acked;
    l->cubic_tcp_cwnd = segs;
    if (l->cubic_wmax <= segs) {
      l->cubic_k = 0;
      l->cubic_origin = segs;
    } else {
      l->cubic_k = (u32_t)(cbrt((double)(l->cubic_wmax - segs) / CUBIC_C) * 1000.0);
      l->cubic_origin = l->cubic_wmax;
    }
  }
  /* time since the epoch, one min RTT ahead (where cwnd will be when this ACK's
   * data is acked), in seconds from K */
  t = ((double)(now - l->cubic_epoch) + (l->min_rtt != 0xffffffffu ? (double)l->min_rtt : 0.0) -
       (double)l->cubic_k) / 1000.0;
  target = (double)l->cubic_origin + CUBIC_C * t * t * t;
  if (target > (double)segs) {
    cnt = (double)segs / (target - (double)segs);
  } else {
    cnt = 100.0 * (double)segs;
  }
  if (l->cubic_wmax == 0 && cnt > 20.0) {
    cnt = 20.0;   /* no loss yet: at least 5% growth per RTT */
  }
  /* the Reno-friendly region */
  delta = (segs * FRIENDLY_SCALE) >> 3;
  if (delta > 0) {
    while (l->cubic_ack_cnt > delta) {
      l->cubic_ack_cnt -= delta;
      l->cubic_tcp_cwnd++;
    }
  }
  if (l->cubic_tcp_cwnd > segs) {
    max_cnt = segs / (l->cubic_tcp_cwnd - segs);
    if (cnt > (double)max_cnt) {
      cnt = (double)max_cnt;
    }
  }
  if (cnt < 2.0) {
    cnt = 2.0;   /* at most 1.5 times per RTT */
  }
  return cnt > 1e9 ? 1000000000u : (u32_t)cnt;
}

void
tcp_cc_cong_avoid(struct tcp_pcb *pcb, u32_t acked, u32_t now)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t segs, n;
  if (pcb->cwnd < pcb->ssthresh) {
    /* slow start */
    u32_t inc = LWIP_MIN(acked, pcb->ssthresh - pcb->cwnd);
    TCP_WND_INC(pcb->cwnd, inc);
    acked -= inc;
    if (acked == 0) {
      return;
    }
  }
  l->acked_rem += acked;
  n = l->acked_rem / (pcb->mss ? pcb->mss : 1);
  if (n == 0) {
    return;
  }
  l->acked_rem -= n * pcb->mss;
  segs = segs_of(pcb, pcb->cwnd);
  l->cubic_cnt = cubic_cnt(pcb, segs, n, now);
  l->cwnd_cnt += n;
  if (l->cwnd_cnt >= l->cubic_cnt) {
    u32_t grow = l->cwnd_cnt / l->cubic_cnt;
    l->cwnd_cnt -= grow * l->cubic_cnt;
    TCP_WND_INC(pcb->cwnd, grow * pcb->mss);
  }
}
