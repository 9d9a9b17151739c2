// Counters shared by the sessions and the server, and the once-per-client logger.

/** Why a frame from a client was not forwarded. */
export const DROP_REASONS = [
  'oversize', 'malformed', 'rate', 'denied', 'connections', 'flows', 'spoofed', 'unsupported', 'stale', 'guard', 'fragment',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Why a client was turned away: at the upgrade (token, origin, clients), or after it when its backend could not start. */
export const REFUSAL_REASONS = ['token', 'origin', 'clients', 'address', 'backend'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export type DropCounts = Record<DropReason, number>;

export function zeroDrops(): DropCounts {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounts;
}

export interface TrafficCounters {
  /** Frames and bytes clients sent to the relay (before any drop). */
  framesIn: number;
  bytesIn: number;
  /** Frames and bytes the relay sent to clients. */
  framesOut: number;
  bytesOut: number;
  /** Frames towards a client dropped because its WebSocket was backed up. */
  backpressureDrops: number;
}

export function zeroTraffic(): TrafficCounters {
  return { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, backpressureDrops: 0 };
}

export interface SessionStats extends TrafficCounters {
  id: number;
  /** The client's address as the relay saw it (the TCP peer; a proxy's address behind one). */
  remote: string;
  origin: string | null;
  /** When it connected (ms since the epoch). */
  since: number;
  /** 'batch' (lwip-wasm.batch.v1 or v2) or 'single' (one frame per message). */
  framing: 'batch' | 'single';
  /** It speaks lwip-wasm.batch.v2: TCP segments of up to 64 KiB cross whole (nat only). */
  offload: boolean;
  /** The MAC and IPv4 address it owns (hub and tap modes), once known. */
  mac: string | null;
  ipv4: string | null;
  /** Its TCP connections the relay is tracking against maxConnections. */
  connections: number;
  /** nat: its UDP flows (maxUdpFlows). */
  udpFlows: number;
  dropped: DropCounts;
}

export interface RelayStats extends TrafficCounters {
  mode: 'nat' | 'hub' | 'tap';
  /** Clients connected now, and accepted since start. */
  clients: number;
  accepted: number;
  refused: Record<RefusalReason, number>;
  /** Frames from clients that were dropped, by reason, summed over every session ever. */
  dropped: DropCounts;
  sessions: SessionStats[];
}
