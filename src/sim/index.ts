// lwip-wasm/sim: a simulated network for tests (Node). Hosts and segments from a short
// description, names through the stacks' own DNS, routers and NAT, faults by host pair or
// flow, connection toxics, crashes and restarts, on a VirtualClock; see docs/simulator.md.
export { createNetwork, Network, type NetworkOptions, type SimSegment, type Side, type PairOptions } from './network.js';
export { SimHost, HostDownError, type Software, type AttachmentControl } from './host.js';
export type { HostOptions, SegmentOptions, Attachment, HostStackOptions } from './plan.js';
export { Fault, type FaultKind, type FaultConditions, type FaultCounters } from './faults.js';
export { Toxic, type ToxicOptions, type ToxicType, type ToxicStream, type ToxicCounters } from './toxics.js';
export type { FlowFilter, Endpoint, Endpoints } from './filter.js';
export type { NatRouter, NatCounters } from './nat.js';
export { installVirtualTimers, runOnClock, DEFAULT_EPOCH, type VirtualTimers, type VirtualTimersOptions } from '../testing/virtual-timers.js';
