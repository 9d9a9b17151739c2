/*
 * tap.c: a TAP device for lwip-wasm's TAP link (Linux only).
 *
 * Opens /dev/net/tun with IFF_TAP|IFF_NO_PI, creating a device or attaching to an
 * existing (persistent) one by name. The fd is non-blocking and watched by a uv_poll_t
 * on Node's own loop, so no threadpool thread ever blocks on it. Frames cross the
 * N-API boundary in batches: one JS call delivers up to TAP_BATCH_FRAMES received
 * frames in one ArrayBuffer, and one JS call writes a whole queue of outgoing frames.
 *
 * With offload (IFF_VNET_HDR and TUNSETOFFLOAD), each frame carries a virtio-net header
 * and the kernel may hand over TCP segments of up to 64 KiB (GSO) with checksums left
 * partial, as it would to a NIC with TSO: one read then moves up to 64 KiB, not one
 * MTU. The header's checksum flags and segment size go to JS beside each length; the
 * stack takes such frames as Linux's GRO would. The other way, a TCP segment of several
 * MSS from the stack goes out whole with the size to cut it to (TSO) and a partial
 * checksum; any other frame carries an empty header.
 *
 * Like the wasm glue, functions report failure as a negative errno and never throw;
 * the TypeScript side turns the errno into an error that says what to do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include <node_api.h>
#include <uv.h>

/* Frames handed to JS per poll callback; the loop gets control back between batches. */
#define TAP_BATCH_FRAMES 256
/* Largest frame a TAP device passes: a 65535-byte packet plus ethernet and VLAN headers. */
#define TAP_FRAME_MAX (65536 + 32)
/* Receive scratch: stop reading a batch when less than one largest frame still fits. */
#define TAP_SCRATCH (1024 * 1024 + TAP_FRAME_MAX)

enum tap_counter {
  TAP_RX_FRAMES, TAP_RX_BYTES, TAP_RX_BATCHES,
  TAP_TX_FRAMES, TAP_TX_BYTES, TAP_TX_BATCHES, TAP_TX_DROPPED, TAP_TX_ERRNO,
  TAP_RX_LARGE,   /* frames the kernel handed over as one segment of several (GSO) */
  TAP_OFFLOAD,    /* 1 while the device has offload on */
  TAP_COUNTERS
};

/* The offloads asked of the kernel: partial checksums, and TCP segmentation over IPv4
 * (with ECN) and IPv6. */
#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

typedef struct tap_dev {
  int fd;                  /* -1 once closed */
  char name[IFNAMSIZ];
  napi_env env;
  uv_poll_t poll;
  int poll_events;         /* UV_READABLE|UV_WRITABLE currently asked for */
  int poll_open;           /* uv_poll_init done and uv_close not yet finished */
  int started;
  int finalized;           /* the JS external is gone */
  int hooked;              /* env cleanup hook registered */
  napi_ref on_frames;      /* (data: ArrayBuffer, lengths: ArrayBuffer) */
  napi_ref on_writable;    /* () */
  napi_ref on_error;       /* (negative errno) */
  napi_async_context actx;
  int vnet;                /* frames carry a struct virtio_net_hdr */
  uint8_t *scratch;
  uint32_t lengths[TAP_BATCH_FRAMES * 2];  /* per frame: length, then offload info */
  double counters[TAP_COUNTERS];
} tap_dev;

/* ---- helpers ------------------------------------------------------------------------ */

static napi_value tap_int(napi_env env, int32_t v)
{
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static int tap_get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -EINVAL;
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  return 0;
}

static tap_dev *tap_from(napi_env env, napi_value v)
{
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (tap_dev *)p;
}

/* Copies an interface name argument: a string of up to IFNAMSIZ-1 bytes ('' if allow_empty). */
static int tap_get_name_opt(napi_env env, napi_value v, char *out, int allow_empty)
{
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -EINVAL;
  if ((len == 0 && !allow_empty) || len >= IFNAMSIZ) return -EINVAL;
  memset(out, 0, IFNAMSIZ);
  napi_get_value_string_utf8(env, v, out, IFNAMSIZ, &len);
  return 0;
}

static int tap_get_name(napi_env env, napi_value v, char *out)
{
  return tap_get_name_opt(env, v, out, 0);
}

/* Calls a JS callback from a libuv callback; an exception becomes an uncaught exception. */
static void tap_call(tap_dev *d, napi_ref ref, size_t argc, napi_value *argv)
{
  napi_env env = d->env;
  napi_value fn, recv, result;
  if (ref == NULL || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv); /* make_callback needs an object as `this` */
  if (napi_make_callback(env, d->actx, recv, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

static void tap_free_if_done(tap_dev *d)
{
  if (d->finalized && !d->poll_open && d->fd < 0) {
    free(d->scratch);
    free(d);
  }
}

static void tap_poll_closed(uv_handle_t *h)
{
  tap_dev *d = (tap_dev *)h->data;
  d->poll_open = 0;
  tap_free_if_done(d);
}

static void tap_release_refs(tap_dev *d)
{
  if (d->on_frames) napi_delete_reference(d->env, d->on_frames);
  if (d->on_writable) napi_delete_reference(d->env, d->on_writable);
  if (d->on_error) napi_delete_reference(d->env, d->on_error);
  d->on_frames = d->on_writable = d->on_error = NULL;
  if (d->actx) napi_async_destroy(d->env, d->actx);
  d->actx = NULL;
}

static void tap_env_cleanup(void *arg);

/* Stops polling and closes the fd. The uv handle closes asynchronously. */
static void tap_shutdown(tap_dev *d, int from_cleanup)
{
  if (d->fd < 0) return;
  if (d->hooked && !from_cleanup) napi_remove_env_cleanup_hook(d->env, tap_env_cleanup, d);
  d->hooked = 0;
  if (d->poll_open) {
    uv_poll_stop(&d->poll);
    uv_close((uv_handle_t *)&d->poll, tap_poll_closed);
  }
  close(d->fd);
  d->fd = -1;
  if (!from_cleanup) tap_release_refs(d);
}

static void tap_env_cleanup(void *arg)
{
  tap_dev *d = (tap_dev *)arg;
  d->hooked = 0;
  tap_shutdown(d, 1);
}

static void tap_finalize(napi_env env, void *data, void *hint)
{
  tap_dev *d = (tap_dev *)data;
  (void)env;
  (void)hint;
  d->finalized = 1;
  tap_shutdown(d, 0);
  tap_free_if_done(d);
}

/* ---- the receive and writable path ------------------------------------------------- */

static void tap_deliver(tap_dev *d, size_t used, uint32_t n)
{
  napi_env env = d->env;
  napi_handle_scope scope;
  napi_value argv[2];
  void *p;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_create_arraybuffer(env, used, &p, &argv[0]) == napi_ok) {
    memcpy(p, d->scratch, used);
    if (napi_create_arraybuffer(env, (size_t)n * 8, &p, &argv[1]) == napi_ok) {
      memcpy(p, d->lengths, (size_t)n * 8);
      d->counters[TAP_RX_BATCHES]++;
      tap_call(d, d->on_frames, 2, argv);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void tap_report_error(tap_dev *d, int neg_errno)
{
  napi_handle_scope scope;
  napi_value arg;
  if (napi_open_handle_scope(d->env, &scope) != napi_ok) return;
  arg = tap_int(d->env, neg_errno);
  tap_call(d, d->on_error, 1, &arg);
  napi_close_handle_scope(d->env, scope);
}

static void tap_read_batch(tap_dev *d)
{
  size_t used = 0;
  uint32_t n = 0;
  int err = 0;
  struct virtio_net_hdr vh;
  struct iovec iov[2] = { { &vh, sizeof vh }, { NULL, TAP_FRAME_MAX } };
  int skip = d->vnet ? 0 : 1;
  while (n < TAP_BATCH_FRAMES && TAP_SCRATCH - used >= TAP_FRAME_MAX) {
    iov[1].iov_base = d->scratch + used;
    ssize_t r = readv(d->fd, iov + skip, 2 - skip);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = -errno;
      break;
    }
    if (r == 0) break;
    uint32_t info = 0;
    if (d->vnet) {
      if ((size_t)r <= sizeof vh) continue; /* a header and no frame: nothing to deliver */
      r -= (ssize_t)sizeof vh;
      /* bits 0-1: NEEDS_CSUM, DATA_VALID; bits 16-31: the segment size of a GSO frame */
      info = vh.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);
      if ((vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
        info |= (uint32_t)vh.gso_size << 16;
        d->counters[TAP_RX_LARGE]++;
      }
    }
    d->lengths[2 * n] = (uint32_t)r;
    d->lengths[2 * n + 1] = info;
    n++;
    used += (size_t)r;
  }
  d->counters[TAP_RX_FRAMES] += n;
  d->counters[TAP_RX_BYTES] += (double)used;
  if (n > 0) tap_deliver(d, used, n);
  /* JS may have closed the device while handling the frames. */
  if (err && d->fd >= 0) {
    uv_poll_stop(&d->poll);
    d->poll_events = 0;
    tap_report_error(d, err);
  }
}

static void tap_on_poll(uv_poll_t *h, int status, int events)
{
  tap_dev *d = (tap_dev *)h->data;
  if (d->fd < 0) return;
  if (status < 0) {
    /* libuv turns POLLERR into UV_EBADF; a read says what really happened (EBADFD when
     * the device was deleted under us). */
    uint8_t probe[64];
    if (read(d->fd, probe, sizeof probe) < 0 && errno != EAGAIN && errno != EWOULDBLOCK) status = -errno;
    uv_poll_stop(&d->poll);
    d->poll_events = 0;
    tap_report_error(d, status); /* libuv errors are negative errno on Linux */
    return;
  }
  if (events & UV_WRITABLE) {
    /* Writable again after EAGAIN: stop asking, and let JS flush its queue. */
    d->poll_events &= ~UV_WRITABLE;
    uv_poll_start(&d->poll, d->poll_events, tap_on_poll);
    napi_handle_scope scope;
    if (napi_open_handle_scope(d->env, &scope) == napi_ok) {
      tap_call(d, d->on_writable, 0, NULL);
      napi_close_handle_scope(d->env, scope);
    }
    if (d->fd < 0) return;
  }
  if (events & UV_READABLE) tap_read_batch(d);
}

/* ---- exported functions ------------------------------------------------------------ */

/* open(name: string, attachOnly: boolean, vnet: boolean) -> External | -errno. name ''
 * lets the kernel pick. vnet: frames carry a virtio-net header, so offload(dev, true)
 * can later turn the kernel's offloads on; they start off. */
static napi_value tap_open(napi_env env, napi_callback_info info)
{
  napi_value argv[3], out;
  char name[IFNAMSIZ];
  bool attach_only = false, vnet = false;
  struct ifreq ifr;
  tap_get_args(env, info, 3, argv);
  if (tap_get_name_opt(env, argv[0], name, 1) < 0) return tap_int(env, -EINVAL);
  napi_get_value_bool(env, argv[1], &attach_only);
  napi_get_value_bool(env, argv[2], &vnet);
  if (attach_only && (name[0] == '\0' || if_nametoindex(name) == 0)) return tap_int(env, -ENODEV);

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return tap_int(env, -errno);
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return tap_int(env, -e);
  }
  int hdr_size = (int)sizeof(struct virtio_net_hdr);
  if (vnet && (ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0 || ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)) {
    int e = errno;
    close(fd);
    return tap_int(env, -e);
  }

  tap_dev *d = calloc(1, sizeof *d);
  uint8_t *scratch = malloc(TAP_SCRATCH);
  if (d == NULL || scratch == NULL) {
    free(d);
    free(scratch);
    close(fd);
    return tap_int(env, -ENOMEM);
  }
  d->fd = fd;
  d->env = env;
  d->scratch = scratch;
  d->vnet = vnet;
  memcpy(d->name, ifr.ifr_name, IFNAMSIZ);
  d->name[IFNAMSIZ - 1] = '\0';
  if (napi_create_external(env, d, tap_finalize, NULL, &out) != napi_ok) {
    close(fd);
    free(scratch);
    free(d);
    return tap_int(env, -ENOMEM);
  }
  if (napi_add_env_cleanup_hook(env, tap_env_cleanup, d) == napi_ok) d->hooked = 1;
  return out;
}

/* name(dev) -> the kernel's name for the device (it picks one when asked for ''). */
static napi_value tap_name(napi_env env, napi_callback_info info)
{
  napi_value argv[1], out;
  tap_get_args(env, info, 1, argv);
  tap_dev *d = tap_from(env, argv[0]);
  if (d == NULL) return tap_int(env, -EINVAL);
  napi_create_string_utf8(env, d->name, NAPI_AUTO_LENGTH, &out);
  return out;
}

/* start(dev, onFrames, onWritable, onError) -> 0 | -errno: begins reading. */
static napi_value tap_start(napi_env env, napi_callback_info info)
{
  napi_value argv[4], res_name;
  tap_get_args(env, info, 4, argv);
  tap_dev *d = tap_from(env, argv[0]);
  if (d == NULL) return tap_int(env, -EINVAL);
  if (d->fd < 0) return tap_int(env, -EBADF);
  if (d->started) return tap_int(env, -EALREADY);
  for (int i = 1; i < 4; i++) {
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    if (t != napi_function) return tap_int(env, -EINVAL);
  }
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) return tap_int(env, -EIO);
  napi_create_reference(env, argv[1], 1, &d->on_frames);
  napi_create_reference(env, argv[2], 1, &d->on_writable);
  napi_create_reference(env, argv[3], 1, &d->on_error);
  napi_create_string_utf8(env, "lwip-wasm:tap", NAPI_AUTO_LENGTH, &res_name);
  napi_async_init(env, NULL, res_name, &d->actx);
  int r = uv_poll_init(loop, &d->poll, d->fd);
  if (r != 0) {
    tap_release_refs(d);
    return tap_int(env, r);
  }
  d->poll.data = d;
  d->poll_open = 1;
  d->started = 1;
  d->poll_events = UV_READABLE;
  r = uv_poll_start(&d->poll, UV_READABLE, tap_on_poll);
  return tap_int(env, r);
}

static uint16_t tap_be16(const uint8_t *b)
{
  return (uint16_t)((b[0] << 8) | b[1]);
}

/*
 * The virtio-net header for a frame written: a TCP segment the stack sent for the kernel
 * to cut into IP packets of at most seg_max bytes gets GSO, and its checksum field the
 * pseudo-header's sum (NEEDS_CSUM), as a NIC with TSO expects; the kernel completes it
 * for each packet it cuts (or, delivering the segment whole, trusts it). Anything else
 * (seg_max 0, or a frame that is not such a segment) gets an empty header: checksums
 * complete, one packet.
 */
static void tap_tx_header(uint8_t *f, size_t len, uint32_t seg_max, struct virtio_net_hdr *vh)
{
  size_t l3 = 14, l4;
  uint32_t sum = 0, tcp_len, doff;
  uint8_t gso_type;
  memset(vh, 0, sizeof *vh);
  if (seg_max == 0 || len < 18) return;
  uint16_t type = tap_be16(f + 12);
  if (type == 0x8100) {
    l3 = 18;
    type = tap_be16(f + 16);
  }
  if (type == 0x0800 && len >= l3 + 20 && f[l3 + 9] == 6) {
    l4 = l3 + (size_t)(f[l3] & 0x0f) * 4;
    if (tap_be16(f + l3 + 2) < l4 - l3) return;
    tcp_len = tap_be16(f + l3 + 2) - (uint32_t)(l4 - l3);
    for (size_t i = l3 + 12; i < l3 + 20; i += 2) sum += tap_be16(f + i);
    gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  } else if (type == 0x86dd && len >= l3 + 40 && f[l3 + 6] == 6) {
    l4 = l3 + 40;
    tcp_len = tap_be16(f + l3 + 4);
    for (size_t i = l3 + 8; i < l3 + 40; i += 2) sum += tap_be16(f + i);
    gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
  } else {
    return;
  }
  if (len < l4 + 20 || l4 + tcp_len > len) return;
  doff = (uint32_t)(f[l4 + 12] >> 4) * 4;
  if (doff < 20 || tcp_len < doff || seg_max <= (l4 - l3) + doff) return;
  sum += 6 + tcp_len;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[l4 + 16] = (uint8_t)(sum >> 8);
  f[l4 + 17] = (uint8_t)sum;
  vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vh->csum_start = (uint16_t)l4;
  vh->csum_offset = 16;
  uint32_t gso_size = seg_max - (uint32_t)(l4 - l3) - doff;
  if (tcp_len - doff > gso_size) {
    vh->gso_type = gso_type | ((f[l4 + 13] & 0x80) ? VIRTIO_NET_HDR_GSO_ECN : 0); /* CWR */
    vh->gso_size = (uint16_t)gso_size;
    vh->hdr_len = (uint16_t)(l4 + doff);
  }
}

/*
 * write(dev, frames: Uint8Array[], from: number, segMax: number[]) -> frames consumed | -errno.
 * Writes frames[from..] one write(2) each; segMax[i] > 0 marks a TCP segment for the
 * kernel to cut (tap_tx_header; only on a device opened with vnet). Stops at EAGAIN and asks libuv to say when
 * the fd is writable again (onWritable). A frame the kernel refuses for another reason
 * (EIO while the device is down, EINVAL) is dropped and counted, as a NIC would.
 */
static napi_value tap_write(napi_env env, napi_callback_info info)
{
  napi_value argv[4];
  uint32_t count = 0, from = 0, i;
  bool has_seg = false;
  tap_get_args(env, info, 4, argv);
  tap_dev *d = tap_from(env, argv[0]);
  if (d == NULL) return tap_int(env, -EINVAL);
  if (d->fd < 0) return tap_int(env, -EBADF);
  if (napi_get_array_length(env, argv[1], &count) != napi_ok) return tap_int(env, -EINVAL);
  napi_get_value_uint32(env, argv[2], &from);
  napi_is_array(env, argv[3], &has_seg);
  int blocked = 0;
  for (i = from; i < count; i++) {
    napi_value el, ab;
    napi_typedarray_type type;
    size_t length, offset;
    void *data;
    if (napi_get_element(env, argv[1], i, &el) != napi_ok ||
        napi_get_typedarray_info(env, el, &type, &length, &data, &ab, &offset) != napi_ok ||
        type != napi_uint8_array) {
      return tap_int(env, -EINVAL);
    }
    ssize_t r;
    struct virtio_net_hdr vh;
    struct iovec iov[2] = { { &vh, sizeof vh }, { data, length } };
    uint32_t seg_max = 0;
    if (d->vnet && has_seg) {
      napi_value sv;
      if (napi_get_element(env, argv[3], i, &sv) == napi_ok) napi_get_value_uint32(env, sv, &seg_max);
    }
    tap_tx_header(data, length, seg_max, &vh);
    int skip = d->vnet ? 0 : 1;
    do {
      r = writev(d->fd, iov + skip, 2 - skip);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        blocked = 1;
        break;
      }
      d->counters[TAP_TX_DROPPED]++;
      d->counters[TAP_TX_ERRNO] = errno;
      continue;
    }
    d->counters[TAP_TX_FRAMES]++;
    d->counters[TAP_TX_BYTES] += (double)length;
  }
  d->counters[TAP_TX_BATCHES]++;
  if (blocked && d->poll_open && !(d->poll_events & UV_WRITABLE)) {
    d->poll_events |= UV_WRITABLE;
    uv_poll_start(&d->poll, d->poll_events, tap_on_poll);
  }
  return tap_int(env, (int32_t)(i - from));
}

/* close(dev): stops polling and closes the fd (a non-persistent device disappears). */
static napi_value tap_close(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  tap_get_args(env, info, 1, argv);
  tap_dev *d = tap_from(env, argv[0]);
  if (d == NULL) return tap_int(env, -EINVAL);
  tap_shutdown(d, 0);
  return tap_int(env, 0);
}

/* offload(dev, on) -> 0 | -errno: asks the kernel for TAP_OFFLOADS (or none). Needs a
 * device opened with vnet. */
static napi_value tap_offload(napi_env env, napi_callback_info info)
{
  napi_value argv[2];
  bool on = false;
  tap_get_args(env, info, 2, argv);
  tap_dev *d = tap_from(env, argv[0]);
  if (d == NULL) return tap_int(env, -EINVAL);
  if (d->fd < 0) return tap_int(env, -EBADF);
  if (!d->vnet) return tap_int(env, -EOPNOTSUPP);
  napi_get_value_bool(env, argv[1], &on);
  if (ioctl(d->fd, TUNSETOFFLOAD, on ? (unsigned long)TAP_OFFLOADS : 0UL) < 0) return tap_int(env, -errno);
  d->counters[TAP_OFFLOAD] = on;
  return tap_int(env, 0);
}

/* ref(dev, on): whether the open device keeps Node's event loop alive (default yes). */
static napi_value tap_ref(napi_env env, napi_callback_info info)
{
  napi_value argv[2];
  bool on = true;
  tap_get_args(env, info, 2, argv);
  tap_dev *d = tap_from(env, argv[0]);
  if (d == NULL) return tap_int(env, -EINVAL);
  napi_get_value_bool(env, argv[1], &on);
  if (d->poll_open) {
    if (on) uv_ref((uv_handle_t *)&d->poll);
    else uv_unref((uv_handle_t *)&d->poll);
  }
  return tap_int(env, 0);
}

/* stats(dev) -> Float64Array of the counters in enum tap_counter order. */
static napi_value tap_stats(napi_env env, napi_callback_info info)
{
  napi_value argv[1], ab, out;
  void *p;
  tap_get_args(env, info, 1, argv);
  tap_dev *d = tap_from(env, argv[0]);
  if (d == NULL) return tap_int(env, -EINVAL);
  napi_create_arraybuffer(env, sizeof d->counters, &p, &ab);
  memcpy(p, d->counters, sizeof d->counters);
  napi_create_typedarray(env, napi_float64_array, TAP_COUNTERS, ab, 0, &out);
  return out;
}

/* ---- device settings by name (in this process's network namespace) --------------- */

static int tap_ifreq(const char *name, unsigned long req, struct ifreq *ifr)
{
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  memcpy(ifr->ifr_name, name, IFNAMSIZ); /* name is IFNAMSIZ bytes, NUL-padded */
  int r = ioctl(s, req, ifr) < 0 ? -errno : 0;
  close(s);
  return r;
}

/* mtu(name) -> the device's MTU | -errno. */
static napi_value tap_get_mtu(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  char name[IFNAMSIZ];
  struct ifreq ifr;
  tap_get_args(env, info, 1, argv);
  int r = tap_get_name(env, argv[0], name);
  if (r < 0) return tap_int(env, r);
  memset(&ifr, 0, sizeof ifr);
  r = tap_ifreq(name, SIOCGIFMTU, &ifr);
  return tap_int(env, r < 0 ? r : ifr.ifr_mtu);
}

/* setMtu(name, mtu) -> 0 | -errno (needs CAP_NET_ADMIN). */
static napi_value tap_set_mtu(napi_env env, napi_callback_info info)
{
  napi_value argv[2];
  char name[IFNAMSIZ];
  int32_t mtu = 0;
  struct ifreq ifr;
  tap_get_args(env, info, 2, argv);
  int r = tap_get_name(env, argv[0], name);
  if (r < 0) return tap_int(env, r);
  if (napi_get_value_int32(env, argv[1], &mtu) != napi_ok) return tap_int(env, -EINVAL);
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_mtu = mtu;
  return tap_int(env, tap_ifreq(name, SIOCSIFMTU, &ifr));
}

/* setUp(name, up) -> 0 | -errno (needs CAP_NET_ADMIN). */
static napi_value tap_set_up(napi_env env, napi_callback_info info)
{
  napi_value argv[2];
  char name[IFNAMSIZ];
  bool up = true;
  struct ifreq ifr;
  tap_get_args(env, info, 2, argv);
  int r = tap_get_name(env, argv[0], name);
  if (r < 0) return tap_int(env, r);
  napi_get_value_bool(env, argv[1], &up);
  memset(&ifr, 0, sizeof ifr);
  r = tap_ifreq(name, SIOCGIFFLAGS, &ifr);
  if (r < 0) return tap_int(env, r);
  if (up) ifr.ifr_flags |= IFF_UP;
  else ifr.ifr_flags &= ~IFF_UP;
  return tap_int(env, tap_ifreq(name, SIOCSIFFLAGS, &ifr));
}

/* index(name) -> ifindex | -ENODEV. */
static napi_value tap_index(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  char name[IFNAMSIZ];
  tap_get_args(env, info, 1, argv);
  int r = tap_get_name(env, argv[0], name);
  if (r < 0) return tap_int(env, r);
  unsigned idx = if_nametoindex(name);
  return tap_int(env, idx ? (int32_t)idx : -ENODEV);
}

static napi_value tap_init(napi_env env, napi_value exports)
{
  static const struct { const char *name; napi_callback fn; } fns[] = {
    { "open", tap_open }, { "name", tap_name }, { "start", tap_start }, { "write", tap_write },
    { "close", tap_close }, { "offload", tap_offload }, { "ref", tap_ref }, { "stats", tap_stats }, { "mtu", tap_get_mtu },
    { "setMtu", tap_set_mtu }, { "setUp", tap_set_up }, { "index", tap_index },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) {
      return NULL;
    }
  }
  napi_value batch;
  napi_create_uint32(env, TAP_BATCH_FRAMES, &batch);
  napi_set_named_property(env, exports, "batchFrames", batch);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, tap_init)
