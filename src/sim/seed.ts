// Every random choice in a simulated network comes from one seed: each host, fault and
// port derives its own from the network's seed and fixed numbers (its index, its
// id), so the same description and the same seed replay the same run.

/** A 32-bit seed mixed from a base seed and a path of small integers (splitmix32). */
export function deriveSeed(base: number, ...path: number[]): number {
  let h = base >>> 0;
  for (const p of path) {
    h = (h ^ Math.imul((p >>> 0) + 0x9e3779b9, 0x85ebca6b)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}
