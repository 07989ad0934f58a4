// The GRPO rollout role on a nano model (found by mutation testing, docs/mutation.md): every
// completion of a batched rollout equals the same request generated on its own with its own seed
// (completion j of a group seeded by (run seed, step, attempt, group index, j)), with the run's
// temperature, top-p, length budget and stop ids; groups come back in request order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { Generator } from '../src/infer/generator.js';
import { completionSeed, rollout } from '../src/rl/rollout.js';
import type { PromptGroup, SamplingSettings } from '../src/rl/rollout.js';
import { hashSeed, sampleProblem } from '../src/tasks/index.js';
import { InProcessRollouts } from '../src/rl/rollout-source.js';
import { PromptSampler } from '../src/rl/prompts.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import type { Scorer } from '../src/rl/reward.js';

test('rollout: each completion is its own seeded request (same tokens and finish as alone, log-probs to rounding), groups in order, G per group', async () => {
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: 24, numNextnPredictLayers: 0 }, 3);
  const gen = new Generator(model, { maxBatch: 16, maxLen: 64 });
  const problem = sampleProblem('add', 1, 'train', 1);
  const groups: PromptGroup[] = [
    { problem, prompt: [1, 2, 3], step: 4, attempt: 1, index: 0 },
    { problem, prompt: [5, 6], step: 4, attempt: 1, index: 1 },
  ];
  const s: SamplingSettings = { seed: 9, numGenerations: 3, maxCompletionLength: 6, temperature: 0.7, topP: 0.9, stopTokenIds: [0, 7] };
  const out = await rollout(gen, { version: 4, groups }, s);
  assert.equal(out.length, 2);
  const finishes = new Set<string>();
  for (const [i, g] of out.entries()) {
    assert.deepEqual({ ...g, completions: [], version: 0 }, { ...groups[i]!, completions: [], version: 0 });
    assert.equal(g.version, 4);
    assert.equal(g.completions.length, 3);
    for (const [j, c] of g.completions.entries()) {
      assert.equal(completionSeed(9, groups[i]!, j), hashSeed('grpo-sample', 9, 4, 1, i, j));
      const alone = await gen.generate({ prompt: groups[i]!.prompt, maxNewTokens: 6, sampling: { temperature: 0.7, topP: 0.9 }, seed: hashSeed('grpo-sample', 9, 4, 1, i, j), stopTokenIds: [0, 7] });
      assert.deepEqual(Object.keys(c).sort(), ['finishReason', 'logprobs', 'tokens']);
      assert.deepEqual([c.tokens, c.finishReason], [alone.tokens, alone.finishReason], `group ${i} completion ${j}`);
      // batched and alone, the forward passes round differently (BLAS over another batch shape)
      c.logprobs.forEach((lp, t) => assert.ok(Math.abs(lp - alone.logprobs[t]!) < 1e-5, `log-prob ${t}: ${lp} vs ${alone.logprobs[t]}`));
      assert.ok(c.tokens.length >= 1 && c.tokens.length <= 6);
      finishes.add(c.finishReason);
    }
  }
  // the completions of a group differ (their own seeds), and the stop ids and budget are used
  assert.notDeepEqual(out[0]!.completions[0]!.tokens, out[0]!.completions[1]!.tokens);
  assert.deepEqual([...finishes].sort(), ['length', 'stop'], 'some completions stop on a stop id, some hit the budget');
  // other settings give other completions: the seed and the temperature reach the sampler
  const other = await rollout(gen, { version: 4, groups }, { ...s, seed: 10 });
  assert.notDeepEqual(other.map((g) => g.completions.map((c) => c.tokens)), out.map((g) => g.completions.map((c) => c.tokens)));
  const hot = await rollout(gen, { version: 4, groups }, { ...s, temperature: 1.5, topP: 1 });
  assert.notDeepEqual(hot.map((g) => g.completions.map((c) => c.logprobs)), out.map((g) => g.completions.map((c) => c.logprobs)));
});

test('InProcessRollouts: prompts → rollout on the learner\'s generator → scores; generatedTokens counts the completions\' tokens', async () => {
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: 24, numNextnPredictLayers: 0 }, 3);
  const gen = new Generator(model, { maxBatch: 16, maxLen: 64 });
  const r = parseGrpoRecipe({ name: 'x', seed: 2, init: '/nonexistent', tasks: { families: ['add'], difficulties: [1] }, steps: 1 });
  const prompts = new PromptSampler(r, () => [1, 2, 3]);
  const s: SamplingSettings = { seed: 2, numGenerations: 2, maxCompletionLength: 5, temperature: 1, topP: 1, stopTokenIds: [0] };
  const scorer: Scorer = { fns: [{ name: 'len', weight: 1, fn: (i) => i.length }], spec: { rewards: r.rewards, overlong: 'none', overlongCache: 0, maxCompletionLength: 5 }, decode: (ids) => ids.join(' '), eosId: 0 };
  const src = new InProcessRollouts(gen, prompts, s, scorer);
  assert.equal(src.generatedTokens(), 0);
  const groups = await src.groups(3, 1, 2);
  assert.deepEqual(groups.map((g) => [g.step, g.attempt, g.index, g.version, g.completions.length]), [[3, 1, 0, 3, 2], [3, 1, 1, 3, 2]]);
  const n = groups.flatMap((g) => g.completions.map((c) => c.tokens.length)).reduce((a, b) => a + b, 0);
  assert.deepEqual(groups.map((g) => g.rewards), groups.map((g) => g.completions.map((c) => c.tokens.length)));
  assert.equal(src.generatedTokens(), n);
  await src.close();
});
