// The stack's equivalents of `ss` and /proc/net/sockstat, and lwIP's protocol counters.
import type { Core } from './core.js';
import { fromRaw, type SocketAddress } from './address.js';
import { LW_SOCKSTAT, LW_SS_ROW, LW_STATS, readLwSockstat, readLwSsRow, readLwStats, type LwAddr, type LwProtoStats } from './gen/abi.js';
import {
  AF_INET6, IPPROTO_TCP, SSF_TCPINFO, TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_TIME_WAIT,
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
const PROTOS = ['link', 'etharp', 'ipFrag', 'ip', 'icmp', 'udp', 'tcp', 'ip6', 'icmp6', 'ip6Frag', 'nd6'] as const;

function withScratch<T>(core: Core, bytes: number, fn: (ptr: number) => T): T {
  const ptr = core.heap.alloc(bytes);
  try {
    return fn(ptr);
  } finally {
    core.abi.free(ptr);
  }
}

const rawOf = (a: LwAddr) => {
  const v6 = a.family === AF_INET6;
  return { family: a.family, port: a.port, scope: a.scope, bytes: a.addr.subarray(0, v6 ? 16 : 4) };
};

export function readSs(core: Core, opts: SsOptions, maxRows: number): SsRow[] {
  return withScratch(core, maxRows * LW_SS_ROW.size, (ptr) => {
    const n = core.check(core.abi.stack_ss(ptr, maxRows), 'ss');
    const rows: SsRow[] = [];
    const bothProtos = !opts.tcp && !opts.udp;
    for (let i = 0; i < n; i++) {
      const r = readLwSsRow(core.heap, ptr + i * LW_SS_ROW.size);
      const tcp = r.proto === IPPROTO_TCP;
      if (!bothProtos && !(tcp ? opts.tcp : opts.udp)) continue;
      const listening = tcp ? r.state === TCP_LISTEN : r.state === TCP_CLOSE;
      if (opts.listening ? !listening : !opts.all && listening) continue;
      const state = tcp ? STATE_NAMES[r.state] ?? 'UNKNOWN' : r.state === TCP_ESTABLISHED ? 'ESTAB' : 'UNCONN';
      const local = fromRaw(rawOf(r.local));
      const remoteRaw = rawOf(r.remote);
      const peer = remoteRaw.port === 0 && remoteRaw.bytes.every((b) => b === 0) ? null : fromRaw(remoteRaw);
      const row: SsRow = { netid: tcp ? 'tcp' : 'udp', state, recvQ: r.recvQ, sendQ: r.sendQ, local, peer, fd: r.fd < 0 ? null : r.fd };
      if (opts.info && (r.flags & SSF_TCPINFO)) {
        row.info = { mss: r.mss, cwnd: r.cwnd, ssthresh: r.ssthresh, rto: r.rtoMs, rtt: r.rttMs, retransmits: r.retrans, sndWnd: r.sndWnd, rcvWnd: r.rcvWnd };
      }
      if (opts.memory) row.memory = { rcvbuf: r.rcvbuf, sndbuf: r.sndbuf, rmem: r.rmem, wmem: r.wmem };
      rows.push(row);
    }
    return rows;
  });
}

export function readSockstat(core: Core): Sockstat {
  return withScratch(core, LW_SOCKSTAT.size, (ptr) => {
    core.check(core.abi.stack_sockstat(ptr), 'sockstat');
    const c = readLwSockstat(core.heap, ptr);
    return {
      sockets: { used: c.socketsUsed },
      tcp: { inuse: c.tcpInuse, orphan: c.tcpOrphan, tw: c.tcpTw, alloc: c.tcpAlloc, mem: c.tcpMem },
      udp: { inuse: c.udpInuse, mem: c.udpMem },
    };
  });
}

export function readStats(core: Core): Stats {
  return withScratch(core, LW_STATS.size, (ptr) => {
    core.check(core.abi.stack_stats(ptr), 'stats');
    const all = readLwStats(core.heap, ptr);
    const out = {} as Stats;
    for (const p of PROTOS) out[p] = { ...(all[p] satisfies LwProtoStats) };
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
