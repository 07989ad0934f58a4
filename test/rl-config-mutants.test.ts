// GRPO recipe parsing (found by mutation testing, docs/mutation.md): the defaults a minimal recipe
// gets (TRL's names; DeepSeek's / DAPO's values where they exist), the validation rules, every
// problem listed with its path, and how recipe files are found and rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGrpoRecipe, loadGrpoRecipe } from '../src/rl/config.js';

const minimal = { name: 'r', init: 'runs/base', tasks: { families: ['add'], difficulties: [1] }, steps: 3 };

test('a minimal GRPO recipe gets the documented defaults', () => {
  assert.deepEqual(parseGrpoRecipe(minimal), {
    kind: 'grpo', name: 'r', seed: 0, init: 'runs/base', tasks: { families: ['add'], difficulties: [1] },
    template: 'r1zero', steps: 3, promptsPerStep: 8, numGenerations: 8, maxCompletionLength: 256,
    temperature: 1, topP: 1, lr: 1e-4, warmup: 0, weightDecay: 0, clip: 1, beta: 0,
    epsLow: 0.2, epsHigh: 0.28, numIterations: 1, lossType: 'dapo', scaleRewards: 'group', refResetEvery: 0,
    dynamicSampling: 'off', overlong: 'none', overlongCache: 32,
    rewards: { accuracy: 1, format: 0.5, length: 0, lengthTarget: 128 },
    microBatch: 16, eval: { every: 0, n: 20, k: 4 }, checkpoint: { every: 25 }, maxMinutes: 0, logCompletions: 0,
  });
});

test('recipe values at the edges of their ranges are accepted', () => {
  const r = parseGrpoRecipe({
    ...minimal, kind: 'grpo', seed: 0, numGenerations: 2, topP: 1, warmup: 0, weightDecay: 0, beta: 0, epsLow: 0, epsHigh: 0,
    refResetEvery: 0, overlongCache: 0, eval: { every: 0, n: 1, k: 0, difficulties: [3] }, checkpoint: { every: 0 }, maxMinutes: 0, logCompletions: 0,
    lossType: 'dr_grpo', scaleRewards: 'none', dynamicSampling: 'replace', overlong: 'soft', name: 'A-z_0.9',
  });
  assert.equal(r.numGenerations, 2);
  // every documented value of each choice is accepted
  const choices = {
    lossType: ['grpo', 'dapo', 'dr_grpo'], scaleRewards: ['group', 'batch', 'none'],
    dynamicSampling: ['off', 'drop', 'replace'], overlong: ['none', 'mask', 'soft'],
  };
  for (const [k, vals] of Object.entries(choices)) for (const v of vals) assert.equal(parseGrpoRecipe({ ...minimal, [k]: v })[k as keyof typeof choices], v);
  assert.deepEqual(r.eval, { every: 0, n: 1, k: 0, difficulties: [3] });
});

test('invalid recipes are rejected with every problem listed by path', () => {
  const bad: Record<string, unknown>[] = [
    { kind: 'sft' }, { name: 'has space' }, { name: 'a/b' }, { seed: -1 }, { seed: 0.5 }, { steps: 0 }, { steps: 1.5 },
    { promptsPerStep: 0 }, { numGenerations: 1 }, { maxCompletionLength: 0 }, { temperature: 0 }, { topP: 0 }, { topP: 1.01 },
    { lr: 0 }, { warmup: -1 }, { weightDecay: -0.1 }, { clip: 0 }, { beta: -1 }, { epsLow: -0.1 }, { epsHigh: -0.1 },
    { numIterations: 0 }, { lossType: 'ppo' }, { scaleRewards: 'all' }, { refResetEvery: -1 }, { dynamicSampling: 'on' },
    { overlong: 'cut' }, { overlongCache: -1 }, { rewards: { lengthTarget: 0 } }, { microBatch: 0 },
    { eval: { every: -1 } }, { eval: { n: 0 } }, { eval: { k: -1 } }, { checkpoint: { every: -1 } }, { maxMinutes: -1 },
    { tasks: { families: [], difficulties: [1] } }, { tasks: { families: ['add'], difficulties: [] } },
  ];
  for (const over of bad) {
    assert.throws(() => parseGrpoRecipe({ ...minimal, ...over }, 'my.json'), (e: Error) => {
      const key = Object.keys(over)[0];
      return e.message.startsWith('my.json is invalid:\n  ') && e.message.includes(key);
    }, JSON.stringify(over));
  }
  assert.throws(() => parseGrpoRecipe({ name: 'x' }), (e: Error) =>
    e.message.startsWith('recipe is invalid:\n') && ['init:', 'tasks:', 'steps:'].every((k) => e.message.includes(`\n  ${k}`)));
  assert.throws(() => parseGrpoRecipe({ ...minimal, eval: { n: 0 } }), /\n {2}eval\.n: /, 'nested fields by their dotted path');
  assert.throws(() => parseGrpoRecipe(7), /recipe is invalid:\n {2}\(root\): /);
});

test('loadGrpoRecipe reads a file or a built-in preset, and says what is wrong with a bad one', () => {
  const mini = loadGrpoRecipe('mini');
  assert.equal(mini.name, 'r1-zero-mini');
  assert.equal(mini.dynamicSampling, 'replace');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-rlcfg-'));
  try {
    const good = path.join(dir, 'g.json');
    fs.writeFileSync(good, JSON.stringify({ ...minimal, steps: 9 }));
    assert.equal(loadGrpoRecipe(good).steps, 9);
    const notJson = path.join(dir, 'bad.json');
    fs.writeFileSync(notJson, '{ nope');
    assert.throws(() => loadGrpoRecipe(notJson), (e: Error) => e.message.startsWith(`${notJson}: invalid JSON (`));
    const invalid = path.join(dir, 'inv.json');
    fs.writeFileSync(invalid, JSON.stringify({ ...minimal, steps: 0 }));
    assert.throws(() => loadGrpoRecipe(invalid), (e: Error) => e.message.startsWith(`${invalid} is invalid:\n  steps: `));
    assert.throws(() => loadGrpoRecipe('no-such-preset'), /^Error: no GRPO recipe no-such-preset \(neither a file nor recipes\/grpo-no-such-preset\.json\)$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
