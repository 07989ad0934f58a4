// The trainer on `nano`: the loss falls, an interrupted run resumes bit-exactly, SFT masks the prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunRecipe } from '../src/train/recipe.js';
import { train, learningRate } from '../src/train/trainer.js';
import { readMetrics } from '../src/train/metrics.js';
import { sameRecipe } from '../src/train/checkpoint.js';
import { encodeExample } from '../src/train/sft-data.js';
import { Tokenizer, SPECIAL } from '../src/tokenizer/index.js';
import { encodeDocuments } from '../src/train/packing.js';
import { copyProbe } from '../src/infer/copy-probe.js';
import { DeepseekV3 } from '../src/model/model.js';
import { getPreset } from '../src/model/presets.js';
import { PackedDataset } from '../src/train/packing.js';
import { Rng } from '../src/tensor/random.js';
import { pooledBufferBytes } from '../src/tensor/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-train-'));

function nanoRecipe(steps: number, over: Record<string, unknown> = {}) {
  return parseRunRecipe({
    kind: 'pretrain', name: 'test-nano', seed: 3,
    model: { preset: 'nano' },
    tokenizer: { vocabSize: 400 },
    data: { recipe: 'default', tokens: 20000 },
    train: { steps, batchSize: 4, seqLen: 48, lr: { peak: 0.01, warmup: 3 }, mtpWeight: 0.3, biasUpdateSpeed: 0.001 },
    eval: { every: 0, final: false },
    checkpoint: { every: 4 },
    ...over,
  });
}

test('a nano pretraining run drives the loss well below its start', async () => {
  const out = tmp();
  const res = await train({ recipe: nanoRecipe(60), out, quiet: true });
  const first = res.history[0].ce, last = res.history.slice(-5).reduce((a, m) => a + m.ce, 0) / 5;
  assert.ok(last < first * 0.55, `loss ${first} → ${last}`);
  assert.equal(pooledBufferBytes(), 0, 'the run empties the buffer pool when it ends (the next run has other shapes)');
  assert.ok(fs.existsSync(path.join(out, 'final', 'config.json')) && fs.existsSync(path.join(out, 'final', 'tokenizer.json')));
  const rows = readMetrics(path.join(out, 'metrics.jsonl'));
  assert.equal(rows.length, 60);
  for (const k of ['loss', 'ce', 'mtp_loss', 'lr', 'grad_norm', 'tokens_per_s', 'expert_load']) assert.ok(k in rows[0], `metric ${k}`);
  const load = rows[0].expert_load as { layer: number; counts: number[] }[];
  assert.equal(load.length, 1);
  assert.equal(load[0].counts.reduce((a, b) => a + b, 0), 4 * 48 * 2, 'every token routed to k = 2 experts');
});

test('an interrupted run resumed from its checkpoint reproduces the losses bit for bit', async () => {
  const a = tmp(), b = tmp();
  const r = nanoRecipe(8);
  const full = await train({ recipe: r, out: a, quiet: true });
  const part = await train({ recipe: r, out: b, quiet: true, stopAfter: 5 });
  assert.equal(part.interrupted, true);
  assert.equal(part.lastStep, 5);
  const rest = await train({ recipe: r, out: b, quiet: true, resume: true });
  assert.deepEqual(rest.history.map((m) => m.loss), full.history.slice(5).map((m) => m.loss));
  assert.deepEqual(rest.history.map((m) => m.grad_norm), full.history.slice(5).map((m) => m.grad_norm));
  // The run's metrics file is continuous: steps 1..8 once each.
  assert.deepEqual(readMetrics(path.join(b, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4, 5, 6, 7, 8]);
  // Starting over an existing run without --resume is refused.
  await assert.rejects(train({ recipe: r, out: b, quiet: true }), /--resume/);
});

test('learning-rate schedule has DeepSeek-V3\'s shape', () => {
  const r = parseRunRecipe({ name: 'x', train: { steps: 100, lr: { peak: 1, warmup: 10, constantFrac: 0.5, decayEndFrac: 0.9, decayTo: 0.1, final: 0.03 } } });
  assert.equal(learningRate(r, 4), 0.5);
  assert.equal(learningRate(r, 30), 1);
  assert.ok(learningRate(r, 70) < 1 && learningRate(r, 70) > 0.1);
  assert.equal(learningRate(r, 95), 0.03);
});

test('packing is a pure function of (seed, block index) with BOS/EOS around documents', () => {
  const docs = [Int32Array.of(5, 6, 7), Int32Array.of(8, 9), Int32Array.of(10, 11, 12, 13)];
  // 15 tokens with BOS/EOS = 3 blocks of seqLen + 1 = 5.
  const d1 = new PackedDataset(docs, 4, 1, 0, 1), d2 = new PackedDataset(docs, 4, 1, 0, 1);
  assert.deepEqual(Array.from(d1.batch(0, 3)), Array.from(d2.batch(0, 3)));
  assert.deepEqual(Array.from(d1.block(7)), Array.from(d2.block(7)));
  const all = Array.from(d1.batch(0, d1.blocksPerEpoch));
  assert.equal(d1.blocksPerEpoch, 3);
  assert.equal(all.filter((t) => t === 0).length, 3);
  assert.equal(all.filter((t) => t === 1).length, 3);
  assert.equal(all[0], 0);
  assert.notDeepEqual(Array.from(d1.block(0)), Array.from(new PackedDataset(docs, 4, 2, 0, 1).block(0)), 'another seed, another order');
});

test('packing: every epoch is the documents in the seeded shuffled order, each as BOS + ids + EOS, cut into seqLen + 1 blocks (checkpoints of earlier versions resume on the same data)', () => {
  // 300 documents of 0–9 tokens (empty ones included), 2+ epochs, against the definition written out.
  const rng = new Rng(11);
  const docs = Array.from({ length: 300 }, () => Int32Array.from({ length: rng.int(10) }, () => 2 + rng.int(50)));
  const seqLen = 7, seed = 4;
  const d = new PackedDataset(docs, seqLen, seed, 0, 1);
  const total = docs.reduce((a, x) => a + x.length + 2, 0);
  assert.equal(d.totalTokens, total);
  assert.equal(d.documents, 300);
  assert.equal(d.blocksPerEpoch, Math.floor(total / (seqLen + 1)));
  for (const e of [0, 1, 2]) {
    const order = docs.map((_, i) => i);
    new Rng((seed * 7919 + e * 104729 + 1) >>> 0).shuffle(order);
    const stream = order.flatMap((i) => [0, ...docs[i]!, 1]);
    for (const b of [0, 1, d.blocksPerEpoch - 1]) {
      const g = e * d.blocksPerEpoch + b;
      assert.deepEqual(Array.from(d.block(g)), stream.slice(b * (seqLen + 1), (b + 1) * (seqLen + 1)), `epoch ${e} block ${b}`);
    }
  }
  // the dataset does not hold on to the caller's arrays
  docs.find((x) => x.length > 0)!.fill(99);
  assert.ok(!Array.from(d.batch(0, d.blocksPerEpoch)).includes(99));
});

test('SFT examples put the loss on the response tokens only', () => {
  const tok = Tokenizer.train(['What is 2 + 3? The answer is 5.', 'hello world'], { vocabSize: 300 });
  const { ids, weights } = encodeExample({ prompt: 'What is 2 + 3?', response: '<think>\n2 + 3 = 5\n</think> 5' }, tok, 64);
  const promptText = tok.applyChatTemplate([{ role: 'user', content: 'What is 2 + 3?' }], { addGenerationPrompt: true });
  const nPrompt = tok.encode(promptText, { allowSpecial: true }).length;
  // Targets ids[t+1] inside the prompt carry no loss; the first response token does.
  for (let t = 0; t + 1 < nPrompt; t++) assert.equal(weights[t], 0, `prompt target ${t}`);
  assert.equal(weights[nPrompt - 1], 1, 'the first response token is learned');
  assert.ok(tok.decode(Array.from(ids.slice(nPrompt))).includes('2 + 3 = 5'), 'the reasoning is kept in the trained response');
  assert.equal(weights[ids.length - 2], 1, 'the final EOS target is learned');
  assert.ok(weights.slice(ids.length - 1).every((w) => w === 0), 'padding carries no loss');
});

test('pretraining encodes R1-Zero tags as their special tokens, as eval and RL prompts do', () => {
  const doc = 'User: Compute 2 + 3. Assistant: <think>\n2 + 3 = 5\n</think> <answer>5</answer>';
  const tok = Tokenizer.train([doc, 'Compute 12 + 30'], { vocabSize: 300 });
  const [ids] = encodeDocuments(tok, [doc]);
  for (const tag of [SPECIAL.thinkOpen, SPECIAL.thinkClose, SPECIAL.answerOpen, SPECIAL.answerClose]) {
    assert.ok(ids.includes(tok.idOf(tag)), `${tag} should be one special token`);
  }
  assert.deepEqual(Array.from(ids), tok.encode(doc, { allowSpecial: true }));
});

test('copy probe: an untrained model pays about ln(vocab) per digit; the trainer logs it every probeEvery steps', async () => {
  const out = tmp();
  const res = await train({ recipe: nanoRecipe(4, { eval: { every: 0, final: false, probeEvery: 2 } }), out, quiet: true });
  const rows = readMetrics(path.join(out, 'metrics.jsonl')).filter((m) => typeof m.digit_nll === 'number');
  assert.deepEqual(rows.map((m) => m.step), [2, 4]);
  assert.ok(Number.isFinite(rows[1].digit_nll as number));
  const tok = Tokenizer.fromDir(res.finalDir);
  const fresh = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize }, 1);
  fresh.eval();
  const p = copyProbe(fresh, tok, { n: 2, families: ['add', 'sort'] });
  assert.equal(p.families.length, 2);
  for (const f of p.families) {
    assert.ok(f.digits > 10, `${f.family}: ${f.digits} digits`);
    assert.ok(Math.abs(f.digitNll - Math.log(tok.vocabSize)) < 0.5, `${f.family}: ${f.digitNll} vs ln V = ${Math.log(tok.vocabSize)}`);
  }
  // A context shorter than the worked solutions: scored on the part that fits, not an error.
  const short = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 40 }, 1);
  short.eval();
  const ps = copyProbe(short, tok, { n: 2, families: ['add', 'sort'] });
  const [addFull, addShort] = [p, ps].map((r) => r.families.find((x) => x.family === 'add')!.digits);
  assert.ok(addShort > 0 && addShort < addFull, `add: ${addShort} digits within 40 positions, ${addFull} in all`);
  assert.ok(Number.isFinite(ps.meanDigitNll), 'the mean is over the families that had digits in the window');
});

test('resume compares recipes by meaning: key order and options added with defaults later do not count, a changed value does', () => {
  const r = nanoRecipe(8);
  // A checkpoint written before `eval.probeEvery` existed, with keys in another order.
  const stored = JSON.parse(JSON.stringify(r)) as Record<string, Record<string, unknown>>;
  delete stored.eval.probeEvery;
  const reordered = Object.fromEntries(Object.entries(stored).reverse());
  assert.equal(sameRecipe(reordered, r, parseRunRecipe), true);
  const changed = JSON.parse(JSON.stringify(r)) as { train: { steps: number } };
  changed.train.steps = 9;
  assert.equal(sameRecipe(changed, r, parseRunRecipe), false);
  assert.equal(sameRecipe({ kind: 'nonsense' }, r, parseRunRecipe), false);
});

test("a recipe whose seqLen exceeds the model's max_position_embeddings is refused before any work", { timeout: 20_000 }, async () => {
  for (const [over, M] of [[{}, 256], [{ model: { preset: 'nano', overrides: { max_position_embeddings: 32 } } }, 32]] as const) {
    const out = path.join(tmp(), 'run');
    const r = nanoRecipe(2, over);
    r.train.seqLen = 300;
    await assert.rejects(train({ recipe: r, out, quiet: true }), (e: Error) => {
      assert.equal(e.name, 'ConfigError');
      assert.match(e.message, new RegExp(`train\\.seqLen 300 exceeds the model's max_position_embeddings ${M}`));
      assert.doesNotMatch(e.message, /rope: position/);
      return true;
    });
    assert.equal(fs.existsSync(out), false, 'nothing was written');
  }
});
