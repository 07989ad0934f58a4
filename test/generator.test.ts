// The batched generator: cached greedy = uncached greedy, speculative = plain greedy, sampling
// reproducibility and log-probabilities, stops, aborts and continuous batching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tidy, noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { Generator } from '../src/infer/generator.js';
import * as O from '../src/ops/index.js';

const cfg = { ...getPreset('nano'), rmsNormEps: 1e-6 };
const model = new DeepseekV3(cfg, 21);
// Sharpen the random model so greedy choices are not near-ties.
noGrad(() => { const w = model.headWeight().f32(); for (let i = 0; i < w.length; i++) w[i] *= 8; });

/** Greedy decoding with full forward passes over the whole sequence (no cache). */
function naiveGreedy(prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const next = noGrad(() => tidy(() => {
      const lg = model.forward(Tensor.ints(seq, [1, seq.length]), { lastOnly: true }).logits.toFloat32Array();
      let best = 0;
      for (let v = 1; v < lg.length; v++) if (lg[v] > lg[best]) best = v;
      return best;
    }));
    seq.push(next);
  }
  return seq.slice(prompt.length);
}

const prompts = [[5, 9, 200, 31], [7], [100, 101, 102, 103, 104, 105, 106, 107, 108], [42, 42, 42]];

test('batched cached greedy generation equals uncached greedy decoding', async () => {
  const gen = new Generator(model, { maxBatch: 8, maxLen: 64 });
  const res = await gen.generateAll(prompts.map((p) => ({ prompt: p, maxNewTokens: 12, sampling: { temperature: 0 } })));
  prompts.forEach((p, i) => assert.deepEqual(res[i].tokens, naiveGreedy(p, 12), `prompt ${i}`));
  assert.ok(res.every((r) => r.finishReason === 'length'));
});

test('MTP speculative greedy output is identical to plain greedy, and reports acceptance', async () => {
  const plain = new Generator(model, { maxBatch: 8, maxLen: 64 });
  const spec = new Generator(model, { maxBatch: 8, maxLen: 64, speculative: true });
  const reqs = () => prompts.map((p) => ({ prompt: p, maxNewTokens: 20, sampling: { temperature: 0 } }));
  const a = await plain.generateAll(reqs());
  const b = await spec.generateAll(reqs());
  a.forEach((r, i) => assert.deepEqual(b[i].tokens, r.tokens, `prompt ${i}`));
  assert.ok(spec.stats.drafted > 0);
  const rate = spec.acceptanceRate();
  assert.ok(rate >= 0 && rate <= 1);
});

test('sampling is reproducible per seed and logprobs are log softmax(logits / T) of the sampled tokens', async () => {
  const gen = new Generator(model, { maxBatch: 4, maxLen: 64 });
  const req = (seed: number) => ({ prompt: [3, 4, 5], maxNewTokens: 8, sampling: { temperature: 0.7 }, seed });
  const [r1, r2, r3] = await gen.generateAll([req(1), req(1), req(2)]);
  assert.deepEqual(r1.tokens, r2.tokens);
  assert.deepEqual(r1.logprobs, r2.logprobs);
  assert.notDeepEqual(r1.tokens, r3.tokens);
  // Recompute log-probs with one full forward pass.
  const seq = [3, 4, 5, ...r1.tokens];
  noGrad(() => tidy(() => {
    const lg = model.forward(Tensor.ints(seq.slice(0, -1), [1, seq.length - 1])).logits;
    const lp = O.logSoftmax(O.mulScalar(lg, 1 / 0.7)).toFloat32Array();
    const V = cfg.vocabSize;
    r1.tokens.forEach((t, i) => {
      const pos = 2 + i;
      assert.ok(Math.abs(lp[pos * V + t] - r1.logprobs[i]) < 1e-3, `token ${i}: ${lp[pos * V + t]} vs ${r1.logprobs[i]}`);
    });
  }));
});

test('identical prompts share one prefill yet sample independently; more requests than slots all finish', async () => {
  const gen = new Generator(model, { maxBatch: 3, maxLen: 64 });
  const reqs = Array.from({ length: 7 }, (_, i) => ({ prompt: [9, 8, 7, 6], maxNewTokens: 5, sampling: { temperature: 1 }, seed: i }));
  const res = await gen.generateAll(reqs);
  assert.equal(res.length, 7);
  const alone = await new Generator(model, { maxBatch: 1, maxLen: 64 }).generate(reqs[4]);
  assert.deepEqual(res[4].tokens, alone.tokens, 'shared prefill gives the same tokens as a solo run');
  assert.ok(new Set(res.map((r) => r.tokens.join(','))).size > 1, 'different seeds differ');
  assert.equal(gen.activeCount(), 0);
});

test('stop tokens, stop strings, max tokens and aborts', async () => {
  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('');
  const gen = new Generator(model, { maxBatch: 4, maxLen: 64, decode });
  const free = await gen.generate({ prompt: [1, 2], maxNewTokens: 10, sampling: { temperature: 0 } });
  const stopTok = free.tokens[3];
  const r = await gen.generate({ prompt: [1, 2], maxNewTokens: 10, sampling: { temperature: 0 }, stopTokenIds: [stopTok] });
  assert.equal(r.finishReason, 'stop');
  assert.equal(r.tokens.at(-1), stopTok);
  assert.ok(r.tokens.length <= 4);
  const stopStr = decode(free.tokens.slice(2, 4));
  const s = await gen.generate({ prompt: [1, 2], maxNewTokens: 10, sampling: { temperature: 0 }, stop: [stopStr] });
  assert.equal(s.finishReason, 'stop');
  assert.equal(s.stopString, stopStr);
  assert.ok(!s.text!.includes(stopStr) && decode(free.tokens).startsWith(s.text!));
  const ac = new AbortController();
  let seen = 0;
  const ab = await gen.generate({ prompt: [1, 2], maxNewTokens: 50, sampling: { temperature: 1 }, signal: ac.signal, onToken: () => { if (++seen === 3) ac.abort(); } });
  assert.equal(ab.finishReason, 'abort');
  assert.ok(ab.tokens.length < 50);
  assert.equal(gen.activeCount(), 0);
  await assert.rejects(gen.generate({ prompt: [], maxNewTokens: 3 }), /non-empty prompt/);
  await assert.rejects(gen.generate({ prompt: [99999], maxNewTokens: 3 }), /outside the vocabulary/);
});

test('stream() yields tokens as they are generated', async () => {
  const gen = new Generator(model, { maxBatch: 2, maxLen: 64 });
  const { events, result } = gen.stream({ prompt: [4, 5, 6], maxNewTokens: 6, sampling: { temperature: 0 } });
  const got: number[] = [];
  for await (const ev of events) got.push(ev.token);
  assert.deepEqual(got, (await result).tokens);
});

test('a failed prefill rejects its requests and returns their cache slots', async () => {
  const gen = new Generator(model, { maxBatch: 2, maxLen: 64 });
  const orig = model.forward.bind(model);
  let fail = true;
  model.forward = (ids, opts) => {
    if (fail) { fail = false; throw new Error('injected failure'); }
    return orig(ids, opts);
  };
  try {
    await assert.rejects(gen.generate({ prompt: [1, 2, 3], maxNewTokens: 3, sampling: { temperature: 0 } }), /injected failure/);
    const both = await gen.generateAll([1, 2].map((s) => ({ prompt: [4, 5, 6], maxNewTokens: 3, sampling: { temperature: 1 }, seed: s })));
    assert.ok(both.every((r) => r.tokens.length === 3), 'both slots are usable again');
    assert.equal(gen.activeCount(), 0);
  } finally {
    model.forward = orig;
  }
});

test('a completion prompt encodes tag text as the special tokens (as the corpus, eval and RL do)', async () => {
  const { completionPrompt } = await import('../src/infer/load.js');
  const { Tokenizer, SPECIAL } = await import('../src/tokenizer/index.js');
  const tok = Tokenizer.train(['enclosed within <think> </think> tags. User: Compute 2 + 3. Assistant:'], { vocabSize: 300 });
  const ids = completionPrompt(tok, 'enclosed within <think> </think> tags. Assistant:');
  assert.ok(ids.includes(tok.idOf(SPECIAL.thinkOpen)) && ids.includes(tok.idOf(SPECIAL.thinkClose)));
});

test('owners share the slots round-robin within a per-owner cap; outputs do not depend on the schedule', async () => {
  const gen = new Generator(model, { maxBatch: 4, maxLen: 64, maxSlotsPerOwner: 3 });
  const a = {}, b = {};
  const firsts: string[] = [];
  const req = (owner: object, name: string, seed: number) => ({
    prompt: [3, 1, 4, 1, 5], maxNewTokens: 6, sampling: { temperature: 1 }, seed, owner,
    onToken: (ev: { index: number }) => { if (ev.index === 0) firsts.push(name); },
  });
  // A asks for 12 sequences before B asks for 1: B still starts with A's first ones.
  const as = Array.from({ length: 12 }, (_, i) => gen.generate(req(a, `a${i}`, i)));
  const bs = gen.generate(req(b, 'b', 100));
  const res = await Promise.all([...as, bs]);
  assert.ok(firsts.indexOf('b') < firsts.indexOf('a3'), `B starts before A's 4th sequence: ${firsts.join(' ')}`);
  // The same requests without owners (first come, first served) give the same tokens: each samples with its own seed.
  const plain = await new Generator(model, { maxBatch: 4, maxLen: 64 }).generateAll([...Array.from({ length: 12 }, (_, i) => ({ prompt: [3, 1, 4, 1, 5], maxNewTokens: 6, sampling: { temperature: 1 }, seed: i })), { prompt: [3, 1, 4, 1, 5], maxNewTokens: 6, sampling: { temperature: 1 }, seed: 100 }]);
  assert.deepEqual(res.map((r) => r.tokens), plain.map((r) => r.tokens));
  assert.equal(gen.activeCount(), 0);
});

test('an owner never holds more than maxSlotsPerOwner slots, even alone', async () => {
  const gen = new Generator(model, { maxBatch: 4, maxLen: 64, maxSlotsPerOwner: 2 });
  const owner = {};
  let maxActive = 0;
  const reqs = Array.from({ length: 6 }, (_, i) => ({
    prompt: [2, 7, 1, 8], maxNewTokens: 4, sampling: { temperature: 1 }, seed: i, owner,
    onToken: () => { maxActive = Math.max(maxActive, gen.activeCount()); },
  }));
  const res = await gen.generateAll(reqs);
  assert.equal(res.length, 6);
  assert.ok(res.every((r) => r.tokens.length === 4));
  assert.equal(maxActive, 2);
});
