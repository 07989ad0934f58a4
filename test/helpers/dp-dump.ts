// What test/helpers/dp-worker.ts leaves behind for each rank: `<prefix>.<rank>.json` (parameter names
// and sizes, each step's numbers) and `<prefix>.<rank>.grads` (the step-1 gradients the rank holds,
// float32 in that order), and the check that a rank's gradients equal the one-process run's.
import assert from 'node:assert/strict';
import fs from 'node:fs';

/** A rank's dump: its parameters (name, size) and per-step records. */
export interface RankDump<S> { names: [string, number][]; steps: S[] }

export const readDump = <S>(prefix: string, rank = 0): RankDump<S> => JSON.parse(fs.readFileSync(`${prefix}.${rank}.json`, 'utf8')) as RankDump<S>;

export function readGrads(prefix: string, rank = 0): Float32Array {
  const b = fs.readFileSync(`${prefix}.${rank}.grads`);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/**
 * Each gradient a rank holds against the one-process gradient of the same name: max |a − b| ≤ tol ·
 * max |b|. Returns how many values were compared (the rank's named parameters).
 */
export function assertGradsClose(ref: RankDump<unknown>, refGrads: Float32Array, got: RankDump<unknown>, grads: Float32Array, what: string, tol: number): number {
  const at = new Map<string, number>();
  let o = 0;
  for (const [n, k] of ref.names) { at.set(n, o); o += k; }
  let q = 0;
  for (const [n, k] of got.names) {
    const a = at.get(n);
    assert.ok(a !== undefined, `${what}: ${n} is not a parameter of the single-process model`);
    let d = 0, m = 0;
    for (let i = 0; i < k; i++) { d = Math.max(d, Math.abs(grads[q + i]! - refGrads[a + i]!)); m = Math.max(m, Math.abs(refGrads[a + i]!)); }
    assert.ok(d <= tol * m || d === 0, `${what}: gradient of ${n} differs by ${d} (max |g| ${m}, relative ${d / m})`);
    q += k;
  }
  return q;
}
