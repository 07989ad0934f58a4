// Seeded randomness for task generation: mulberry32 (a 32-bit PRNG that is small, fast and good
// enough for sampling problems) and a string/number hash to derive independent seeds. Nothing in
// src/tasks uses Math.random: the same seed always gives the same problem.

/** Mixes parts (numbers and strings) into a 32-bit seed (FNV-1a over the parts, then a murmur3 finalizer). */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  const mix = (code: number): void => {
    h ^= code & 0xff;
    h = Math.imul(h, 0x01000193);
  };
  for (const part of parts) {
    const s = typeof part === 'number' ? `n${part}` : `s${part}`;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      mix(c);
      mix(c >>> 8);
    }
    mix(0x1f); // separator, so ("ab","c") and ("a","bc") differ
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A deterministic pseudo-random generator (mulberry32). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: expected a non-empty array; found []');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A new array with the elements in random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  }

  /** A number with exactly `digits` decimal digits and no leading zero (1 digit gives 1..9). */
  digits(digits: number): number {
    if (digits <= 1) return this.int(1, 9);
    return this.int(10 ** (digits - 1), 10 ** digits - 1);
  }
}
