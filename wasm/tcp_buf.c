/* TCP's buffers as Linux sizes them: SO_RCVBUF withholds receive window from lwIP's
 * fixed TCP_WND (and gives it back as the application reads), and SO_SNDBUF caps what
 * a send may queue below lwIP's TCP_SND_BUF. A receive buffer the application never
 * sized starts at 256 KiB and grows while its reader keeps up (autotuning). A send
 * buffer never sized grows only on a long round trip: between stacks in one process,
 * queues past 256 KiB a connection only spill the caches (bench/ab.mjs: 8 streams
 * 0.73x, jumbo 0.86x when it grew there too). */
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lw.h"

/* The window to hold back: what lwIP's window may reach on this connection (64 KiB
 * when the peer did not agree to window scaling) less what SO_RCVBUF allows. */
static u32_t
tcp_window_target_held(const struct lw_sock *s, const struct tcp_pcb *pcb)
{
  u32_t most = TCP_WND_MAX(pcb);
  u32_t wnd = s->rcvbuf / 2;   /* half the doubled value: what the caller asked for */
  if (wnd < 2u * 536u) {
    wnd = 2u * 536u;
  }
  return wnd >= most ? 0 : most - wnd;
}

static void
tcp_give_window(struct tcp_pcb *pcb, u32_t n)
{
  /* bounded: n is bytes read or held back, at most the window; 64 KiB a pass */
  while (n > 0) {
    u16_t step = n > 0xFFFFu ? 0xFFFFu : (u16_t)n;
    tcp_recved(pcb, step);
    n -= step;
  }
}

/* Receive-buffer autotuning, after Linux's tcp_rcv_space_adjust: a reader that takes a
 * quarter of its window or more in one read, and finds three eighths of the window
 * queued (the window, not the reader, holds the sender back), gets its window doubled,
 * up to TCP_WND. (Half was too much to ask: a batch of frames that arrives in one
 * WebSocket message of 256 KiB, headers included, never filled half of a 512 KiB
 * window, and a page's download stayed there.) Linux measures what was read per round
 * trip; lwIP's round-trip estimate is too coarse for that, so the size of each read
 * stands in for the rate. A reader taking
 * small pieces of a full queue never grows it, so a peer that keeps the queue full
 * cannot make it hold more; setting SO_RCVBUF turns it off, as on Linux. */
static void
tcp_rcvbuf_grow(struct lw_sock *s, u32_t consumed, u32_t queued)
{
  u32_t wnd = s->rcvbuf / 2;
  if ((s->userlocks & LOCK_RCVBUF) || s->rcvbuf >= 2u * TCP_WND || consumed < wnd / 4 || queued < wnd / 8 * 3) {
    return;
  }
  s->rcvbuf = LWIP_MIN(2u * s->rcvbuf, 2u * TCP_WND);
  sock_tcp_window_adjust(s);   /* gives back what the larger buffer no longer holds */
}

/* Reading consumed bytes: reopen the window, less what SO_RCVBUF still holds back. */
u32_t
sock_tcp_recved(struct lw_sock *s, u32_t consumed)
{
  u32_t target, pay = 0;
  if (s->pcb.tcp == NULL) {
    return 0;
  }
  tcp_rcvbuf_grow(s, consumed, s->rx_bytes + consumed);
  target = tcp_window_target_held(s, s->pcb.tcp);
  if (target > s->wnd_held) {
    pay = target - s->wnd_held;
    if (pay > consumed) {
      pay = consumed;
    }
    s->wnd_held += pay;
  }
  tcp_give_window(s->pcb.tcp, consumed - pay);
  if (target > 0) {
    /* lwIP announces a reopened window at once only when it grew by a quarter of
     * TCP_WND; a small SO_RCVBUF window never grows that much, and the peer would wait
     * for its persist timer. Announce it once it grew by a quarter of the cap, as
     * Linux does when its window grows substantially. */
    struct tcp_pcb *pcb = s->pcb.tcp;
    u32_t cap = TCP_WND_MAX(pcb) - target;
    u32_t edge = pcb->rcv_nxt + pcb->rcv_wnd;
    u32_t want = LWIP_MAX(cap / 4, pcb->mss);
    if (TCP_SEQ_GEQ(edge, pcb->rcv_ann_right_edge + want) && pcb->state == ESTABLISHED) {
      tcp_ack_now(pcb);
      tcp_output(pcb);
    }
  }
  return consumed - pay;
}

/* SO_RCVBUF changed, or a pcb came: hold back or give back window to match it. */
void
sock_tcp_window_adjust(struct lw_sock *s)
{
  struct tcp_pcb *pcb = s->pcb.tcp;
  u32_t target;
  if (pcb == NULL || pcb->state == CLOSED || pcb->state == LISTEN ||
      pcb->state == SYN_SENT || pcb->state == SYN_RCVD) {
    /* Before the handshake completes, lwIP resets the window itself (tcp_connect, and
     * again when window scaling is agreed), so nothing can be held yet. */
    s->wnd_held = 0;
    return;
  }
  target = tcp_window_target_held(s, pcb);
  if (target > s->wnd_held) {
    u32_t take = target - s->wnd_held;
    /* Data the peer was already allowed to send must still fit: lwIP would trim it
     * and the peer would only recover by retransmission timeouts. */
    u32_t promised = TCP_SEQ_GT(pcb->rcv_ann_right_edge, pcb->rcv_nxt) ? pcb->rcv_ann_right_edge - pcb->rcv_nxt : 0;
    u32_t spare = pcb->rcv_wnd > promised ? pcb->rcv_wnd - promised : 0;
    if (take > spare) {
      take = spare;   /* the rest is held back as data is read */
    }
    pcb->rcv_wnd -= take;
    s->wnd_held += take;
    if (pcb->rcv_ann_wnd > pcb->rcv_wnd) {
      pcb->rcv_ann_wnd = pcb->rcv_wnd;   /* announce no more than is left */
    }
  } else if (target < s->wnd_held) {
    u32_t give = s->wnd_held - target;
    s->wnd_held -= give;
    tcp_give_window(pcb, give);
  }
}

/* Returns the withheld window before lwIP closes the pcb, so that its "unread data
 * means RST" test sees only real unread data. */
void
sock_tcp_window_release(struct lw_sock *s)
{
  struct tcp_pcb *pcb = s->pcb.tcp;
  if (s->type == LW_SOCK_STREAM && pcb != NULL && pcb->state != LISTEN && s->wnd_held > 0) {
    /* not through tcp_recved, which would announce the window in an ACK of its own */
    u32_t wnd = pcb->rcv_wnd + s->wnd_held;
    pcb->rcv_wnd = (tcpwnd_size_t)LWIP_MIN(wnd, (u32_t)TCP_WND_MAX(pcb));
    s->wnd_held = 0;
  }
}


/* Send-buffer autotuning. Linux sizes the send buffer to twice the congestion window;
 * here it doubles (up to TCP_SND_BUF queued) when the buffer, not the network, held the
 * sender back for a round trip of SND_GROW_MS or more: a send found SO_SNDBUF full with
 * everything queued already sent (but a partial segment) and both the peer's window
 * and cwnd larger than the queue, and the next ACK came that much later, twice in a row,
 * with the smoothed RTT that long as well (a pause of the process alone, a GC or a
 * compile or a loaded machine's scheduling, is not a round trip). A round trip through a
 * browser or a real network takes milliseconds, one between stacks in one process
 * microseconds; 2 ms let eight streams on one pair grow (each waits for the others'
 * turns), and spill the caches (bench/ab.mjs 0.79x). */
#define SND_GROW_MS 5u
#define SND_GROW_ROUNDS 2u

void
sock_tcp_send_full(struct lw_sock *s)
{
  const struct tcp_pcb *pcb = s->pcb.tcp;
  u32_t queued;
  if (pcb == NULL || s->snd_full_at != 0 || (s->userlocks & LOCK_SNDBUF) || s->sndbuf >= 2u * TCP_SND_BUF) {
    return;
  }
  queued = TCP_SND_BUF - pcb->snd_buf;
  /* (less than a segment unsent: Nagle may hold back the last, partial one) */
  if (queued < s->sndbuf / 2 || pcb->snd_lbb - pcb->snd_nxt >= pcb->mss || pcb->snd_wnd <= queued || pcb->cwnd <= queued) {
    return;
  }
  s->snd_full_at = sys_now() | 1u;   /* 0 means "not waiting" */
}

void
sock_tcp_send_acked(struct lw_sock *s)
{
  u32_t waited;
  if (s->snd_full_at == 0) {
    return;
  }
  waited = (sys_now() | 1u) - s->snd_full_at;
  s->snd_full_at = 0;
  s->snd_slow = waited >= SND_GROW_MS ? (u8_t)(s->snd_slow + 1u) : 0u;
  /* The smoothed round trip must say so too: pauses of a loaded machine come in runs,
   * and inflate one sample each, not the average of eight. */
  if (s->snd_slow >= SND_GROW_ROUNDS && !(s->userlocks & LOCK_SNDBUF) && s->pcb.tcp != NULL &&
      (s->pcb.tcp->loss.srtt8 >> 3) >= SND_GROW_MS) {
    s->snd_slow = 0;
    s->sndbuf = LWIP_MIN(2u * s->sndbuf, 2u * TCP_SND_BUF);
  }
}

u32_t
sock_tcp_send_room(const struct lw_sock *s)
{
  const struct tcp_pcb *pcb = s->pcb.tcp;
  u32_t limit = s->sndbuf / 2;
  u32_t free_ = pcb->snd_buf;   /* not tcp_sndbuf(), which stops at 64 KiB */
  u32_t queued = TCP_SND_BUF - free_;
  u32_t room = limit > queued ? limit - queued : 0;
  return room < free_ ? room : free_;
}
