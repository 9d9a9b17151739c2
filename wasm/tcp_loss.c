/* TCP timing and loss recovery at millisecond granularity, in Linux's shape, for
 * lwIP 2.1.3 (which quantises retransmissions to a 500 ms tick and delayed ACKs to a
 * 250 ms one, and has no sender side of SACK).
 *
 * - Timers: each connection has a retransmission slot (RTO, tail loss probe or RACK
 *   reordering timeout, as Linux's icsk_pending) and a delayed-ACK deadline; one lwIP
 *   timeout is armed at the earliest of them all, so a stack whose connections need no
 *   timer has none armed, and nothing ticks.
 * - RTT and RTO: RFC 6298 from every ACK of new data (a segment's send time, Karn's
 *   rule, or a timestamp echo), with Linux's bounds: RTO = SRTT + max(4 RTTVAR, 200 ms),
 *   1 s before the first sample (3 s after a lost SYN), doubling to 120 s.
 * - Scoreboard: unacked segments stay on the unacked queue and carry SACKED, LOST and
 *   RETRANS marks; in-flight data is RFC 6675's pipe; a connection without SACK counts
 *   duplicate ACKs as SACKed segments (as Linux's Reno emulation) and recovers as
 *   NewReno. Limited transmit (RFC 3042) follows: each SACK or dupack lowers the pipe.
 * - Loss detection: RACK (RFC 8985) and DupThresh (RFC 6675 IsLost); a tail loss probe
 *   (RFC 8985 7) 2 SRTT after the last send; the RTO marks every unSACKed segment lost.
 * - Recovery: PRR (RFC 6937) paces retransmissions and new data; cwnd follows CUBIC
 *   (tcp_cubic.c). */
#include <stdint.h>
#include <string.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"
#include "lwip/sys.h"
#include "tcp_loss.h"
#include "hooks.h"

u8_t tcp_loss_in_nsacks;
u32_t tcp_loss_in_sacks[TCP_LOSS_MAX_SACK][2];
u32_t tcp_loss_in_tsecr;

#define NO_RTT 0xffffffffu
#define DUPTHRESH 3
#define DUE(at, now) ((s32_t)((at) - (now)) <= 0)
#define EARLIER(a, b) ((s32_t)((a) - (b)) < 0)

static u32_t xmit_order;     /* stack-wide transmission counter (RACK's "sent after") */
static u8_t timer_armed;
static u32_t timer_at;
static u8_t walk_pass;
/* Carried from tcp_loss_ack_pre() to tcp_loss_ack_post() for the same ACK: what it
 * delivered, whether it SACKed anything new, and the clock (read once per ACK: each
 * read is a call out of wasm, and an ACK's processing takes no time in ms). */
static u32_t ack_delivered;
static u8_t ack_new_sacks;
static u32_t ack_now;

static u32_t
seg_seq(const struct tcp_seg *s)
{
  return lwip_ntohl(s->tcphdr->seqno);
}

static u32_t
seg_end(const struct tcp_seg *s)
{
  return seg_seq(s) + TCP_TCPLEN(s);
}

/* The end a SACK block must reach to cover a segment: its data, without the FIN's
 * sequence number when it carries data (lwIP 2.1.3 receivers leave the FIN out of
 * their blocks; Linux's include it). Data and FIN arrive in the same segment, so the
 * data's block says the segment arrived; without this the last segment of a stream
 * never counts as SACKed, and RACK cannot see a lost retransmission sent before it. */
static u32_t
sack_end(const struct tcp_seg *s)
{
  return s->len > 0 ? seg_seq(s) + s->len : seg_end(s);
}

/* --- the one lwIP timeout ------------------------------------------------------------ */

static void loss_tick(void *arg);

/* Makes sure the lwIP timeout fires no later than at. */
static void
timer_need(u32_t at)
{
  u32_t now;
  if (timer_armed && !EARLIER(at, timer_at)) {
    return;
  }
  now = sys_now();
  if (timer_armed) {
    sys_untimeout(loss_tick, NULL);
  }
  timer_armed = 1;
  timer_at = at;
  sys_timeout(EARLIER(now, at) ? at - now : 0, loss_tick, NULL);
}

static void
rtx_arm(struct tcp_pcb *pcb, u8_t kind, u32_t at)
{
  pcb->loss.rtx_kind = kind;
  pcb->loss.rtx_at = at;
  timer_need(at);
}

void
tcp_loss_rtx_start(struct tcp_pcb *pcb)
{
  if (pcb->loss.rtx_kind == 0) {
    rtx_arm(pcb, TCP_RTX_RTO, sys_now() + pcb->loss.rto);
  }
}

void
tcp_loss_rtx_restart(struct tcp_pcb *pcb)
{
  rtx_arm(pcb, TCP_RTX_RTO, sys_now() + pcb->loss.rto);
}

static void
rtx_restart_at(struct tcp_pcb *pcb, u32_t now)
{
  rtx_arm(pcb, TCP_RTX_RTO, now + pcb->loss.rto);
}

void
tcp_loss_rtx_stop(struct tcp_pcb *pcb)
{
  pcb->loss.rtx_kind = 0;
}

void
tcp_loss_delack(struct tcp_pcb *pcb)
{
  pcb->loss.delack_at = sys_now() + TCP_DELACK_MS;
  timer_need(pcb->loss.delack_at);
}

int
tcp_loss_delack_due(const struct tcp_pcb *pcb)
{
  return DUE(pcb->loss.delack_at, sys_now());
}

/* TSval: the stack's millisecond clock, plus one so that it is never 0 (a virtual
 * clock starts there, and an echo of 0 reads as no echo, RFC 7323 3.2). */
u32_t
tcp_loss_tsval(const struct tcp_pcb *pcb)
{
  LWIP_UNUSED_ARG(pcb);
  return sys_now() + 1;
}

void
tcp_loss_pcb_init(struct tcp_pcb *pcb)
{
  memset(&pcb->loss, 0, sizeof(pcb->loss));
  pcb->loss.rto = TCP_RTO_INIT_MS;
  pcb->loss.min_rtt = NO_RTT;
}

void
tcp_loss_seg_init(struct tcp_seg *seg)
{
  memset(&seg->loss, 0, sizeof(seg->loss));
}

/* --- RTT and RTO (RFC 6298, Linux's bounds) ------------------------------------------ */

static u32_t
rto_base(const struct tcp_pcb *pcb)
{
  u32_t var = pcb->loss.rttvar4 > TCP_RTO_MIN_MS ? pcb->loss.rttvar4 : TCP_RTO_MIN_MS;
  u32_t rto = (pcb->loss.srtt8 >> 3) + var;
  return rto < TCP_RTO_MAX_MS ? rto : TCP_RTO_MAX_MS;
}

void
tcp_loss_rtt_sample(struct tcp_pcb *pcb, u32_t m)
{
  struct tcp_loss *l = &pcb->loss;
  if (m > TCP_RTO_MAX_MS) {
    return;   /* a clock step or a bogus echo */
  }
  if (l->min_rtt == NO_RTT || m < l->min_rtt) {
    l->min_rtt = m;
  }
  if (!(l->flags & TCP_LOSS_F_RTT)) {
    l->flags |= TCP_LOSS_F_RTT;
    l->srtt8 = m << 3;
    l->rttvar4 = m << 1;   /* RTTVAR = R/2 */
  } else {
    s32_t err = (s32_t)m - (s32_t)(l->srtt8 >> 3);
    l->srtt8 = (u32_t)((s32_t)l->srtt8 + err);                  /* alpha 1/8 */
    if (err < 0) {
      err = -err;
    }
    l->rttvar4 = (u32_t)((s32_t)l->rttvar4 + err - (s32_t)(l->rttvar4 >> 2)); /* beta 1/4 */
  }
  if (pcb->nrtx == 0) {
    l->rto = rto_base(pcb);
  }
}

void
tcp_loss_established(struct tcp_pcb *pcb)
{
  struct tcp_loss *l = &pcb->loss;
  if (l->flags & TCP_LOSS_F_RTT) {
    l->rto = rto_base(pcb);
  } else {
    l->rto = (l->flags & TCP_LOSS_F_SYN_LOST) ? TCP_RTO_FALLBACK_MS : TCP_RTO_INIT_MS;
  }
  tcp_cc_init(pcb);
}

/* --- the scoreboard ------------------------------------------------------------------- */

u32_t
tcp_loss_in_flight(const struct tcp_pcb *pcb)
{
  u32_t out = pcb->snd_nxt - pcb->lastack;
  u32_t left = pcb->loss.sacked + pcb->loss.lost;
  return (out > left ? out - left : 0) + pcb->loss.retrans;
}

int
tcp_loss_may_send(const struct tcp_pcb *pcb, u32_t len)
{
  return (pcb->loss.flags & TCP_LOSS_F_PROBE) || tcp_loss_in_flight(pcb) + len <= pcb->cwnd;
}

int
tcp_loss_rexmit_pending(const struct tcp_pcb *pcb)
{
  return pcb->loss.lost > pcb->loss.retrans;
}

/* Sums the marks (a SACK connection's sacked bytes come from them; one without SACK
 * keeps its dupack count in sacked). */
static void
recount(struct tcp_pcb *pcb)
{
  struct tcp_seg *s;
  u32_t sacked = 0, lost = 0, retrans = 0;
  for (s = pcb->unacked; s != NULL; s = s->next) {
    u8_t st = s->loss.state;
    u32_t len = TCP_TCPLEN(s);
    if (st & TCP_SEG_SACKED) {
      sacked += len;
    } else if (st & TCP_SEG_LOST) {
      lost += len;
      if (st & TCP_SEG_RETRANS) {
        retrans += len;
      }
    }
  }
  if (pcb->flags & TF_SACK) {
    pcb->loss.sacked = sacked;
  }
  pcb->loss.lost = lost;
  pcb->loss.retrans = retrans;
}

static void
mark_lost(struct tcp_seg *s)
{
  s->loss.state = (u8_t)((s->loss.state | TCP_SEG_LOST) & ~TCP_SEG_RETRANS);
}

void
tcp_loss_mark_all_lost(struct tcp_pcb *pcb)
{
  struct tcp_seg *s;
  for (s = pcb->unacked; s != NULL; s = s->next) {
    if (!(s->loss.state & TCP_SEG_SACKED)) {
      mark_lost(s);
    }
  }
  recount(pcb);
}

void
tcp_loss_mark_head_lost(struct tcp_pcb *pcb)
{
  if (pcb->unacked != NULL && !(pcb->unacked->loss.state & TCP_SEG_SACKED)) {
    mark_lost(pcb->unacked);
    recount(pcb);
  }
}

/* --- RACK (RFC 8985 6) ---------------------------------------------------------------- */

/* A segment was delivered (cumulatively acked or SACKed): the most recently sent of
 * those is RACK's reference. */
static void
rack_update(struct tcp_pcb *pcb, const struct tcp_seg *s, u32_t now)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t rtt = now - s->loss.xmit_ms;
  /* an ACK sooner than min RTT after a retransmission acked the original (6.2 step 2) */
  if ((s->loss.state & TCP_SEG_EVER) && l->min_rtt != NO_RTT && rtt < l->min_rtt) {
    return;
  }
  if (!(l->flags & TCP_LOSS_F_RACK) || (s32_t)(s->loss.order - l->rack_order) > 0) {
    l->flags |= TCP_LOSS_F_RACK;
    l->rack_order = s->loss.order;
    l->rack_ms = s->loss.xmit_ms;
    l->rack_rtt = rtt;
    l->rack_end = seg_end(s);
  }
}

/* The reordering window: none while no reordering was seen and recovery is under way
 * (or DupThresh segments are SACKed), else a quarter of the min RTT, at least 1 ms
 * (our clock's grain; Linux's is a microsecond). */
static u32_t
rack_reo_wnd(const struct tcp_pcb *pcb)
{
  const struct tcp_loss *l = &pcb->loss;
  u32_t w;
  if (!(l->flags & TCP_LOSS_F_REORD)) {
    if (l->ca_state >= TCP_CA_RECOVERY || l->sacked >= DUPTHRESH * (u32_t)pcb->mss) {
      return 0;
    }
  }
  w = l->min_rtt == NO_RTT ? 1 : l->min_rtt >> 2;
  if ((l->flags & TCP_LOSS_F_RTT) && w > (l->srtt8 >> 3)) {
    w = l->srtt8 >> 3;
  }
  return w > 0 ? w : 1;
}

/* Marks lost every segment sent before the RACK reference whose reordering window
 * has passed; returns the ms until the next one would be due (0: none). */
static u32_t
rack_detect(struct tcp_pcb *pcb, u32_t now)
{
  struct tcp_loss *l = &pcb->loss;
  struct tcp_seg *s;
  u32_t reo, timeout = 0;
  if (!(l->flags & TCP_LOSS_F_RACK) || !(pcb->flags & TF_SACK)) {
    return 0;
  }
  reo = rack_reo_wnd(pcb);
  for (s = pcb->unacked; s != NULL; s = s->next) {
    u8_t st = s->loss.state;
    s32_t remaining;
    if (st & TCP_SEG_SACKED) {
      continue;
    }
    if ((st & TCP_SEG_LOST) && !(st & TCP_SEG_RETRANS)) {
      continue;   /* already waiting for its retransmission */
    }
    if ((s32_t)(s->loss.order - l->rack_order) >= 0) {
      continue;   /* not sent before the reference */
    }
    /* + 1: send times are whole milliseconds, so "rtt + reo ms ago" is only certain
     * one tick later */
    remaining = (s32_t)(s->loss.xmit_ms + l->rack_rtt + reo + 1 - now);
    if (remaining <= 0) {
      mark_lost(s);
    } else if ((u32_t)remaining > timeout) {
      timeout = (u32_t)remaining;
    }
  }
  return timeout;
}

/* RFC 6675 IsLost: more than (DupThresh - 1) * SMSS bytes SACKed above a segment. Not
 * used once reordering was seen (RACK's window then decides). */
static void
dupthresh_detect(struct tcp_pcb *pcb)
{
  struct tcp_seg *s;
  u32_t above = pcb->loss.sacked;
  u32_t limit = (DUPTHRESH - 1) * (u32_t)pcb->mss;
  if ((pcb->loss.flags & TCP_LOSS_F_REORD) || above <= limit) {
    return;
  }
  for (s = pcb->unacked; s != NULL && above > limit; s = s->next) {
    u8_t st = s->loss.state;
    if (st & TCP_SEG_SACKED) {
      above -= TCP_TCPLEN(s);
    } else if (!(st & TCP_SEG_LOST)) {
      mark_lost(s);
    }
  }
}

/* --- ACK processing -------------------------------------------------------------------- */

void
tcp_loss_ack_pre(struct tcp_pcb *pcb, u32_t ackno)
{
  struct tcp_loss *l = &pcb->loss;
  struct tcp_seg *s;
  u32_t now = sys_now();
  u32_t delivered = 0;
  u32_t seq_rtt = NO_RTT;
  u8_t i;

  ack_now = now;
  ack_new_sacks = 0;
  /* the segments this ACK covers */
  for (s = pcb->unacked; s != NULL && TCP_SEQ_LEQ(seg_end(s), ackno); s = s->next) {
    u8_t st = s->loss.state;
    if (!(st & TCP_SEG_SACKED)) {
      delivered += TCP_TCPLEN(s);
      /* delivered below a segment SACKed earlier and never resent: reordering */
      if (!(st & TCP_SEG_EVER) && l->sacked > 0 && TCP_SEQ_LT(seg_end(s), l->rack_end)) {
        l->flags |= TCP_LOSS_F_REORD;
      }
    }
    if (!(st & TCP_SEG_EVER) && seq_rtt == NO_RTT) {
      seq_rtt = now - s->loss.xmit_ms;   /* the oldest segment sent once (Karn) */
    }
    rack_update(pcb, s, now);
  }

  /* SACK blocks: only those above the ACK and within what was sent (D-SACKs and
   * forged blocks are ignored) */
  for (i = 0; i < tcp_loss_in_nsacks; i++) {
    u32_t left = tcp_loss_in_sacks[i][0], right = tcp_loss_in_sacks[i][1];
    if (!TCP_SEQ_LT(left, right) || !TCP_SEQ_GT(right, ackno) || TCP_SEQ_GT(right, pcb->snd_nxt) ||
        TCP_SEQ_LT(left, pcb->lastack)) {
      continue;
    }
    for (s = pcb->unacked; s != NULL; s = s->next) {
      u32_t seq = seg_seq(s);
      if (TCP_SEQ_GEQ(seq, right)) {
        break;
      }
      if ((s->loss.state & TCP_SEG_SACKED) || TCP_SEQ_LT(seq, left) || TCP_SEQ_GT(sack_end(s), right) ||
          TCP_SEQ_LEQ(seg_end(s), ackno)) {
        continue;
      }
      if (!(s->loss.state & TCP_SEG_EVER) && TCP_SEQ_LT(seg_end(s), l->rack_end) &&
          (l->flags & TCP_LOSS_F_RACK)) {
        l->flags |= TCP_LOSS_F_REORD;   /* SACKed below a later-sent one, never resent */
      }
      s->loss.state = (u8_t)((s->loss.state | TCP_SEG_SACKED) & ~(TCP_SEG_LOST | TCP_SEG_RETRANS));
      ack_new_sacks = 1;
      delivered += TCP_TCPLEN(s);
      rack_update(pcb, s, now);
    }
  }
  tcp_loss_in_nsacks = 0;

  if (TCP_SEQ_GT(ackno, pcb->lastack)) {
    if (seq_rtt != NO_RTT) {
      tcp_loss_rtt_sample(pcb, seq_rtt);
    } else if (tcp_loss_in_tsecr != 0) {
      tcp_loss_rtt_sample(pcb, now + 1 - tcp_loss_in_tsecr);   /* our TSval is now + 1 */
    }
  }
  tcp_loss_in_tsecr = 0;
  ack_delivered = delivered;
}

/* PRR (RFC 6937, with slow start reduction bound): cwnd for this ACK in recovery. */
static void
prr(struct tcp_pcb *pcb, u32_t delivered, int force)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t pipe = tcp_loss_in_flight(pcb);
  s32_t sndcnt;
  l->prr_delivered += delivered;
  if (pipe > pcb->ssthresh) {
    uint64_t want = ((uint64_t)l->prr_delivered * pcb->ssthresh + l->recover_fs - 1) / (l->recover_fs ? l->recover_fs : 1);
    sndcnt = (s32_t)((int64_t)want - (int64_t)l->prr_out);
  } else {
    u32_t limit = l->prr_delivered > l->prr_out ? l->prr_delivered - l->prr_out : 0;
    if (delivered > limit) {
      limit = delivered;
    }
    limit += pcb->mss;
    sndcnt = (s32_t)LWIP_MIN(pcb->ssthresh - pipe, limit);
  }
  if (sndcnt < 0) {
    sndcnt = 0;
  }
  if (force && sndcnt < (s32_t)pcb->mss) {
    sndcnt = pcb->mss;   /* a fast retransmit leaves at once on entering recovery */
  }
  pcb->cwnd = pipe + (u32_t)sndcnt;
}

static void maybe_schedule_tlp(struct tcp_pcb *pcb, u32_t now);

/* Enters fast recovery (RFC 6675 with PRR) when something was deemed lost. */
static int
enter_recovery(struct tcp_pcb *pcb)
{
  struct tcp_loss *l = &pcb->loss;
  if (l->lost == 0 || l->ca_state >= TCP_CA_RECOVERY) {
    return 0;
  }
  l->recover = pcb->snd_nxt;
  l->recover_fs = pcb->cwnd > 0 ? pcb->cwnd : pcb->mss;
  l->prr_delivered = 0;
  l->prr_out = 0;
  pcb->ssthresh = tcp_cc_ssthresh(pcb);
  l->ca_state = TCP_CA_RECOVERY;
  l->flags &= (u8_t)~TCP_LOSS_F_TLP;
  tcp_set_flags(pcb, TF_INFR);
  return 1;
}

/* Detects losses after the scoreboard changed; returns the RACK timeout (0: none). */
static u32_t
detect_losses(struct tcp_pcb *pcb, u32_t acked, int dupack)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t reo = 0;
  if ((pcb->flags & TF_SACK) && l->ca_state == TCP_CA_OPEN && !ack_new_sacks &&
      l->sacked == 0 && l->lost == 0 && l->retrans == 0) {
    /* Nothing is marked (the counts are the marks' sums, and this ACK marked none): the
       walks below would find nothing. The common case, an ACK of in-order data, costs
       no walk of the unacked queue. */
    return 0;
  }
  recount(pcb);   /* this ACK's SACKs marked segments, and lwIP freed the acked ones */
  if (pcb->flags & TF_SACK) {
    /* Out of Open too (Linux: every ACK is "dubious" then): the ACK that ends a
       recovery leaves nothing SACKed, yet a segment sent before the retransmission it
       acknowledges (the stream's last, say) may have been lost. */
    if (l->sacked > 0 || l->retrans > 0 || l->lost > 0 || l->ca_state != TCP_CA_OPEN) {
      reo = rack_detect(pcb, ack_now);
      dupthresh_detect(pcb);
    }
  } else if (pcb->unacked != NULL) {
    /* NewReno (RFC 6582): the third dupack, or a partial ACK in recovery, loses the
     * first unacked segment */
    if ((dupack && pcb->dupacks == DUPTHRESH && l->ca_state < TCP_CA_RECOVERY) ||
        (acked > 0 && l->ca_state == TCP_CA_RECOVERY && TCP_SEQ_LT(pcb->lastack, l->recover))) {
      if (!(pcb->unacked->loss.state & TCP_SEG_LOST) || (pcb->unacked->loss.state & TCP_SEG_RETRANS)) {
        mark_lost(pcb->unacked);
      }
    }
  }
  recount(pcb);
  return reo;
}

void
tcp_loss_ack_post(struct tcp_pcb *pcb, u32_t acked, int dupack)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t delivered = ack_delivered;
  u32_t reo;
  int entered = 0;

  ack_delivered = 0;
  if (acked > 0) {
    l->rto = (l->flags & TCP_LOSS_F_RTT) ? rto_base(pcb) : l->rto;
    if ((l->flags & TCP_LOSS_F_TLP) && TCP_SEQ_GEQ(pcb->lastack, l->tlp_high)) {
      l->flags &= (u8_t)~TCP_LOSS_F_TLP;
    }
  }
  if (!(pcb->flags & TF_SACK)) {
    /* Reno emulation: a duplicate ACK means a segment left the network */
    u32_t out = pcb->snd_nxt - pcb->lastack;
    if (acked > 0) {
      l->sacked = acked >= l->sacked ? 0 : l->sacked - acked;
    }
    if (dupack) {
      l->sacked += pcb->mss;
      delivered += pcb->mss;
    }
    if (l->sacked + pcb->mss > out) {
      l->sacked = out > pcb->mss ? out - pcb->mss : 0;
    }
  }
  reo = detect_losses(pcb, acked, dupack);

  switch (l->ca_state) {
    case TCP_CA_LOSS:
      if (TCP_SEQ_GEQ(pcb->lastack, l->recover)) {
        l->ca_state = TCP_CA_OPEN;
        tcp_clear_flags(pcb, TF_INFR);
      }
      break;
    case TCP_CA_RECOVERY:
      if (TCP_SEQ_GEQ(pcb->lastack, l->recover)) {
        l->ca_state = TCP_CA_OPEN;
        pcb->cwnd = pcb->ssthresh;
        tcp_clear_flags(pcb, TF_INFR);
      }
      break;
    default:
      entered = enter_recovery(pcb);
      if (!entered) {
        l->ca_state = (l->sacked > 0 || pcb->dupacks > 0) ? TCP_CA_DISORDER : TCP_CA_OPEN;
      }
      break;
  }
  if (l->ca_state != TCP_CA_RECOVERY && (pcb->flags & TF_SACK) && l->lost > 0) {
    entered = enter_recovery(pcb);   /* a loss seen on leaving recovery starts another */
  }

  if (l->ca_state == TCP_CA_RECOVERY) {
    prr(pcb, delivered, entered);
  } else if (acked > 0) {
    /* grow cwnd only while it limits what is sent (Linux: tcp_is_cwnd_limited) */
    u32_t before = tcp_loss_in_flight(pcb) + acked;
    if (before + 2u * pcb->mss >= pcb->cwnd || (pcb->cwnd < pcb->ssthresh && pcb->cwnd < 2u * before)) {
      tcp_cc_cong_avoid(pcb, acked, ack_now);
    }
  }

  /* the retransmission slot */
  if (pcb->unacked == NULL) {
    tcp_loss_rtx_stop(pcb);
    l->flags &= (u8_t)~TCP_LOSS_F_TLP;
  } else if (reo > 0) {
    rtx_arm(pcb, TCP_RTX_REO, ack_now + reo);
  } else if (acked > 0 || l->rtx_kind == TCP_RTX_REO) {
    rtx_restart_at(pcb, ack_now);
    maybe_schedule_tlp(pcb, ack_now);
  } else if (l->ca_state == TCP_CA_RECOVERY) {
    maybe_schedule_tlp(pcb, ack_now);   /* in recovery the probe waits PTO after the last ACK */
  }
}

/* --- output ------------------------------------------------------------------------------ */

/* When a segment just left: the TSval tcp_output_segment() wrote into it (our clock
 * plus one, after the MSS option if any) saves a second call out of wasm for the
 * clock, once per segment sent. */
static u32_t
sent_ms(const struct tcp_seg *seg)
{
#if LWIP_TCP_TIMESTAMPS
  if (seg->flags & TF_SEG_OPTS_TS) {
    u32_t tsval;
    memcpy(&tsval, (const u8_t *)(seg->tcphdr + 1) + ((seg->flags & TF_SEG_OPTS_MSS) ? 8 : 4), 4);
    return lwip_ntohl(tsval) - 1;
  }
#endif
  return sys_now();
}

void
tcp_loss_sent(struct tcp_pcb *pcb, struct tcp_seg *seg, int rexmit)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t len = TCP_TCPLEN(seg);
  seg->loss.xmit_ms = sent_ms(seg);
  seg->loss.order = ++xmit_order;
  l->flags |= TCP_LOSS_F_SENT;
  if (rexmit) {
    seg->loss.state |= TCP_SEG_EVER;
    if ((seg->loss.state & (TCP_SEG_LOST | TCP_SEG_RETRANS)) == TCP_SEG_LOST) {
      seg->loss.state |= TCP_SEG_RETRANS;
      l->retrans += len;
    }
    if (pcb->state == SYN_SENT || pcb->state == SYN_RCVD) {
      l->flags |= TCP_LOSS_F_SYN_LOST;
    }
  } else {
    l->flags &= (u8_t)~TCP_LOSS_F_PROBE;
  }
  if (l->ca_state == TCP_CA_RECOVERY) {
    l->prr_out += len;
  }
  tcp_loss_rtx_start(pcb);
}

void
tcp_loss_xmit_lost(struct tcp_pcb *pcb, struct netif *netif)
{
  struct tcp_seg *s;
  for (s = pcb->unacked; s != NULL && tcp_loss_rexmit_pending(pcb); s = s->next) {
    u32_t len = TCP_TCPLEN(s);
    if ((s->loss.state & (TCP_SEG_LOST | TCP_SEG_RETRANS | TCP_SEG_SACKED)) != TCP_SEG_LOST) {
      continue;
    }
    if (tcp_loss_in_flight(pcb) + len > pcb->cwnd) {
      /* a segment of several MSS (TSO) goes in the pieces that fit */
      u32_t flight = tcp_loss_in_flight(pcb);
      if (!tcp_tso_cut(pcb, s, pcb->cwnd > flight ? pcb->cwnd - flight : 0)) {
        break;
      }
    }
    if (tcp_output_rexmit_seg(pcb, s, netif) != ERR_OK) {
      break;
    }

  }
}

/* A tail loss probe (RFC 8985 7.2) after 2 SRTT, plus a delayed ACK's worth when one
 * segment is out (Linux: the 200 ms RTO floor), never later than the RTO.
 *
 * Also in fast recovery (as FreeBSD's RACK stack, rack_tlp_in_recovery; Linux and RFC
 * 8985 probe only in Open): RACK sees a retransmission lost only when something sent
 * after it is delivered, and when the receiver's window is full behind the hole, or the
 * stream has ended, nothing is. A lost retransmission then waited for the 200 ms RTO
 * (the 5% runs of bench/loss.mjs: the receiver's 256 KiB window fills behind a hole
 * whose retransmission is lost too). The probe resends the segment sent last, once per
 * episode; recovery has already reduced the window, so a repair needs no more. */
static void
maybe_schedule_tlp(struct tcp_pcb *pcb, u32_t now)
{
  struct tcp_loss *l = &pcb->loss;
  u32_t pto;
  if (!(pcb->flags & TF_SACK) || pcb->unacked == NULL ||
      (l->ca_state != TCP_CA_OPEN && l->ca_state != TCP_CA_RECOVERY) ||
      (l->flags & TCP_LOSS_F_TLP) || l->rtx_kind == TCP_RTX_REO ||
      pcb->state < ESTABLISHED || pcb->state == TIME_WAIT) {
    return;
  }
  if (l->flags & TCP_LOSS_F_RTT) {
    pto = (l->srtt8 >> 2) + (pcb->unacked->next == NULL ? TCP_RTO_MIN_MS : TCP_TLP_MIN_MS);
  } else {
    pto = TCP_RTO_INIT_MS;
  }
  if (pto >= l->rto) {
    return;   /* the RTO comes first anyway */
  }
  rtx_arm(pcb, TCP_RTX_TLP, now + pto);
}

void
tcp_loss_output_done(struct tcp_pcb *pcb, int sent_new)
{
  /* in recovery a retransmission counts too: it may be the tail the probe is for */
  int sent = sent_new || ((pcb->loss.flags & TCP_LOSS_F_SENT) && pcb->loss.ca_state == TCP_CA_RECOVERY);
  pcb->loss.flags &= (u8_t)~(TCP_LOSS_F_PROBE | TCP_LOSS_F_SENT);
  if (sent) {
    maybe_schedule_tlp(pcb, sys_now());
  }
}

/* --- timer expiries -------------------------------------------------------------------- */

static void
tlp_fire(struct tcp_pcb *pcb)
{
  struct tcp_loss *l = &pcb->loss;
  struct tcp_seg *s, *last = NULL;
  u32_t before = pcb->snd_nxt;
  if (pcb->unacked == NULL) {
    return;
  }
  /* new data if the receiver's window allows it, else the last segment again */
  if (pcb->unsent != NULL &&
      seg_seq(pcb->unsent) - pcb->lastack + pcb->unsent->len <= pcb->snd_wnd) {
    l->flags |= TCP_LOSS_F_PROBE;
    tcp_output(pcb);
    l->flags &= (u8_t)~TCP_LOSS_F_PROBE;
  }
  if (pcb->snd_nxt == before) {
    /* the highest segment (RFC 8985 7.3); in recovery the one sent last, which is
       the retransmission nothing later can reveal lost */
    for (s = pcb->unacked; s != NULL; s = s->next) {
      if (!(s->loss.state & TCP_SEG_SACKED) &&
          (last == NULL || l->ca_state != TCP_CA_RECOVERY || (s32_t)(s->loss.order - last->loss.order) > 0)) {
        last = s;
      }
    }
    if (last != NULL) {
      tcp_output_rexmit_seg(pcb, last, NULL);
    }
  }
  l->tlp_high = pcb->snd_nxt;
  l->flags |= TCP_LOSS_F_TLP;
  tcp_loss_rtx_restart(pcb);
}

/* Returns 1 if the pcb was freed. */
static int
rto_fire(struct tcp_pcb *pcb)
{
  struct tcp_loss *l = &pcb->loss;
  struct tcp_seg *s;
  if ((pcb->state == SYN_SENT && pcb->nrtx >= TCP_SYNMAXRTX) || pcb->nrtx >= TCP_MAXRTX) {
    tcp_abandon(pcb, 0);   /* the error callback gets ERR_ABRT, as from lwIP's tick */
    return 1;
  }
  if (pcb->unacked == NULL) {
    if (pcb->unsent != NULL) {
      tcp_output(pcb);
    }
    return 0;
  }
  if (pcb->state != SYN_SENT && pcb->state != SYN_RCVD) {
    if (l->ca_state != TCP_CA_LOSS) {
      pcb->ssthresh = tcp_cc_ssthresh(pcb);
    }
    tcp_cc_on_rto(pcb);
    /* the receiver dropped what it SACKed (RFC 2018 8): forget every SACK mark */
    if (pcb->unacked->loss.state & TCP_SEG_SACKED) {
      for (s = pcb->unacked; s != NULL; s = s->next) {
        s->loss.state &= (u8_t)~TCP_SEG_SACKED;
      }
      if (pcb->flags & TF_SACK) {
        l->sacked = 0;
      }
    }
    if (!(pcb->flags & TF_SACK)) {
      l->sacked = 0;
    }
    pcb->cwnd = pcb->mss;
    l->recover = pcb->snd_nxt;
    l->ca_state = TCP_CA_LOSS;
    l->flags &= (u8_t)~TCP_LOSS_F_TLP;
    tcp_set_flags(pcb, TF_INFR);
  }
  tcp_loss_mark_all_lost(pcb);
  if (pcb->nrtx < 0xFF) {
    ++pcb->nrtx;
  }
  l->rto = l->rto * 2 < TCP_RTO_MAX_MS ? l->rto * 2 : TCP_RTO_MAX_MS;
  tcp_loss_rtx_restart(pcb);
  tcp_output(pcb);
  return 0;
}

static void
reo_fire(struct tcp_pcb *pcb)
{
  u32_t now = sys_now();
  u32_t reo = rack_detect(pcb, now);
  recount(pcb);
  if (enter_recovery(pcb)) {
    prr(pcb, 0, 1);
  }
  if (reo > 0) {
    rtx_arm(pcb, TCP_RTX_REO, now + reo);
  } else {
    rtx_restart_at(pcb, now);
    /* the window held the probe back while it was armed: what was sent last may be
       a lost retransmission that nothing sent after it can reveal */
    maybe_schedule_tlp(pcb, now);
  }
  tcp_output(pcb);
}

/* Runs the expired deadlines of every connection, then arms the next one. */
static void
loss_tick(void *arg)
{
  struct tcp_pcb *pcb;
  u32_t now = sys_now();
  u32_t next = 0;
  int have_next = 0;
  LWIP_UNUSED_ARG(arg);
  timer_armed = 0;
  if (++walk_pass == 0) {
    walk_pass = 1;
  }
restart:
  for (pcb = tcp_active_pcbs; pcb != NULL; ) {
    struct tcp_pcb *after = pcb->next;
    if (pcb->loss.pass == walk_pass) {
      pcb = after;
      continue;
    }
    pcb->loss.pass = walk_pass;
    if ((pcb->flags & TF_ACK_DELAY) && DUE(pcb->loss.delack_at, now)) {
      tcp_ack_now(pcb);
      tcp_output(pcb);
      tcp_clear_flags(pcb, TF_ACK_DELAY | TF_ACK_NOW);
    }
    if (pcb->loss.rtx_kind != 0 && DUE(pcb->loss.rtx_at, now)) {
      u8_t kind = pcb->loss.rtx_kind;
      pcb->loss.rtx_kind = 0;
      tcp_active_pcbs_changed = 0;
      if (kind == TCP_RTX_TLP) {
        tlp_fire(pcb);
      } else if (kind == TCP_RTX_REO) {
        reo_fire(pcb);
      } else {
        rto_fire(pcb);
      }
      if (tcp_active_pcbs_changed) {
        goto restart;
      }
    }
    pcb = after;
  }
  for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
    if ((pcb->flags & TF_ACK_DELAY) && (!have_next || EARLIER(pcb->loss.delack_at, next))) {
      next = pcb->loss.delack_at;
      have_next = 1;
    }
    if (pcb->loss.rtx_kind != 0 && (!have_next || EARLIER(pcb->loss.rtx_at, next))) {
      next = pcb->loss.rtx_at;
      have_next = 1;
    }
  }
  if (have_next) {
    now = sys_now();
    timer_need(EARLIER(now, next) ? next : now + 1);
  }
}
