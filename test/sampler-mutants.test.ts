// Sampler case the enumeration oracle does not reach (found by mutation testing, docs/mutation.md):
// min-p keeps a token whose probability equals min_p × the top probability exactly ("≥", as in
// Hugging Face's MinPLogitsWarper), and the kept set does not depend on a caller's scratch buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/index.js';
import { sampleToken } from '../src/infer/sampler.js';

test('min-p keeps a token exactly at the threshold', () => {
  const logits = Float32Array.from([0, -0.5, -10]);
  const minP = Math.exp(logits[1] - logits[0]); // p1 / p0 exactly, computed as the sampler does
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) seen.add(sampleToken(logits, { minP }, rng).token);
  assert.deepEqual([...seen].sort(), [0, 1], 'token 1 (at the threshold) is kept, token 2 is not');
});

test('a scratch buffer, too short or longer than the vocabulary, does not change what is sampled', () => {
  const logits = Float32Array.from([0.5, -1, 2, 0, 1.5]);
  for (const p of [{}, { topK: 3 }, { topP: 0.7 }, { minP: 0.2, temperature: 0.8 }]) {
    const draw = (scratch?: Float64Array) => { const rng = new Rng(11); return Array.from({ length: 50 }, () => sampleToken(logits, p, rng, scratch)); };
    const plain = draw();
    assert.deepEqual(draw(new Float64Array(2)), plain, `short scratch ${JSON.stringify(p)}`);
    assert.deepEqual(draw(new Float64Array(9).fill(7)), plain, `long scratch ${JSON.stringify(p)}`);
  }
});
