// V8 optimizes this package's hot paths for the shapes (hidden classes) of its objects,
// and holds those shapes only weakly. When the last stack of a process is disposed and
// a full collection runs before the next is made, the shapes go with it; the stacks made
// after get new ones, and code rebuilt for several generations of shapes looks fields
// up generically where it had inlined them. Measured with bench/workloads/pingpong.mjs,
// which makes and disposes fresh stacks for each repetition: from the third repetition
// on, round trips took 40% longer (66,000-73,000 a second against 83,000-91,000), and
// holding on to the disposed stacks kept them at 89,000-115,000.
// So the most recently disposed stack is held until the next stack is made, or for
// HOLD_MS at most: its shapes live on into the next generation, and its memory is
// released soon after either way.

const HOLD_MS = 2000;

const held: { stack: object | undefined; timer: ReturnType<typeof setTimeout> | undefined } = {
  stack: undefined,
  timer: undefined,
};

/** Holds a disposed stack for the next one (or HOLD_MS), so that V8 keeps its shapes. */
export function holdShapes(stack: object): void {
  if (held.timer !== undefined) clearTimeout(held.timer);
  held.stack = stack;
  held.timer = setTimeout(releaseShapes, HOLD_MS);
  // Node: the hold must not keep a process alive that has nothing else to do.
  (held.timer as { unref?: () => void }).unref?.();
}

/** A new stack exists (it has the shapes now), or the hold ran out: let the old one go. */
export function releaseShapes(): void {
  if (held.timer !== undefined) clearTimeout(held.timer);
  held.stack = undefined;
  held.timer = undefined;
}
