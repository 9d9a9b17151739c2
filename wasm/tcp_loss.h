/* TCP timing and loss recovery for lwIP 2.1.3, as Linux does them (wasm/tcp_loss.c,
 * wasm/tcp_cubic.c). lwIP's tcp.h includes this header (wasm/patches/0008) and embeds
 * struct tcp_loss in every tcp_pcb and struct tcp_seg_loss in every tcp_seg; the
 * patches call the functions below at the points where lwIP used its 500 ms timer, its
 * RTT estimator, its fast retransmit and its congestion window updates.
 *
 * Times are sys_now() milliseconds; sequence lengths are bytes. */
#ifndef LWIP_WASM_TCP_LOSS_H
#define LWIP_WASM_TCP_LOSS_H

#include "lwip/arch.h"

struct tcp_pcb;
struct tcp_seg;
struct netif;

/* Linux's bounds (include/net/tcp.h): RTO floor, initial value and ceiling, the
 * delayed-ACK floor, and TLP's minimum probe timeout. */
#define TCP_RTO_MIN_MS      200
#define TCP_RTO_INIT_MS     1000
#define TCP_RTO_MAX_MS      120000
#define TCP_DELACK_MS       40
#define TCP_TLP_MIN_MS      2
/* RFC 6298 5.7: after a lost SYN, the RTO is 3 s until the first RTT sample. */
#define TCP_RTO_FALLBACK_MS 3000

/* Per-segment state: when and in what order it last left, and the scoreboard. */
struct tcp_seg_loss {
  u32_t xmit_ms;      /* sys_now() of its last transmission */
  u32_t order;        /* transmission order (a stack-wide counter): RACK's "sent after" */
  u8_t state;         /* TCP_SEG_* */
};
#define TCP_SEG_SACKED   0x01u  /* the receiver SACKed it */
#define TCP_SEG_LOST     0x02u  /* deemed lost: retransmit it (RACK, DupThresh or RTO) */
#define TCP_SEG_RETRANS  0x04u  /* retransmitted since it was deemed lost, still in flight */
#define TCP_SEG_EVER     0x08u  /* retransmitted at least once (Karn: no RTT sample) */

/* Congestion states, as Linux's icsk_ca_state. */
#define TCP_CA_OPEN      0
#define TCP_CA_DISORDER  1  /* SACKs or dupacks seen, nothing deemed lost yet */
#define TCP_CA_RECOVERY  3  /* fast recovery (RFC 6675 with PRR, RFC 6937) */
#define TCP_CA_LOSS      4  /* after an RTO, until everything sent before it is acked */

/* Kinds of the one retransmission-timer slot (as Linux's icsk_pending). */
#define TCP_RTX_RTO      1
#define TCP_RTX_TLP      2  /* tail loss probe (RFC 8985 7) */
#define TCP_RTX_REO      3  /* RACK reordering window expires (RFC 8985 6.2) */

struct tcp_loss {
  /* timers */
  u32_t rtx_at;       /* when the retransmission slot fires, if rtx_kind != 0 */
  u32_t delack_at;    /* when a delayed ACK is due, while TF_ACK_DELAY */
  u8_t rtx_kind;      /* TCP_RTX_*, 0: not armed */
  u8_t pass;          /* the timer walk's marker */
  u8_t ca_state;      /* TCP_CA_* */
  u8_t flags;         /* TCP_LOSS_F_* */
  /* RTT (RFC 6298) */
  u32_t srtt8;        /* smoothed RTT, ms << 3; 0 before the first sample */
  u32_t rttvar4;      /* RTT variation, ms << 2 */
  u32_t rto;          /* the current RTO, ms (backed off while nrtx > 0) */
  u32_t min_rtt;      /* lowest RTT seen, ms (RACK's reordering window, CUBIC) */
  /* scoreboard (bytes of sequence space above lastack) */
  u32_t sacked, lost, retrans;
  u32_t recover;      /* snd_nxt when recovery or loss began (RFC 6675 RecoveryPoint) */
  /* PRR (RFC 6937) */
  u32_t prr_delivered, prr_out, recover_fs;
  /* RACK (RFC 8985 6) */
  u32_t rack_ms, rack_order, rack_rtt, rack_end;
  /* TLP (RFC 8985 7) */
  u32_t tlp_high;     /* snd_nxt when the probe left */
  /* CUBIC (RFC 9438, as Linux's tcp_cubic.c), in segments and ms */
  u32_t cubic_wmax, cubic_origin, cubic_epoch, cubic_k, cubic_cnt, cubic_ack_cnt,
        cubic_tcp_cwnd, cwnd_cnt, acked_rem;
};
#define TCP_LOSS_F_REORD     0x01u  /* reordering seen: RACK waits a reordering window */
#define TCP_LOSS_F_TLP       0x02u  /* a tail loss probe is out */
#define TCP_LOSS_F_SYN_LOST  0x04u  /* the SYN or SYN-ACK was retransmitted */
#define TCP_LOSS_F_RTT       0x08u  /* an RTT sample was taken */
#define TCP_LOSS_F_RACK      0x10u  /* RACK has a reference segment */
#define TCP_LOSS_F_PROBE     0x20u  /* a probe may send one segment beyond cwnd */
#define TCP_LOSS_F_SENT      0x40u  /* a segment left since tcp_output() began */

/* Timers: one lwIP timeout at the earliest deadline of all connections. */
void tcp_loss_rtx_start(struct tcp_pcb *pcb);   /* arm if not armed (a segment left) */
void tcp_loss_rtx_restart(struct tcp_pcb *pcb); /* re-arm from now (new data acked) */
void tcp_loss_rtx_stop(struct tcp_pcb *pcb);
void tcp_loss_delack(struct tcp_pcb *pcb);      /* TF_ACK_DELAY was just set */
int tcp_loss_delack_due(const struct tcp_pcb *pcb);
void tcp_loss_pcb_init(struct tcp_pcb *pcb);
void tcp_loss_established(struct tcp_pcb *pcb);   /* the handshake completed */
u32_t tcp_loss_tsval(const struct tcp_pcb *pcb);   /* our timestamp clock */

/* RTT samples, ms: from a segment's send time (Karn) or a timestamp echo. */
void tcp_loss_rtt_sample(struct tcp_pcb *pcb, u32_t ms);

/* A segment left (new or again): stamps it and accounts it. */
void tcp_loss_sent(struct tcp_pcb *pcb, struct tcp_seg *seg, int rexmit);
void tcp_loss_seg_init(struct tcp_seg *seg);

/* Input: SACK blocks of the segment being processed (parsed by tcp_parseopt). */
#define TCP_LOSS_MAX_SACK 4
extern u8_t tcp_loss_in_nsacks;
extern u32_t tcp_loss_in_sacks[TCP_LOSS_MAX_SACK][2];
extern u32_t tcp_loss_in_tsecr;   /* 0: none */

/* ACK processing: before lwIP frees the acknowledged segments, and after. */
void tcp_loss_ack_pre(struct tcp_pcb *pcb, u32_t ackno);
void tcp_loss_ack_post(struct tcp_pcb *pcb, u32_t acked, int dupack);

/* Output: bytes in flight (RFC 6675 pipe), and the retransmission of lost segments. */
u32_t tcp_loss_in_flight(const struct tcp_pcb *pcb);
int tcp_loss_may_send(const struct tcp_pcb *pcb, u32_t len);
int tcp_loss_rexmit_pending(const struct tcp_pcb *pcb);
void tcp_loss_xmit_lost(struct tcp_pcb *pcb, struct netif *netif);
void tcp_loss_output_done(struct tcp_pcb *pcb, int sent_new);
/* lwIP's RTO entry points, reimplemented in place (no move to unsent). */
void tcp_loss_mark_all_lost(struct tcp_pcb *pcb);
void tcp_loss_mark_head_lost(struct tcp_pcb *pcb);

/* Provided by the patched tcp_out.c: sends one queued segment again. */
err_t tcp_output_rexmit_seg(struct tcp_pcb *pcb, struct tcp_seg *seg, struct netif *netif);

/* Congestion control (wasm/tcp_cubic.c). */
void tcp_cc_init(struct tcp_pcb *pcb);
u32_t tcp_cc_ssthresh(struct tcp_pcb *pcb);        /* on a loss: returns the new ssthresh */
void tcp_cc_cong_avoid(struct tcp_pcb *pcb, u32_t acked, u32_t now);   /* now: sys_now() */
void tcp_cc_on_rto(struct tcp_pcb *pcb);

#endif /* LWIP_WASM_TCP_LOSS_H */
