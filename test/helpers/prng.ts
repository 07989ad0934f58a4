// A seeded uniform generator in [0, 1) for test operands (mulberry32): fast, 32-bit state, the same
// stream on every machine, independent of the library's own Rng (so a change there cannot hide a bug).
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
