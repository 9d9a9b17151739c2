// setsockopt/getsockopt values in wasm memory. Most options are one int, as in C; a few
// take a structure (wasm/abi.h's lw_linger, lw_ip_mreq, lw_ipv6_mreq), given here as a
// plain object.
import { parseIPv4, parseIPv6, formatIPv4 } from './address.js';
import {
  LW_IP_MREQ, LW_IPV6_MREQ, LW_LINGER, readLwLinger, writeLwIpMreq, writeLwIpv6Mreq, writeLwLinger, type Mem, type Ptr,
} from './gen/abi.js';
import {
  SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, SO_LINGER, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP,
  IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP, IP_MULTICAST_IF,
} from './gen/constants.js';

/** SO_LINGER: `onoff` with `linger` 0 makes close() reset the connection. */
export interface Linger {
  onoff: boolean | number;
  /** Seconds; only 0 changes behaviour (see the docs). */
  linger: number;
}

/** IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP (struct ip_mreq). */
export interface IPv4Membership {
  /** The group, e.g. '239.1.2.3'. */
  multiaddr: string;
  /** Local interface address; '0.0.0.0' (the default) means every interface. */
  interface?: string;
}

/** IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP (struct ipv6_mreq). */
export interface IPv6Membership {
  /** The group, e.g. 'ff02::1:3'. */
  multiaddr: string;
  /** Interface index; 0 (the default) means every interface. */
  interface?: number;
}

export type OptionValue = number | boolean | Linger | IPv4Membership | IPv6Membership | string;

/** The most bytes an option value takes (struct lw_ipv6_mreq); callers give this much room. */
export const OPTION_MAX = LW_IPV6_MREQ.size;

/**
 * Writes value for (level, name) at p in wasm memory, as setsockopt(2) takes it, and
 * returns its length; throws TypeError naming what is wanted (writing nothing).
 */
export function writeOption(m: Mem, p: Ptr, level: number, name: number, value: OptionValue): number {
  if (level === SOL_SOCKET && name === SO_LINGER) {
    const v = value as Linger;
    if (!v || typeof v !== 'object' || typeof v.linger !== 'number' || !Number.isInteger(v.linger) || v.linger < 0) {
      throw new TypeError('lwip-wasm: SO_LINGER takes { onoff: boolean, linger: seconds >= 0 }');
    }
    writeLwLinger(m, p, { onoff: v.onoff ? 1 : 0, linger: Math.min(v.linger, 0x7fffffff) });
    return LW_LINGER.size;
  }
  if (level === IPPROTO_IP && (name === IP_ADD_MEMBERSHIP || name === IP_DROP_MEMBERSHIP)) {
    const v = value as IPv4Membership;
    const group = v && typeof v === 'object' && typeof v.multiaddr === 'string' ? parseIPv4(v.multiaddr) : null;
    const iface = parseIPv4(v?.interface ?? '0.0.0.0');
    if (!group || !iface) {
      throw new TypeError('lwip-wasm: IP_ADD_MEMBERSHIP takes { multiaddr: "239.x.y.z", interface?: "a.b.c.d" }');
    }
    writeLwIpMreq(m, p, { multiaddr: group, interface: iface });
    return LW_IP_MREQ.size;
  }
  if (level === IPPROTO_IPV6 && (name === IPV6_JOIN_GROUP || name === IPV6_LEAVE_GROUP)) {
    const v = value as IPv6Membership;
    const group = v && typeof v === 'object' && typeof v.multiaddr === 'string' ? parseIPv6(v.multiaddr) : null;
    const ifindex = v?.interface ?? 0;
    if (!group || !Number.isInteger(ifindex) || ifindex < 0) {
      throw new TypeError('lwip-wasm: IPV6_JOIN_GROUP takes { multiaddr: "ff0x::...", interface?: ifindex }');
    }
    writeLwIpv6Mreq(m, p, { multiaddr: group, interface: ifindex });
    return LW_IPV6_MREQ.size;
  }
  if (level === IPPROTO_IP && name === IP_MULTICAST_IF) {
    const a = typeof value === 'string' ? parseIPv4(value) : null;
    if (!a) throw new TypeError('lwip-wasm: IP_MULTICAST_IF takes an interface address such as "10.0.0.1"');
    m.u8().set(a, p);
    return 4;
  }
  let n: number;
  if (typeof value === 'boolean') n = value ? 1 : 0;
  else if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) n = value;
  else throw new TypeError(`lwip-wasm: option ${level}/${name} takes an integer (or boolean), got ${String(value)}`);
  m.dv().setInt32(p, n, true);
  return 4;
}

/** Reads what getsockopt wrote at p. */
export function readOption(m: Mem, p: Ptr, level: number, name: number): number | Linger | string {
  if (level === SOL_SOCKET && name === SO_LINGER) {
    const l = readLwLinger(m, p);
    return { onoff: l.onoff !== 0, linger: l.linger };
  }
  if (level === IPPROTO_IP && name === IP_MULTICAST_IF) return formatIPv4(m.u8().subarray(p, p + 4));
  return m.dv().getInt32(p, true);
}
