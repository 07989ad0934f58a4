// The trainer on a one-layer model and a few steps (found by mutation testing, docs/mutation.md;
// the train suite needs 30 s of training to reach the same code): the learning-rate schedules,
// gradient accumulation, what each step records, checkpoints and stops, the routing-bias update,
// and the errors for runs that cannot start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunRecipe } from '../src/train/recipe.js';
import type { Recipe } from '../src/train/recipe.js';
import { train, learningRate, recipeConfig, runEval, checkRecipeFitsModel } from '../src/train/trainer.js';
import { copyProbe } from '../src/infer/copy-probe.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { PackedDataset, encodeDocuments } from '../src/train/packing.js';
import { SftDataset } from '../src/train/sft-data.js';
import { readCorpus } from '../src/data/index.js';
import { Tensor } from '../src/tensor/index.js';
import { readMetrics } from '../src/train/metrics.js';
import { loadModel, saveModel } from '../src/model/checkpoint.js';
import { DeepseekV3 } from '../src/model/model.js';
import { asDeepseek, deepseekConfig } from '../src/model/registry.js';
import { getPreset } from '../src/model/presets.js';
import type { ModelConfig } from '../src/model/config.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-trainer-'));

/** A small corpus file (JSONL of {text, problems}), so no corpus has to be generated. */
function corpus(dir: string): string {
  const f = path.join(dir, 'corpus.jsonl');
  const docs = Array.from({ length: 60 }, (_, i) => ({ text: `${i} + ${i * 7 % 13} = ${i + (i * 7 % 13)}. The sum of ${i} and ${i * 3} is ${i * 4}.`, problems: [] }));
  fs.writeFileSync(f, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return f;
}

/** One transformer layer (dense), no MTP unless asked: a step takes milliseconds. */
function recipe(dataFile: string, train: Record<string, unknown>, over: Record<string, unknown> = {}): Recipe {
  return parseRunRecipe({
    kind: 'pretrain', name: 'tiny', seed: 4,
    model: { preset: 'nano', overrides: { num_hidden_layers: 2, first_k_dense_replace: 1, num_nextn_predict_layers: 1 } },
    tokenizer: { vocabSize: 300 },
    data: { file: dataFile },
    train: { steps: 3, batchSize: 2, seqLen: 16, lr: { peak: 0.01, warmup: 1, schedule: 'constant' }, ...train },
    eval: { every: 0, final: false },
    checkpoint: { every: 0 },
    ...over,
  });
}

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('learning-rate schedules: constant with warmup, cosine to decayTo (default peak/10), DeepSeek-V3 shape with its defaults', () => {
  const r = (lr: Record<string, unknown>, steps = 100) => parseRunRecipe({ name: 'x', train: { steps, lr } });
  const c = r({ peak: 1, warmup: 4, schedule: 'constant' });
  assert.deepEqual([0, 1, 3, 4, 99].map((s) => learningRate(c, s)), [0.25, 0.5, 1, 1, 1]);
  const cos = r({ peak: 1, warmup: 0, schedule: 'cosine' });
  assert.equal(learningRate(cos, 0), 1);
  close(learningRate(cos, 50), 0.55, 1e-12, 'cosine midpoint (min 0.1)');
  close(learningRate(cos, 100), 0.1, 1e-12, 'cosine end');
  close(learningRate(r({ peak: 1, warmup: 0, schedule: 'cosine', decayTo: 0.5 }), 50), 0.75, 1e-12, 'cosine to decayTo');
  // deepseek (default): warmup 2 → constant until 60% → cosine to peak/10 at 95% → peak/30
  const d = r({ peak: 3, warmup: 2 });
  assert.deepEqual([0, 1, 2, 59].map((s) => learningRate(d, s)), [1.5, 3, 3, 3]);
  close(learningRate(d, 60), 3, 1e-12, 'decay starts at 60%');
  close(learningRate(d, 77.5), 0.3 + 0.5 * 2.7, 1e-12, 'half-way through the decay');
  close(learningRate(d, 94.99), 0.3, 1e-3, 'decayed to peak/10 at 95%');
  close(learningRate(d, 95), 0.1, 1e-12, 'final = peak/30');
  const d2 = r({ peak: 1, warmup: 0, constantFrac: 0.5, decayEndFrac: 0.7, decayTo: 0.2, final: 0.05 }, 10);
  assert.deepEqual([4, 5, 7].map((s) => learningRate(d2, s)), [1, 1, 0.05]);
  close(learningRate(d2, 6), 0.2 + 0.4, 1e-12, 'decay midpoint');
  // warmup longer than the constant phase: the phases start after warmup
  const d3 = r({ peak: 1, warmup: 8, constantFrac: 0.1, decayEndFrac: 0.2 }, 20);
  assert.equal(learningRate(d3, 7), 1);
  close(learningRate(d3, 8), 1 / 30, 1e-12, 'decay phase empty: final right after warmup');
});

test('recipeConfig: preset, HF-key overrides, and the tokenizer\'s vocabulary size', () => {
  const r = parseRunRecipe({ name: 'x', model: { preset: 'nano', overrides: { hidden_size: 32, n_routed_experts: 16 } }, train: { steps: 1, lr: { peak: 1 } } });
  const c = recipeConfig(r, 777) as ModelConfig;
  assert.equal(c.hiddenSize, 32);
  assert.equal(c.nRoutedExperts, 16);
  assert.equal(c.vocabSize, 777);
  assert.equal(recipeConfig(r).vocabSize, 512, 'the preset\'s without a tokenizer');
});

test('a short run: per-step lr, tokens, losses and expert load are recorded; the final model and checkpoint are written', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir), { steps: 3, gradAccum: 2, lr: { peak: 0.01, warmup: 2, schedule: 'constant' }, biasUpdateSpeed: 0.01, mtpWeight: 0.5 });
    const out = path.join(dir, 'run');
    const res = await train({ recipe: r, out, quiet: true });
    assert.equal(res.lastStep, 3);
    assert.equal(res.interrupted, false);
    assert.deepEqual(res.history.map((m) => m.step), [1, 2, 3]);
    assert.deepEqual(res.history.map((m) => m.lr), [0.005, 0.01, 0.01]);
    for (const m of res.history) {
      assert.equal(m.tokens, 2 * 2 * 16, 'batch × accumulation × sequence targets');
      close(m.loss, m.ce + 0.5 * m.mtp_loss + m.balance_loss, 1e-5, 'loss = CE + λ·MTP + balance');
      assert.ok(m.mtp_loss > 0 && m.balance_loss > 0 && m.grad_norm > 0 && m.tokens_per_s > 0 && m.step_time_s > 0);
      assert.equal(m.expert_load.length, 1);
      assert.equal(m.expert_load[0].layer, 1);
      assert.equal(m.expert_load[0].counts.reduce((a, b) => a + b, 0), 2 * 2 * 16 * 2, 'every token of every micro-batch, k = 2');
      const counts = m.expert_load[0].counts, mean = counts.reduce((a, b) => a + b, 0) / counts.length;
      close(m.expert_load[0].max_over_mean, Math.max(...counts) / mean, 1e-12, 'max/mean');
    }
    const rows = readMetrics(path.join(out, 'metrics.jsonl'));
    assert.deepEqual(rows.map((x) => x.step), [1, 2, 3]);
    assert.equal(rows[2].loss, res.history[2].loss);
    assert.ok(fs.existsSync(path.join(out, 'final', 'tokenizer.json')));
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-000003']);
    // the routing bias moved (aux-loss-free balancing at γ = 0.01) and was saved with the model
    const bias = asDeepseek(loadModel(path.join(out, 'final'))).moeLayers()[0].gate.bias!.f32();
    assert.ok(bias.some((b) => Math.abs(b) > 0.005), 'bias updated');
    // the run directory keeps its recipe
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'recipe.json'), 'utf8')), JSON.parse(JSON.stringify(r)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('gradient accumulation: 2 micro-batches of 2 take the same step as one batch of 4', async () => {
  const dir = tmp();
  try {
    const data = corpus(dir);
    const a = await train({ recipe: recipe(data, { steps: 1, batchSize: 2, gradAccum: 2, biasUpdateSpeed: 0 }), out: path.join(dir, 'a'), quiet: true });
    const b = await train({ recipe: recipe(data, { steps: 1, batchSize: 4, gradAccum: 1, biasUpdateSpeed: 0 }), out: path.join(dir, 'b'), quiet: true });
    close(a.history[0].loss, b.history[0].loss, 1e-5, 'loss');
    close(a.history[0].grad_norm, b.history[0].grad_norm, 1e-4, 'grad norm');
    const wa = new Map(loadModel(a.finalDir).namedTensors()), wb = loadModel(b.finalDir).namedTensors();
    let maxDiff = 0;
    for (const [n, t] of wb) { const x = wa.get(n)!.f32(), y = t.f32(); for (let i = 0; i < y.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i])); }
    assert.ok(maxDiff < 1e-4, `weights differ by ${maxDiff}`);
    // with γ = 0 the routing bias stays zero
    assert.ok(asDeepseek(loadModel(a.finalDir)).moeLayers()[0].gate.bias!.f32().every((x) => x === 0));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('checkpoints every N steps but not at the end step; stopAfter saves where it stopped; an existing run needs --resume', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir), { steps: 4 }, { checkpoint: { every: 2 } });
    const out = path.join(dir, 'run');
    const part = await train({ recipe: r, out, quiet: true, stopAfter: 3 });
    assert.deepEqual([part.interrupted, part.lastStep, part.finalDir], [true, 3, path.join(out, 'checkpoints', 'step-000003')]);
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-000002', 'step-000003']);
    assert.ok(!fs.existsSync(path.join(out, 'final')));
    await assert.rejects(train({ recipe: r, out, quiet: true }), /already holds a run \(metrics.jsonl with 3 steps; complete checkpoints step-000003, step-000002\); pass --resume/);
    const rest = await train({ recipe: r, out, quiet: true, resume: true });
    assert.deepEqual(rest.history.map((m) => m.step), [4]);
    assert.deepEqual(readMetrics(path.join(out, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4]);
    // --resume of an empty directory starts from step 0
    const fresh = await train({ recipe: r, out: path.join(dir, 'fresh'), quiet: true, resume: true, stopAfter: 1 });
    assert.equal(fresh.lastStep, 1);
    await assert.rejects(train({ recipe: { ...r, seed: 99 }, out, quiet: true, resume: true }), /--resume: the recipe differs/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runs that cannot start say why', async () => {
  const dir = tmp();
  try {
    const data = corpus(dir);
    const sft = (d: Record<string, unknown>, tk: Record<string, unknown> = {}) => parseRunRecipe({ kind: 'sft', name: 's', data: d, tokenizer: tk, train: { steps: 1, lr: { peak: 1 } } });
    await assert.rejects(train({ recipe: sft({}), out: path.join(dir, 's1'), quiet: true }), /an SFT recipe needs data\.file .* or data\.sftTasks/);
    await assert.rejects(train({ recipe: sft({ file: data }), out: path.join(dir, 's2'), quiet: true }), /an SFT recipe needs tokenizer\.path or model\.init/);
    // model.init whose vocabulary (the nano preset's 512) differs from the run's tokenizer (≤ 300)
    const base = path.join(dir, 'base');
    saveModel(base, new DeepseekV3(getPreset('nano'), 1));
    const other = recipe(data, { steps: 1 }, { model: { preset: 'nano', init: base } });
    await assert.rejects(train({ recipe: other, out: path.join(dir, 'init'), quiet: true }), /model\.init .*base has vocab 512, the tokenizer \d+$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C (a real SIGINT) during training stops the run at the next step, saves a checkpoint there, and --resume finishes it', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir), { steps: 40 });
    const out = path.join(dir, 'run');
    let sentAt = 0;
    // A test harness may handle SIGINT itself (Stryker's tap hook exits on it): set its handlers
    // aside while the run owns Ctrl-C, as the CLI's process does.
    const harness = process.listeners('SIGINT');
    for (const h of harness) process.off('SIGINT', h);
    let res;
    try {
      const run = await captured(() => train({
        recipe: r, out,
        onStep: (m) => { if (m.step === 2) { sentAt = m.step; process.kill(process.pid, 'SIGINT'); } },
      }));
      res = run.value;
      assert.ok(run.lines.includes(`interrupted: saved ${res.finalDir}; continue with --resume`), run.lines.join('\n'));
      assert.equal(process.listenerCount('SIGINT'), 0, 'the handler is removed when the run returns');
    } finally {
      for (const h of harness) process.on('SIGINT', h);
    }
    assert.equal(sentAt, 2);
    assert.equal(res.interrupted, true, `the run went on to step ${res.lastStep} of 40 after SIGINT`);
    assert.ok(res.lastStep >= 2 && res.lastStep < 40, `stopped at ${res.lastStep}`);
    assert.equal(res.finalDir, path.join(out, 'checkpoints', `step-${String(res.lastStep).padStart(6, '0')}`));
    assert.ok(!fs.existsSync(path.join(out, 'final')));
    const rest = await train({ recipe: r, out, quiet: true, resume: true, stopAfter: res.lastStep + 1 });
    assert.deepEqual(rest.history.map((m) => m.step), [res.lastStep + 1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const ckptDir = (out: string, s: number) => path.join(out, 'checkpoints', `step-${String(s).padStart(6, '0')}`);
const corpusTexts = (f: string) => readCorpus(f).map((d) => d.text);

test('the copy probe and periodic evaluation: their metrics equal the probe and evaluation of the checkpointed model; the final evaluation reuses one at the last step', async () => {
  const dir = tmp();
  try {
    const evalOpts = { every: 2, final: true, n: 1, difficulties: [1], families: ['add', 'sort'], maxNewTokens: 4, probeEvery: 2 };
    // (the probe's worked solutions take more than the preset's 256 positions with this small tokenizer)
    const model = { preset: 'nano', overrides: { num_hidden_layers: 2, first_k_dense_replace: 1, num_nextn_predict_layers: 1, max_position_embeddings: 1024 } };
    const r = recipe(corpus(dir), { steps: 3 }, { eval: evalOpts, checkpoint: { every: 2 }, model });
    const out = path.join(dir, 'run');
    const res = await train({ recipe: r, out, quiet: true });
    const tok = Tokenizer.fromDir(path.join(out, 'tokenizer'));
    const rows = readMetrics(path.join(out, 'metrics.jsonl'));
    // probe at step 2 (not 1 or 3), with seed + 1000, on the model after step 2, in eval mode
    const probes = rows.filter((x) => 'digit_nll' in x);
    assert.deepEqual(probes.map((x) => x.step), [2]);
    const at2 = loadModel(ckptDir(out, 2));
    at2.eval();
    const want = copyProbe(at2, tok, { seed: r.seed + 1000 });
    assert.equal(probes[0].digit_nll, want.meanDigitNll);
    assert.deepEqual(probes[0].digit_nll_by_family, Object.fromEntries(want.families.map((f) => [f.family, f.digitNll])));
    // after the probe and the evaluation the model trains again: step 3 counts every routed token
    // of its own batch (the probe's tokens are not counted) and has a balance loss
    const s3 = res.history[2];
    assert.equal(s3.expert_load[0].counts.reduce((a, b) => a + b, 0), 2 * 16 * 2);
    assert.ok(s3.balance_loss > 0);
    // evaluation at step 2 and the final one at step 3, each that of the saved model
    assert.deepEqual(res.evals.map((e) => e.step), [2, 3]);
    const evalRows = rows.filter((x) => 'eval' in x);
    assert.deepEqual(evalRows.map((x) => x.step), [2]);
    const e2 = await runEval(loadModel(ckptDir(out, 2)), tok, r);
    assert.deepEqual(res.evals[0].report.families, e2.families);
    assert.equal(evalRows[0].eval_greedy_mean, e2.mean.greedy);
    assert.deepEqual(evalRows[0].eval, e2.families.map((f) => ({ family: f.family, greedy: f.greedy, greedy_lenient: f.greedyLenient })));
    const e3 = await runEval(loadModel(path.join(out, 'final')), tok, r);
    const written = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8'));
    assert.equal(written.step, 3);
    assert.deepEqual(written.families, JSON.parse(JSON.stringify(e3.families)));
    assert.deepEqual(res.evals[1].report.families, e3.families);
    // last step evaluated already: eval.json is that evaluation, not a second one; a probe alone
    // (step 1) also leaves the model training (step 2 counts its load, has a balance loss)
    const r2 = recipe(corpus(dir), { steps: 2 }, { eval: { ...evalOpts, probeEvery: 1 }, checkpoint: { every: 0 }, model });
    const res2 = await train({ recipe: r2, out: path.join(dir, 'run2'), quiet: true });
    assert.deepEqual(res2.evals.map((e) => e.step), [2]);
    assert.equal(res2.history[1].expert_load[0].counts.reduce((a, b) => a + b, 0), 2 * 16 * 2);
    assert.ok(res2.history[1].balance_loss > 0);
    const w2 = JSON.parse(fs.readFileSync(path.join(dir, 'run2', 'eval.json'), 'utf8'));
    assert.equal(w2.step, 2);
    assert.equal(w2.seconds, res2.evals[0].report.seconds, 'the same evaluation');
    // a final evaluation without periodic ones, on a model of 400 positions (the evaluation's KV cache
    // is min(positions, 512) long; the prompts take ~330 tokens with this small tokenizer)
    const model400 = { preset: 'nano', overrides: { ...model.overrides, max_position_embeddings: 400 } };
    const r4 = recipe(corpus(dir), { steps: 1 }, { eval: { ...evalOpts, every: 0, probeEvery: 0 }, model: model400 });
    const res4 = await train({ recipe: r4, out: path.join(dir, 'run4'), quiet: true });
    assert.deepEqual(res4.evals.map((e) => e.step), [1]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'run4', 'eval.json'), 'utf8')).step, 1);
    // no final evaluation asked: no eval.json
    const r3 = recipe(corpus(dir), { steps: 1 });
    await train({ recipe: r3, out: path.join(dir, 'run3'), quiet: true });
    assert.ok(!fs.existsSync(path.join(dir, 'run3', 'eval.json')));
    assert.ok(readMetrics(path.join(dir, 'run3', 'metrics.jsonl')).every((x) => !('digit_nll' in x) && !('eval' in x)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `fn` with console.error captured; returns its result, the lines, and the wall time in seconds. */
async function captured<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[]; wall: number }> {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { lines.push(a.map(String).join(' ')); };
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, lines, wall: (performance.now() - t0) / 1000 };
  } finally {
    console.error = orig;
  }
}

test('what a run says: corpus and tokenizer built (with their durations), where it stopped; nothing when quiet; step times and throughput agree', async () => {
  const dir = tmp();
  try {
    const r = parseRunRecipe({
      kind: 'pretrain', name: 'said', seed: 3,
      model: { preset: 'nano', overrides: { num_hidden_layers: 1, first_k_dense_replace: 0, num_nextn_predict_layers: 0 } },
      tokenizer: { vocabSize: 300 },
      data: { recipe: 'default', tokens: 3000 },
      train: { steps: 3, batchSize: 2, seqLen: 16, lr: { peak: 0.01 } },
      eval: { every: 0, final: false }, checkpoint: { every: 0 },
    });
    const out = path.join(dir, 'loud');
    const { value: res, lines, wall } = await captured(() => train({ recipe: r, out, stopAfter: 2 }));
    const corpusLine = lines.find((l) => l.startsWith('data: built corpus'));
    assert.ok(corpusLine, lines.join('\n'));
    const m1 = /^data: built corpus "(.+)" into (.+) in (\d+\.\d) s$/.exec(corpusLine!);
    assert.ok(m1, corpusLine);
    assert.equal(m1![2], path.join(out, 'corpus.jsonl'));
    assert.ok(m1![1].length > 0);
    assert.ok(Number(m1![3]) <= wall + 0.05, `corpus time ${m1![3]} s within the call's ${wall} s`);
    const tok = Tokenizer.fromDir(path.join(out, 'tokenizer'));
    const m2 = lines.map((l) => /^tokenizer: trained byte-level BPE, (\d+) tokens, in (\d+\.\d) s$/.exec(l)).find(Boolean);
    assert.ok(m2, lines.join('\n'));
    assert.equal(Number(m2![1]), tok.vocabSize);
    assert.ok(Number(m2![2]) <= wall + 0.05);
    assert.ok(lines.includes(`stopped at step 2: saved ${ckptDir(out, 2)}`), lines.join('\n'));
    for (const m of res.history) {
      assert.ok(m.step_time_s > 0 && m.step_time_s <= wall, `step time ${m.step_time_s} s within the call's ${wall} s`);
      assert.ok(Math.abs(m.tokens_per_s * m.step_time_s - m.tokens) <= 1e-6 * m.tokens, 'tokens/s × s = tokens');
    }
    // quiet: the same run says nothing (besides the resume line, which is always printed)
    const quiet = await captured(() => train({ recipe: r, out: path.join(dir, 'quiet'), quiet: true, stopAfter: 1 }));
    assert.deepEqual(quiet.lines, []);
    const resumed = await captured(() => train({ recipe: r, out, quiet: true, resume: true }));
    assert.deepEqual(resumed.lines, [`resume: continuing from step 2 (${ckptDir(out, 2)})`]);
    // a stopAfter at or past the last step is a complete run
    const whole = await train({ recipe: r, out: path.join(dir, 'whole'), quiet: true, stopAfter: 3 });
    assert.deepEqual([whole.interrupted, whole.lastStep, whole.finalDir], [false, 3, path.join(dir, 'whole', 'final')]);
    const past = await train({ recipe: r, out: path.join(dir, 'past'), quiet: true, stopAfter: 9 });
    assert.deepEqual([past.interrupted, past.lastStep], [false, 3]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenizers: a run folder\'s tokenizer is reused, tokenizer.path is used as given, and checkpoints carry the run\'s tokenizer', async () => {
  const dir = tmp();
  try {
    const data = corpus(dir);
    const texts = corpusTexts(data);
    const small = Tokenizer.train(texts.slice(0, 20), { vocabSize: 270 });
    // a tokenizer already in the run folder (as on --resume) is not retrained
    const out = path.join(dir, 'run');
    small.save(path.join(out, 'tokenizer'));
    const before = fs.readFileSync(path.join(out, 'tokenizer', 'tokenizer.json'), 'utf8');
    const res = await train({ recipe: recipe(data, { steps: 1 }), out, quiet: true, stopAfter: 1 });
    assert.equal(fs.readFileSync(path.join(out, 'tokenizer', 'tokenizer.json'), 'utf8'), before);
    assert.equal(loadModel(res.finalDir).cfg.vocabSize, small.vocabSize);
    // the checkpoint holds the run's tokenizer files
    assert.equal(fs.readFileSync(path.join(res.finalDir, 'tokenizer.json'), 'utf8'), before);
    // tokenizer.path: that tokenizer, not one trained on the corpus
    const tdir = path.join(dir, 'tok');
    small.save(tdir);
    const withPath = recipe(data, { steps: 1 }, { tokenizer: { path: tdir, vocabSize: 300 } });
    const res2 = await train({ recipe: withPath, out: path.join(dir, 'run2'), quiet: true });
    assert.equal(loadModel(res2.finalDir).cfg.vocabSize, small.vocabSize);
    assert.equal(fs.readFileSync(path.join(res2.finalDir, 'tokenizer.json'), 'utf8'), fs.readFileSync(path.join(tdir, 'tokenizer.json'), 'utf8'));
    assert.ok(!fs.existsSync(path.join(dir, 'run2', 'tokenizer')), 'no tokenizer trained into the run folder');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('model.init: training starts from that model (its first loss is the model\'s loss on the first batch), and its max_position_embeddings bounds seqLen', async () => {
  const dir = tmp();
  try {
    const data = corpus(dir);
    const tok = Tokenizer.train(corpusTexts(data), { vocabSize: 300 });
    const tdir = path.join(dir, 'tok');
    tok.save(tdir);
    const base = recipe(data, { steps: 1, biasUpdateSpeed: 0 }, { tokenizer: { path: tdir } });
    const init = path.join(dir, 'init');
    const initModel = new DeepseekV3(deepseekConfig(recipeConfig({ ...base, model: { ...base.model, overrides: { ...base.model.overrides, max_position_embeddings: 20 } } }, tok.vocabSize)), 77);
    saveModel(init, initModel);
    const r = { ...base, model: { ...base.model, init } };
    const res = await train({ recipe: r, out: path.join(dir, 'run'), quiet: true });
    const ds = new PackedDataset(encodeDocuments(tok, corpusTexts(data)), 16, r.seed, tok.bosId, tok.eosId);
    const m = loadModel(init);
    m.train();
    const want = m.loss(Tensor.ints(ds.batch(0, 2), [2, 17]), { mtpWeight: r.train.mtpWeight });
    assert.ok(Math.abs(res.history[0].loss - want.loss.item()) <= 1e-5 * want.loss.item(), `${res.history[0].loss} vs ${want.loss.item()}`);
    // a seqLen past the init model's 20 positions (the preset allows more) is refused, naming model.init
    const long = { ...r, train: { ...r.train, seqLen: 21 } };
    assert.throws(() => checkRecipeFitsModel(long), (e: Error & { key?: string; expected?: string; found?: string }) => {
      assert.deepEqual([e.name, e.key, e.expected, e.found], ['ConfigError', 'max_position_embeddings', 'at least train.seqLen (21)', '20']);
      assert.equal(e.message, `recipe "tiny": train.seqLen 21 exceeds the model's max_position_embeddings 20 (model.init ${init}); lower train.seqLen to at most 20 or raise max_position_embeddings in model.overrides`);
      return true;
    });
    checkRecipeFitsModel({ ...r, train: { ...r.train, seqLen: 20 } });
    const preset = recipe(data, { seqLen: 99999 });
    assert.throws(() => checkRecipeFitsModel(preset), /train\.seqLen 99999 exceeds the model's max_position_embeddings \d+ \(model\.preset "nano"\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SFT: the first step\'s loss is the model\'s weighted loss on the dataset\'s first batch (prompt tokens masked); a diverging run stops with an error naming the step', async () => {
  const dir = tmp();
  try {
    const data = corpus(dir);
    const tok = Tokenizer.train(corpusTexts(data), { vocabSize: 300 });
    const tdir = path.join(dir, 'tok');
    tok.save(tdir);
    const sftFile = path.join(dir, 'sft.jsonl');
    fs.writeFileSync(sftFile, Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `What is ${i} + ${i}?`, response: `It is ${2 * i}.` })).join('\n') + '\n');
    const r = parseRunRecipe({
      kind: 'sft', name: 'sft', seed: 5,
      model: { preset: 'nano', overrides: { num_hidden_layers: 1, first_k_dense_replace: 0, num_nextn_predict_layers: 0 } },
      tokenizer: { path: tdir }, data: { file: sftFile },
      train: { steps: 1, batchSize: 2, seqLen: 16, lr: { peak: 0.01 }, biasUpdateSpeed: 0 },
      eval: { every: 0, final: false }, checkpoint: { every: 0 },
    });
    const res = await train({ recipe: r, out: path.join(dir, 'run'), quiet: true });
    const model = new DeepseekV3(deepseekConfig(recipeConfig(r, tok.vocabSize)), r.seed);
    model.train();
    const b = SftDataset.fromFile(sftFile, tok, 16, r.seed).batch(0, 2);
    const want = model.loss(b.ids, { mtpWeight: r.train.mtpWeight, weights: b.weights });
    assert.ok(Math.abs(res.history[0].loss - want.loss.item()) <= 1e-5 * want.loss.item(), `${res.history[0].loss} vs ${want.loss.item()}`);
    assert.equal(res.history[0].tokens, want.tokens);
    assert.ok(want.tokens < 2 * 16, 'prompt and padding tokens are not targets');
    // lr 1e30: the second step's loss is NaN
    const wild = recipe(data, { steps: 4, weightDecay: 0, lr: { peak: 1e30, warmup: 1, schedule: 'constant' } });
    const out = path.join(dir, 'wild');
    await assert.rejects(train({ recipe: wild, out, quiet: true }), /^Error: step 2: loss is NaN \(diverged\); lower train\.lr\.peak or check the data$/);
    assert.deepEqual(readMetrics(path.join(out, 'metrics.jsonl')).map((x) => x.step), [1]);
    assert.ok(!fs.existsSync(path.join(out, 'run.lock')), 'the run lock is released');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('checkpoints are written at multiples of checkpoint.every only; a torn metrics.jsonl left by a run killed before its first step is replaced', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir), { steps: 5 }, { checkpoint: { every: 2 } });
    const out = path.join(dir, 'run');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'metrics.jsonl'), '{"step": 1, "lo'); // torn: holds no record
    const seen: string[][] = [];
    const list = () => (fs.existsSync(path.join(out, 'checkpoints')) ? fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => f.startsWith('step-')).sort() : []);
    await train({ recipe: r, out, quiet: true, onStep: () => seen.push(list()) });
    // onStep runs before the step's save: at step s we see the saves of steps < s
    assert.deepEqual(seen, [[], [], ['step-000002'], ['step-000002'], ['step-000002', 'step-000004']]);
    assert.deepEqual(list(), ['step-000004', 'step-000005']);
    assert.deepEqual(readMetrics(path.join(out, 'metrics.jsonl')).map((x) => x.step), [1, 2, 3, 4, 5]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
