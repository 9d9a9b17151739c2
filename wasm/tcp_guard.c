/* Off-path segment checks (RFC 5961 sections 4-5) that lwIP 2.1.3 lacks.
 *
 * lwIP applies a segment's ACK, window and options before it checks the sequence number,
 * and its wrapping comparisons accept a sequence exactly 2^31 away. So one forged segment
 * from someone who knows only the addresses and ports can zero a connection's send
 * window, shrink its MSS, or close it. On a synchronized connection we therefore drop,
 * before lwIP sees it, a segment whose sequence number is outside the receive window
 * (allowing old duplicates, which lwIP must see to re-ACK) or whose ACK is outside
 * [SND.UNA - MAX.SND.WND, SND.NXT], as Linux does. RSTs and SYNs are left to lwIP,
 * which already demands an exact sequence for them. */
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "tcp_guard.h"

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

err_t
tcp_guard_inpacket(struct tcp_pcb *pcb, const struct tcp_hdr *hdr, const struct pbuf *p)
{
  u8_t flags = TCPH_FLAGS(hdr);
  u32_t seq, ack, wnd, back;
  s32_t d;
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
