// A network interface: one link, an ethernet MAC, IPv4 and IPv6 addresses. Frames the
// stack sends wait here while the link pushes back, up to a byte limit.
import type { Core, FrameSink } from './core.js';
import { RX_HINT_GSO_SHIFT, RX_HINT_PARTIAL, RX_HINT_SEG_IP, type Link } from './transports/link.js';
import { parseCidr, prefixToMask, formatIPv4, formatIPv6, parseIPv4 } from './address.js';
import { startDhcp, readLease, dhcpDnsServers, checkDhcpOptions, type DhcpLease, type DhcpOptions } from './dhcp.js';
import { CHANGE, LW_IP4_CONFIG, writeLwIp4Config } from './gen/abi.js';
import { SocketError } from './errors.js';
import { ENETDOWN, RX_GSO_SHIFT, RX_PARTIAL, RX_SEG_IP } from './gen/constants.js';

// A link's per-frame hints go to the wasm as lw_rx flags unchanged.
if (RX_HINT_PARTIAL !== RX_PARTIAL || RX_HINT_SEG_IP !== RX_SEG_IP || RX_HINT_GSO_SHIFT !== RX_GSO_SHIFT) {
  throw new Error('lwip-wasm: src/transports/link.ts and wasm/lw_const.h disagree on lw_rx flags');
}

/** The largest frame segmentation offload makes: a 64 KiB IP packet and its ethernet header. */
const TSO_FRAME_MAX = 65535 + 18;

export interface InterfaceOptions {
  /**
   * IPv4 address with prefix length, e.g. '10.0.0.1/24', or 'dhcp' to lease one (then
   * Stack.addInterface returns a promise that resolves once leased). With 'dhcp' the
   * interface also takes IPv6 addresses from router advertisements (SLAAC), as a host
   * set to configure itself does.
   */
  ip?: string;
  /** With ip: 'dhcp': how long to wait for the lease, and an AbortSignal. */
  dhcp?: DhcpOptions;
  /** IPv4 default gateway; traffic off the subnet goes there. */
  gateway?: string;
  /** Static IPv6 addresses, e.g. 'fd00::1/64'. A link-local address is always added. */
  ipv6?: string | string[];
  /** MAC as 'aa:bb:cc:dd:ee:ff' or 6 bytes; a random locally administered one by default. */
  mac?: string | Uint8Array;
  /** MTU, at most the link's (default: the link's). */
  mtu?: number;
  /** Make this the default-route interface (the first interface is, unless another says so). */
  default?: boolean;
  /**
   * Bytes of outgoing frames held while the link pushes back before drops (default 16
   * MiB). Below 64 KiB the interface sends no segments over the MTU (segmentation
   * offload), since one could never be held.
   */
  txQueueLimit?: number;
}

export interface InterfaceCounters {
  txFrames: number;
  txBytes: number;
  /** Frames dropped because the link stayed busy past txQueueLimit. */
  txDropped: number;
  rxFrames: number;
  rxBytes: number;
}

export interface IPv4Config {
  address: string;
  netmask: string;
  prefix: number;
  gateway: string | null;
}

/** lwIP keeps 4 IPv6 addresses per interface (LWIP_IPV6_NUM_ADDRESSES); one is link-local. */
const MAX_STATIC_IPV6 = 3;
/** Bytes of held frames handed to a link that copies (sendViews) per call when it drains. */
const DRAIN_RUN = 64 * 1024;

/** A random unicast, locally administered MAC (02:xx:xx:xx:xx:xx), as Linux gives veths. */
export function randomMac(random: () => number): Uint8Array {
  const r1 = random();
  const r2 = random();
  return Uint8Array.of(0x02, r1 & 0xff, (r1 >>> 8) & 0xff, (r1 >>> 16) & 0xff, r2 & 0xff, (r2 >>> 8) & 0xff);
}

function parseMac(mac: string | Uint8Array): Uint8Array {
  if (mac instanceof Uint8Array) {
    if (mac.byteLength !== 6) throw new TypeError('lwip-wasm: mac must be 6 bytes');
    return mac;
  }
  if (typeof mac !== 'string' || !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(mac)) {
    throw new TypeError(`lwip-wasm: invalid MAC ${JSON.stringify(mac)} (want "02:00:00:00:00:01")`);
  }
  const bytes = Uint8Array.from(mac.split(/[:-]/), (h) => parseInt(h, 16));
  if (bytes[0]! & 1) throw new TypeError(`lwip-wasm: MAC ${mac} is multicast; an interface needs a unicast MAC`);
  return bytes;
}

export class NetInterface implements FrameSink {
  /** Interface index (1 is loopback, so the first link is 2); use it as an IPv6 zone. */
  readonly index: number;
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly link: Link;
  readonly #ipv4: IPv4Config | null;
  readonly #dhcp: boolean;
  #dhcpDns: string[] = [];
  readonly counters: InterfaceCounters = { txFrames: 0, txBytes: 0, txDropped: 0, rxFrames: 0, rxBytes: 0 };
  readonly #core: Core;
  readonly #txLimit: number;
  #held: Uint8Array[] = [];
  /** Per held frame, its segMax (a TCP segment for the link to cut), when any is held. */
  #heldSeg: number[] = [];
  #heldBytes = 0;
  #blocked = false;
  #removed = false;
  /** The link copies frames it keeps (sendViews), so the stack need not copy them out. */
  readonly #sendView: boolean;
  /** Why the link went away for good (its error, or ENETDOWN after a plain close). */
  #linkGone: Error | undefined;
  #onRemove: (i: NetInterface) => void;

  /** @internal created by Stack.addInterface */
  constructor(core: Core, link: Link, opts: InterfaceOptions, macBytes: Uint8Array, onRemove: (i: NetInterface) => void) {
    this.#core = core;
    this.link = link;
    this.#onRemove = onRemove;
    const linkMtu = link.mtu;
    const mtu = opts.mtu ?? linkMtu;
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > linkMtu) {
      throw new RangeError(`lwip-wasm: interface mtu must be an integer from 576 to the link's ${linkMtu}, got ${String(opts.mtu)}`);
    }
    this.#txLimit = opts.txQueueLimit ?? 16 * 1024 * 1024;
    this.#sendView = typeof link.sendViews === 'function';
    const mac = opts.mac !== undefined ? parseMac(opts.mac) : macBytes;
    this.mac = [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
    this.mtu = mtu;

    // Parse everything before touching the wasm, so bad input changes nothing.
    this.#dhcp = opts.ip === 'dhcp';
    if (this.#dhcp && opts.gateway !== undefined) throw new TypeError("lwip-wasm: with ip: 'dhcp' the gateway comes from the lease; drop gateway");
    if (!this.#dhcp && opts.dhcp !== undefined) throw new TypeError("lwip-wasm: dhcp options need ip: 'dhcp'");
    checkDhcpOptions(opts.dhcp);
    const v4 = opts.ip !== undefined && !this.#dhcp ? parseCidr(opts.ip) : null;
    if (v4 && v4.family !== 'IPv4') throw new TypeError(`lwip-wasm: ip must be IPv4 CIDR; put IPv6 in ipv6`);
    const gw = opts.gateway !== undefined ? parseIPv4(opts.gateway) : null;
    if (opts.gateway !== undefined && !gw) throw new TypeError(`lwip-wasm: invalid gateway ${JSON.stringify(opts.gateway)}`);
    if (gw && !v4) throw new TypeError('lwip-wasm: a gateway needs an ip');
    const v6list = opts.ipv6 === undefined ? [] : Array.isArray(opts.ipv6) ? opts.ipv6 : [opts.ipv6];
    const v6 = v6list.map((t) => {
      const c = parseCidr(t);
      if (c.family !== 'IPv6') throw new TypeError(`lwip-wasm: ipv6 needs IPv6 addresses, got ${JSON.stringify(t)}`);
      return c;
    });
    const v6texts = v6.map((a) => formatIPv6(a.bytes));
    if (new Set(v6texts).size !== v6texts.length) {
      throw new TypeError(`lwip-wasm: ipv6 lists an address twice: ${v6texts.join(', ')}`);
    }
    if (v6.length > MAX_STATIC_IPV6) {
      throw new RangeError(`lwip-wasm: at most ${MAX_STATIC_IPV6} static IPv6 addresses per interface (one slot is the link-local address)`);
    }

    const abi = core.abi;
    const macPtr = core.addrIn;
    core.heap.u8().set(mac, macPtr);
    this.index = core.check(abi.netif_add_eth(macPtr, mtu), 'addInterface');
    this.name = `en${this.index - 2}`;
    if (v4) {
      const mask = prefixToMask(v4.prefix);
      const cfg = abi.stack_scratch(LW_IP4_CONFIG.size);
      writeLwIp4Config(core.heap, cfg, { addr: v4.bytes, mask, gw: gw ?? new Uint8Array(4) });
      abi.netif_set_ip4(this.index, cfg);
      this.#ipv4 = { address: formatIPv4(v4.bytes), netmask: formatIPv4(mask), prefix: v4.prefix, gateway: gw ? formatIPv4(gw) : null };
    } else {
      this.#ipv4 = null;
    }
    for (const a of v6) {
      core.heap.u8().set(a.bytes, core.addrIn);
      const slot = abi.netif_add_ip6(this.index, core.addrIn);
      if (slot < 0) {
        abi.netif_remove_index(this.index); // add nothing on failure
        core.check(slot, 'addInterface', formatIPv6(a.bytes));
      }
    }
    if (opts.default) abi.netif_set_default_index(this.index);
    core.sinks.set(this.index, this);
    link.attach({
      offload: true,
      onFrames: (frames, flags) => {
        this.counters.rxFrames += frames.length;
        for (const f of frames) this.counters.rxBytes += f.byteLength;
        core.input(this.index, frames, flags);
      },
      stage: (frames, trusted, segs) => core.stage(this.index, frames, trusted, segs),
      segmentOffloadChanged: () => this.#syncTso(),
      onStaged: (handles, bytes) => {
        this.counters.rxFrames += handles.length;
        this.counters.rxBytes += bytes;
        core.inputStaged(this.index, handles);
      },
      dropStaged: (handles) => core.dropStaged(handles),
      onDrain: () => this.#drain(),
      onClose: (err) => {
        this.#linkGone = err ?? new SocketError(ENETDOWN, 'link');
        if (!this.#removed && core.alive) {
          abi.netif_set_link(this.index, 0);
          core.changes.notify(CHANGE.DHCP, this.index, 0); // a wait for a lease ends now
        }
      },
    });
    this.#syncTso();
    if (this.#dhcp) {
      try {
        abi.netif_set_autoconf(this.index, 1); // "configure from the network": SLAAC for IPv6 too
        startDhcp(core, this.index);
      } catch (err) {
        this.remove();
        throw err;
      }
    }
  }

  /** IPv4 configuration: the static one, or the current DHCP lease (null until leased). */
  get ipv4(): IPv4Config | null {
    if (!this.#dhcp) return this.#ipv4;
    const l = this.dhcp;
    return l ? { address: l.address, netmask: l.netmask, prefix: l.prefix, gateway: l.gateway } : null;
  }

  /** The DHCP lease (ip: 'dhcp'): address, gateway, DNS servers, times, state; null until leased. */
  get dhcp(): DhcpLease | null {
    if (!this.#dhcp || this.#removed) return null;
    return readLease(this.#core, this.index, this.#dhcpDns);
  }

  /** @internal why the link is gone for good, or undefined while it is not. */
  _linkGone(): Error | undefined {
    return this.#linkGone;
  }

  /** @internal the first lease arrived: keep the DNS servers it gave. */
  _leased(): void {
    this.#dhcpDns = dhcpDnsServers(this.#core);
  }

  /** IPv6 addresses, link-local first. */
  get ipv6(): string[] {
    const core = this.#core;
    if (this.#removed || !core.alive) return [];
    const out: string[] = [];
    for (let i = 0; i < 4; i++) {
      if (core.abi.netif_get_ip6(this.index, i, core.addrOut) === 0) {
        out.push(formatIPv6(core.heap.u8().slice(core.addrOut, core.addrOut + 16)));
      }
    }
    return out;
  }

  /**
   * A link that cuts TCP segments itself (a TAP with offload), or whose far end takes
   * them whole (a pair between two stacks), gets several MSS in one; unless the queue
   * held while the link pushes back could not hold one such segment (txQueueLimit).
   */
  #syncTso(): void {
    const core = this.#core;
    if (this.#removed || !core.alive) return;
    const on = this.link.segmentOffload === true && this.#txLimit >= TSO_FRAME_MAX;
    core.check(core.abi.netif_set_tso(this.index, on ? 1 : 0), 'addInterface', 'segmentation offload');
  }

  /**
   * @internal the stack hands every frame for this interface here; segMax > 0: a TCP
   * segment for a link with segmentation offload to cut into IP packets of at most
   * segMax bytes.
   */
  transmit(frame: Uint8Array, segMax = 0): void {
    if (this.#removed) return;
    if (this.#blocked) {
      if (this.#heldBytes + frame.byteLength > this.#txLimit) {
        this.counters.txDropped++; // like a full NIC ring: TCP will retransmit
        return;
      }
      this.#held.push(frame);
      this.#heldSeg.push(segMax);
      this.#heldBytes += frame.byteLength;
      return;
    }
    this.#send(frame, segMax);
  }

  /** @internal whether the stack may hand this interface views (transmitViews). */
  get takesViews(): boolean {
    return this.#sendView;
  }

  /**
   * @internal frames valid only during this call: held frames are copies. segs, when
   * given, holds each frame's segMax.
   */
  transmitViews(frames: readonly Uint8Array[], segs?: readonly number[]): void {
    if (this.#removed) return;
    if (this.#blocked) {
      for (let i = 0; i < frames.length; i++) this.transmit(frames[i]!.slice(), segs ? segs[i] : 0);
      return;
    }
    this.counters.txFrames += frames.length;
    for (const f of frames) this.counters.txBytes += f.byteLength;
    if (!(segs ? this.link.sendViews!(frames, segs) : this.link.sendViews!(frames))) this.#blocked = true;
  }

  #send(frame: Uint8Array, segMax: number): void {
    this.counters.txFrames++;
    this.counters.txBytes += frame.byteLength;
    if (!(segMax > 0 ? this.link.send(frame, segMax) : this.link.send(frame))) this.#blocked = true;
  }

  #drain(): void {
    this.#blocked = false;
    // An index, not shift(): thousands of frames may be held (several fast streams),
    // and shift() moves the rest each time. A link that copies takes them in runs of up
    // to DRAIN_RUN bytes, one call each, as it takes the stack's own batches.
    const held = this.#held;
    let i = 0;
    while (i < held.length && !this.#blocked) {
      if (!this.#sendView) {
        const seg = this.#heldSeg[i]!;
        const f = held[i++]!;
        this.#heldBytes -= f.byteLength;
        this.#send(f, seg);
        continue;
      }
      let bytes = 0;
      const from = i;
      while (i < held.length && (i === from || bytes + held[i]!.byteLength <= DRAIN_RUN)) bytes += held[i++]!.byteLength;
      const run = held.slice(from, i);
      const segs = this.#heldSeg.slice(from, i);
      this.#heldBytes -= bytes;
      this.counters.txFrames += run.length;
      this.counters.txBytes += bytes;
      if (!(segs.some((m) => m > 0) ? this.link.sendViews!(run, segs) : this.link.sendViews!(run))) this.#blocked = true;
    }
    this.#held = i === held.length ? [] : held.slice(i);
    this.#heldSeg = i === held.length ? [] : this.#heldSeg.slice(i);
  }

  /**
   * Adds a permanent IPv4 neighbour (ARP) entry, as `ip neigh add IP lladdr MAC nud
   * permanent` does: frames to ip go to mac without asking.
   */
  addNeighbor(ip: string, mac: string | Uint8Array): void {
    const bytes = parseIPv4(ip);
    if (!bytes) throw new TypeError(`lwip-wasm: addNeighbor needs an IPv4 address, got ${JSON.stringify(ip)}`);
    const m = parseMac(mac);
    const core = this.#core;
    core.heap.u8().set(bytes, core.addrIn);
    core.heap.u8().set(m, core.addrOut);
    core.check(core.abi.netif_add_neighbor4(core.addrIn, core.addrOut), 'addNeighbor', ip);
  }

  /** Removes the interface from the stack (the link is left open). */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#core.sinks.delete(this.index);
    if (this.#core.alive) {
      this.#core.abi.netif_remove_index(this.index);
    }
    this.#held = [];
    this.#heldSeg = [];
    this.#onRemove(this);
  }
}
