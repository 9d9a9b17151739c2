// The stack's equivalents of `ss` and /proc/net/sockstat, and lwIP's protocol counters.
import type { Core } from './core.js';
import { fromRaw, type SocketAddress } from './address.js';
import { ADDR_SIZE } from './bindings/memory.js';
import {
  IPPROTO_TCP, TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_TIME_WAIT,
  TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING,
} from './gen/constants.js';

export interface TcpInfo {
  /** Current send MSS. */
  mss: number;
  /** Congestion window and slow-start threshold, bytes. */
  cwnd: number;
  ssthresh: number;
  /** Retransmission timeout and smoothed RTT, ms (lwIP measures in 500 ms ticks). */
  rto: number;
  rtt: number;
  /** Retransmissions of the segment now in flight. */
  retransmits: number;
  /** The peer's advertised window, and ours, bytes. */
  sndWnd: number;
  rcvWnd: number;
}

export interface SocketMemory {
  /** Bytes received and not read; bytes queued to send and not acknowledged. */
  rmem: number;
  wmem: number;
  /** SO_RCVBUF and SO_SNDBUF as getsockopt reports them (doubled, as Linux). */
  rcvbuf: number;
  sndbuf: number;
}

export interface SsRow {
  netid: 'tcp' | 'udp';
  /** ss's names: ESTAB, LISTEN, SYN-SENT, TIME-WAIT, ..., UNCONN for unconnected UDP. */
  state: string;
  /** Bytes not yet read; for LISTEN, connections waiting in the accept queue. */
  recvQ: number;
  /** Bytes not yet acknowledged; for LISTEN, the accept queue's limit (backlog). */
  sendQ: number;
  local: SocketAddress;
  /** null for listening and unconnected sockets (ss prints "*"). */
  peer: SocketAddress | null;
  /** The descriptor, or null for connections no socket holds (waiting for accept, orphans, TIME-WAIT). */
  fd: number | null;
  info?: TcpInfo;
  memory?: SocketMemory;
}

export interface SsOptions {
  /** Only listening sockets (and unconnected UDP), as `ss -l`. */
  listening?: boolean;
  /** Every socket, listening or not, as `ss -a`. Default: all but listening ones, as plain `ss`. */
  all?: boolean;
  /** Only TCP / only UDP; neither or both means both. */
  tcp?: boolean;
  udp?: boolean;
  /** Add TCP internals (as `ss -i`). */
  info?: boolean;
  /** Add memory figures (as `ss -m`). */
  memory?: boolean;
}

export interface Sockstat {
  sockets: { used: number };
  tcp: { inuse: number; orphan: number; tw: number; alloc: number; mem: number };
  udp: { inuse: number; mem: number };
}

export interface ProtoCounters {
  xmit: number; recv: number; fw: number; drop: number; chkerr: number; lenerr: number;
  memerr: number; rterr: number; proterr: number; opterr: number; err: number; cachehit: number;
}

export type Stats = Record<'link' | 'etharp' | 'ipFrag' | 'ip' | 'icmp' | 'udp' | 'tcp' | 'ip6' | 'icmp6' | 'ip6Frag' | 'nd6', ProtoCounters>;

const STATE_NAMES: Record<number, string> = {
  [TCP_ESTABLISHED]: 'ESTAB', [TCP_SYN_SENT]: 'SYN-SENT', [TCP_SYN_RECV]: 'SYN-RECV',
  [TCP_FIN_WAIT1]: 'FIN-WAIT-1', [TCP_FIN_WAIT2]: 'FIN-WAIT-2', [TCP_TIME_WAIT]: 'TIME-WAIT',
  [TCP_CLOSE]: 'CLOSE', [TCP_CLOSE_WAIT]: 'CLOSE-WAIT', [TCP_LAST_ACK]: 'LAST-ACK',
  [TCP_LISTEN]: 'LISTEN', [TCP_CLOSING]: 'CLOSING',
};
const ROW_WORDS = 32;
const PROTOS = ['link', 'etharp', 'ipFrag', 'ip', 'icmp', 'udp', 'tcp', 'ip6', 'icmp6', 'ip6Frag', 'nd6'] as const;
const COUNTERS = ['xmit', 'recv', 'fw', 'drop', 'chkerr', 'lenerr', 'memerr', 'rterr', 'proterr', 'opterr', 'err', 'cachehit'] as const;

function withScratch<T>(core: Core, bytes: number, fn: (ptr: number) => T): T {
  const ptr = core.heap.alloc(bytes);
  try {
    return fn(ptr);
  } finally {
    core.ex.free(ptr);
  }
}

export function readSs(core: Core, opts: SsOptions, maxRows: number): SsRow[] {
  return withScratch(core, maxRows * ROW_WORDS * 4, (ptr) => {
    const n = core.check(core.guard(() => core.ex.stack_ss(ptr, maxRows)), 'ss');
    const dv = core.heap.dv();
    const rows: SsRow[] = [];
    const bothProtos = !opts.tcp && !opts.udp;
    for (let i = 0; i < n; i++) {
      const base = ptr + i * ROW_WORDS * 4;
      const w = (k: number) => dv.getUint32(base + k * 4, true);
      const tcp = w(1) === IPPROTO_TCP;
      if (!bothProtos && !(tcp ? opts.tcp : opts.udp)) continue;
      const code = w(2);
      const listening = tcp ? code === TCP_LISTEN : code === TCP_CLOSE;
      if (opts.listening ? !listening : !opts.all && listening) continue;
      const state = tcp ? STATE_NAMES[code] ?? 'UNKNOWN' : code === TCP_ESTABLISHED ? 'ESTAB' : 'UNCONN';
      const local = fromRaw(core.heap.readAddress(base + 16));
      const remoteRaw = core.heap.readAddress(base + 16 + ADDR_SIZE);
      const peer = remoteRaw.port === 0 && remoteRaw.bytes.every((b) => b === 0) ? null : fromRaw(remoteRaw);
      const fd = dv.getInt32(base, true);
      const row: SsRow = { netid: tcp ? 'tcp' : 'udp', state, recvQ: w(16), sendQ: w(17), local, peer, fd: fd < 0 ? null : fd };
      if (opts.info && (w(3) & 1)) {
        row.info = { mss: w(18), cwnd: w(19), ssthresh: w(20), rto: w(21), rtt: w(22), retransmits: w(23), sndWnd: w(24), rcvWnd: w(25) };
      }
      if (opts.memory) row.memory = { rcvbuf: w(26), sndbuf: w(27), rmem: w(28), wmem: w(29) };
      rows.push(row);
    }
    return rows;
  });
}

export function readSockstat(core: Core): Sockstat {
  return withScratch(core, 8 * 4, (ptr) => {
    core.guard(() => core.ex.stack_sockstat(ptr));
    const dv = core.heap.dv();
    const w = (k: number) => dv.getUint32(ptr + k * 4, true);
    return {
      sockets: { used: w(7) },
      tcp: { inuse: w(0), orphan: w(1), tw: w(2), alloc: w(3), mem: w(4) },
      udp: { inuse: w(5), mem: w(6) },
    };
  });
}

export function readStats(core: Core): Stats {
  const total = PROTOS.length * COUNTERS.length;
  return withScratch(core, total * 4, (ptr) => {
    core.guard(() => core.ex.stack_stats(ptr, total));
    const dv = core.heap.dv();
    const out = {} as Stats;
    PROTOS.forEach((p, i) => {
      const c = {} as ProtoCounters;
      COUNTERS.forEach((name, k) => {
        c[name] = dv.getUint32(ptr + (i * COUNTERS.length + k) * 4, true);
      });
      out[p] = c;
    });
    return out;
  });
}

function endpoint(a: SocketAddress | null, fallbackFamily: string): string {
  if (!a) return fallbackFamily === 'IPv6' ? '[::]:*' : '0.0.0.0:*';
  const host = a.family === 'IPv6' ? `[${a.address}${a.scopeId ? `%${a.scopeId}` : ''}]` : a.address;
  return `${host}:${a.port === 0 ? '*' : a.port}`;
}

/** Formats rows the way `ss -tuan` prints them, for reading (and diffing) by eye. */
export function formatSs(rows: readonly SsRow[]): string {
  const table = [['Netid', 'State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port']];
  for (const r of rows) {
    table.push([r.netid, r.state, String(r.recvQ), String(r.sendQ), endpoint(r.local, r.local.family), endpoint(r.peer, r.local.family)]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const lines = table.map((row) =>
    row.map((cell, c) => (c === 2 || c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' ').trimEnd());
  for (let i = 0; i < rows.length; i++) {
    const info = rows[i]!.info;
    const mem = rows[i]!.memory;
    const extra: string[] = [];
    if (mem) extra.push(`skmem:(r${mem.rmem},rb${mem.rcvbuf},t${mem.wmem},tb${mem.sndbuf})`);
    if (info) {
      extra.push(`mss:${info.mss} cwnd:${info.cwnd} ssthresh:${info.ssthresh} rto:${info.rto} rtt:${info.rtt}` +
        ` retrans:${info.retransmits} snd_wnd:${info.sndWnd} rcv_wnd:${info.rcvWnd}`);
    }
    if (extra.length) lines[i + 1] += `\n\t ${extra.join(' ')}`;
  }
  return lines.join('\n');
}
