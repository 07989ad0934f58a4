// The distillation objectives (src/distill/objectives.ts) on the shipped teacher and a random
// student-nano: one teacher forward per micro-batch (not per token or per row), whose logits equal
// row-by-row forwards; the top-k store gives the same loss as top-k computed on the fly; GKD's batch
// is [prompt; the student's own seeded sample] with weights on exactly the sampled tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, tidy } from '../src/tensor/index.js';
import { contiguous } from '../src/ops/shape.js';
import { createModel, anyConfigFromHF, anyConfigToHF } from '../src/model/registry.js';
import { loadModel } from '../src/model/checkpoint.js';
import { resolveAnyConfig } from '../src/model/presets.js';
import type { CausalLM } from '../src/model/causal-lm.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { SftDataset } from '../src/train/sft-data.js';
import { Generator } from '../src/infer/generator.js';
import { completionStops } from '../src/infer/evaluate.js';
import { hashSeed } from '../src/tasks/index.js';
import { gkdObjective, logitKdObjective } from '../src/distill/objectives.js';
import { parseDistillRecipe } from '../src/distill/config.js';
import { kdLoss } from '../src/distill/kd-loss.js';
import { teacherTopk } from '../src/distill/topk-store.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEACHER = path.join(root, 'models/tinyseek-r1-mini');
const tok = Tokenizer.fromDir(TEACHER);
const teacher = loadModel(TEACHER);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-distill-obj-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const newStudent = (): CausalLM => createModel(anyConfigFromHF({ ...anyConfigToHF(resolveAnyConfig('student-nano')), vocab_size: tok.vocabSize }), 5);
const T = 48;
const rows = [
  { prompt: 'What is 12 + 30?', response: '<think>\nadd\n12 + 30 = 42\n</think>\n\nThe answer is 42.' },
  { prompt: 'What is 9 - 4?', response: '<think>\n9 - 4 = 5\n</think>\n\nThe answer is 5.' },
  { prompt: 'Sort 3, 1, 2.', response: '<think>\nsmallest first\n</think>\n\nThe answer is [1, 2, 3].' },
];
const file = path.join(tmp, 'rows.jsonl');
fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const data = SftDataset.fromFile(file, tok, T, 1);

/** Counts the teacher's forward calls and the rows they cover. */
function counting(m: CausalLM): { calls: number[][] } {
  const seen = { calls: [] as number[][] };
  const f = m.forward.bind(m);
  m.forward = (ids, o) => {
    seen.calls.push([...ids.shape]);
    return f(ids, o);
  };
  return seen;
}

test('logit KD: one teacher forward over the whole micro-batch, equal to row-by-row forwards', () => {
  const t = loadModel(TEACHER);
  const seen = counting(t);
  const student = newStudent();
  const b = data.batchArrays(0, 3);
  const obj = logitKdObjective(t, { temperature: 2, topK: 0, store: null });
  const value = tidy(() => obj.loss(student, Tensor.ints(b.ids, [3, T + 1]), Tensor.from(b.weights, [3, T]), b).loss.item());
  assert.deepEqual(seen.calls, [[3, T]], 'one forward of [B, T]');
  // the same loss from each row's own teacher forward
  const ref = tidy(() => {
    const parts: Float32Array[] = [];
    for (let j = 0; j < 3; j++) parts.push(Float32Array.from(contiguous(teacher.forward(Tensor.ints(b.ids.slice(j * (T + 1), j * (T + 1) + T), [1, T])).logits).f32()));
    const V = tok.vocabSize;
    const all = new Float32Array(3 * T * V);
    parts.forEach((p, j) => all.set(p, j * T * V));
    const inputs = Tensor.ints(Int32Array.from({ length: 3 * T }, (_, i) => b.ids[Math.floor(i / T) * (T + 1) + (i % T)]!), [3, T]);
    return kdLoss(student.forward(inputs).logits, { kind: 'full', logits: all }, { divergence: { kind: 'forward_kl' }, temperature: 2, weights: b.weights }).item();
  });
  assert.ok(Math.abs(value - ref) < 1e-4 * Math.max(1, ref), `${value} vs ${ref}`);
  assert.ok(value > 0);
});

test('logit KD: the top-k store gives the loss of top-k computed on the fly, and is reused from disk', () => {
  const student = newStudent();
  const dir = path.join(tmp, 'store');
  const store = teacherTopk(dir, teacher, TEACHER, data, 8, 2);
  const b = data.batchArrays(1, 3);
  const loss = (o: Parameters<typeof logitKdObjective>[1]) => tidy(() => logitKdObjective(teacher, o).loss(student, Tensor.ints(b.ids, [3, T + 1]), Tensor.from(b.weights, [3, T]), b).loss.item());
  const fly = loss({ temperature: 1, topK: 8, store: null });
  const stored = loss({ temperature: 1, topK: 8, store });
  assert.ok(Math.abs(fly - stored) < 1e-5 * Math.max(1, fly), `${fly} vs ${stored}`);
  assert.ok(Math.abs(fly - loss({ temperature: 1, topK: 0, store: null })) > 1e-4, 'top-8 differs from the full distribution');
  // read back from disk: no teacher forward
  const t = loadModel(TEACHER);
  const seen = counting(t);
  const again = teacherTopk(dir, t, TEACHER, data, 8, 2);
  assert.equal(seen.calls.length, 0);
  assert.deepEqual(again.ids, store.ids);
  // a store of another k is refused, not silently reused
  assert.throws(() => teacherTopk(dir, t, TEACHER, data, 4, 2), /was computed for k = "8", this run needs "4"; delete it to recompute/);
});

test('gkd: the batch is the prompt and the student\'s own seeded sample, weighted on exactly its tokens; one teacher forward scores it', async () => {
  const student = newStudent();
  const t = loadModel(TEACHER);
  const seen = counting(t);
  const obj = gkdObjective(t, tok, { beta: 0.5, temperature: 1, sampleTemperature: 1, maxNewTokens: 20, seed: 9 });
  const base = data.batchArrays(0, 3);
  const b = await obj.batch!(base, student, 4);
  // the student's own samples, regenerated independently with the same seeds
  student.eval();
  const gen = new Generator(student, { maxBatch: 3, maxLen: T + 1 });
  for (let j = 0; j < 3; j++) {
    const w = base.weights.subarray(j * T, (j + 1) * T);
    const plen = w.findIndex((x) => x > 0) + 1;
    const prompt = base.ids.slice(j * (T + 1), j * (T + 1) + plen);
    const [r] = await gen.generateAll([{ prompt, maxNewTokens: 20, sampling: { temperature: 1 }, seed: hashSeed('gkd', 9, 4, base.rows[j]!, j), stopTokenIds: completionStops(tok) }]);
    const row = b.ids.subarray(j * (T + 1), (j + 1) * (T + 1));
    assert.deepEqual([...row.subarray(0, plen)], [...prompt], 'the prompt is kept');
    assert.deepEqual([...row.subarray(plen, plen + r!.tokens.length)], r!.tokens, 'then the student\'s sample');
    const bw = [...b.weights.subarray(j * T, (j + 1) * T)];
    assert.deepEqual(bw, bw.map((_, i) => (i >= plen - 1 && i < plen - 1 + r!.tokens.length ? 1 : 0)), 'weights on the sampled tokens only');
  }
  student.train();
  const res = tidy(() => {
    const r = obj.loss(student, Tensor.ints(b.ids, [3, T + 1]), Tensor.from(b.weights, [3, T]), b);
    return { loss: r.loss.item(), tokens: r.tokens };
  });
  assert.deepEqual(seen.calls, [[3, T]]);
  assert.ok(res.loss > 0 && res.loss < Math.log(2), `JSD(0.5) per position is below log 2: ${res.loss}`);
  assert.equal(res.tokens, b.weights.reduce((a, x) => a + x, 0));
});

test('gkd λ: a seeded share of steps is on-policy, the others train on the dataset\'s traces as they are; λ = 0 never samples', async () => {
  const student = newStudent();
  const base = data.batchArrays(0, 3);
  const off = gkdObjective(teacher, tok, { beta: 0.5, temperature: 1, sampleTemperature: 1, maxNewTokens: 8, seed: 9, lambda: 0 });
  for (const step of [0, 1, 2]) {
    const b = await off.batch!(base, student, step);
    assert.equal(b, base, 'off-policy steps train on the teacher traces unchanged');
    const r = tidy(() => {
      const x = off.loss(student, Tensor.ints(b.ids, [3, T + 1]), Tensor.from(b.weights, [3, T]), b);
      return { loss: x.loss.item(), extra: x.extra };
    });
    assert.equal(r.extra?.on_policy, 0);
    assert.ok(r.loss > 0 && r.loss < Math.log(2));
  }
  // λ = 0.5: which steps sample is a function of (seed, step): two objectives agree, about half sample
  const draws = (seed: number) => {
    const o = gkdObjective(teacher, tok, { beta: 0.5, temperature: 1, sampleTemperature: 1, maxNewTokens: 2, seed, lambda: 0.5 });
    return Promise.all(Array.from({ length: 40 }, async (_, step): Promise<number> => (await o.batch!(base, student, step)) === base ? 0 : 1));
  };
  const a = await draws(3), b = await draws(3), c = await draws(4);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const share = a.reduce((x, y) => x + y, 0) / a.length;
  assert.ok(share > 0.25 && share < 0.75, `on-policy share ${share} of 40 steps at λ = 0.5`);
  assert.throws(() => parseDistillRecipe({ ...JSON.parse(fs.readFileSync(path.join(root, 'recipes/distill-gkd-nano.json'), 'utf8')), gkd: { lambda: 1.5 } }), /lambda/);
});
