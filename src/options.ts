// Encoding of setsockopt/getsockopt values. Most options are one int, as in C; a few
// take a structure, given here as a plain object.
import { parseIPv4, parseIPv6, formatIPv4 } from './address.js';
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

/** Encodes value for (level, name) into bytes, or throws TypeError naming what is wanted. */
export function encodeOption(level: number, name: number, value: OptionValue): Uint8Array {
  const out = new Uint8Array(20);
  const dv = new DataView(out.buffer);
  if (level === SOL_SOCKET && name === SO_LINGER) {
    const v = value as Linger;
    if (!v || typeof v !== 'object' || typeof v.linger !== 'number' || !Number.isInteger(v.linger) || v.linger < 0) {
      throw new TypeError('lwip-wasm: SO_LINGER takes { onoff: boolean, linger: seconds >= 0 }');
    }
    dv.setInt32(0, v.onoff ? 1 : 0, true);
    dv.setInt32(4, v.linger, true);
    return out.subarray(0, 8);
  }
  if (level === IPPROTO_IP && (name === IP_ADD_MEMBERSHIP || name === IP_DROP_MEMBERSHIP)) {
    const v = value as IPv4Membership;
    const group = v && typeof v === 'object' && typeof v.multiaddr === 'string' ? parseIPv4(v.multiaddr) : null;
    const iface = parseIPv4(v?.interface ?? '0.0.0.0');
    if (!group || !iface) {
      throw new TypeError('lwip-wasm: IP_ADD_MEMBERSHIP takes { multiaddr: "239.x.y.z", interface?: "a.b.c.d" }');
    }
    out.set(group, 0);
    out.set(iface, 4);
    return out.subarray(0, 8);
  }
  if (level === IPPROTO_IPV6 && (name === IPV6_JOIN_GROUP || name === IPV6_LEAVE_GROUP)) {
    const v = value as IPv6Membership;
    const group = v && typeof v === 'object' && typeof v.multiaddr === 'string' ? parseIPv6(v.multiaddr) : null;
    const ifindex = v?.interface ?? 0;
    if (!group || !Number.isInteger(ifindex) || ifindex < 0) {
      throw new TypeError('lwip-wasm: IPV6_JOIN_GROUP takes { multiaddr: "ff0x::...", interface?: ifindex }');
    }
    out.set(group, 0);
    dv.setUint32(16, ifindex, true);
    return out.subarray(0, 20);
  }
  if (level === IPPROTO_IP && name === IP_MULTICAST_IF) {
    const a = typeof value === 'string' ? parseIPv4(value) : null;
    if (!a) throw new TypeError('lwip-wasm: IP_MULTICAST_IF takes an interface address such as "10.0.0.1"');
    out.set(a, 0);
    return out.subarray(0, 4);
  }
  let n: number;
  if (typeof value === 'boolean') n = value ? 1 : 0;
  else if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) n = value;
  else throw new TypeError(`lwip-wasm: option ${level}/${name} takes an integer (or boolean), got ${String(value)}`);
  dv.setInt32(0, n, true);
  return out.subarray(0, 4);
}

/** Decodes what getsockopt wrote. */
export function decodeOption(level: number, name: number, bytes: Uint8Array): number | Linger | string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (level === SOL_SOCKET && name === SO_LINGER) {
    return { onoff: dv.getInt32(0, true) !== 0, linger: dv.getInt32(4, true) };
  }
  if (level === IPPROTO_IP && name === IP_MULTICAST_IF) return formatIPv4(bytes.subarray(0, 4));
  return dv.getInt32(0, true);
}
