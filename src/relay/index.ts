// lwip-wasm/relay (Node only): the relay server that carries ethernet frames between
// WebSocket clients and a real network (nat: a gateway stack per client; tap: a TAP
// device) or each other (hub).
export { createRelay, type Relay } from './server.js';
export type { RelayOptions, RelayMode, NatOptions, TapModeOptions, DemoOptions } from './options.js';
export type { RelayStats, SessionStats, DropReason, RefusalReason, DropCounts, TrafficCounters } from './stats.js';
export { DROP_REASONS, REFUSAL_REASONS } from './stats.js';
export { parseRule, type Rule, type Protocol } from './rules.js';
export { Policy, type PolicyOptions, type Verdict } from './policy.js';
export { main, parseRelayArgs, USAGE } from './cli.js';
