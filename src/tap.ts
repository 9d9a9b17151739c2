// lwip-wasm/tap: the Node-only TAP link. A separate entry, so the main entry (which
// browsers load) never imports node: modules or the native addon.
export { openTap, TapLink, TapError, type TapOptions, type TapCounters } from './transports/tap.js';
