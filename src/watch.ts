// Waiting on state that lwIP changes inside its input and timers (a DHCP lease, a DNS
// answer), where no socket readiness exists to wait on. Each pending check runs right
// after an interface's frames are processed, and on a short poll that catches what
// lwIP's timers change (the end of DHCP's ARP check, a DNS retry giving up).
import type { Core } from './core.js';
import type { ClockTimer } from './clock.js';

/** How often pending checks run when no frames arrive, in the stack's milliseconds. */
const POLL_MS = 10;

interface Watch {
  checks: Set<() => boolean>;
  timer: ClockTimer | undefined;
}

const watches = new WeakMap<Core, Watch>();

function run(core: Core, w: Watch): void {
  for (const check of [...w.checks]) {
    if (check()) w.checks.delete(check);
  }
  if (w.checks.size === 0 && w.timer) {
    w.timer.clear();
    w.timer = undefined;
  }
}

function arm(core: Core, w: Watch): void {
  if (w.timer || w.checks.size === 0) return;
  w.timer = core.clock.setTimer(() => {
    w.timer = undefined;
    run(core, w);
    arm(core, w);
  }, POLL_MS);
}

/**
 * Runs check after every batch of input and every POLL_MS until it returns true (it
 * must also return true once the stack is gone). Returns a function that stops it.
 */
export function watch(core: Core, check: () => boolean): () => void {
  let w = watches.get(core);
  if (!w) {
    w = { checks: new Set(), timer: undefined };
    watches.set(core, w);
  }
  const ws = w;
  ws.checks.add(check);
  arm(core, ws);
  return () => {
    ws.checks.delete(check);
    if (ws.checks.size === 0 && ws.timer) {
      ws.timer.clear();
      ws.timer = undefined;
    }
  };
}

/** Frames were just processed: run the pending checks now rather than at the next poll. */
export function poke(core: Core): void {
  const w = watches.get(core);
  if (w && w.checks.size > 0) run(core, w);
}
