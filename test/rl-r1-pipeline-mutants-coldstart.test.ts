// runR1Pipeline's first stages on the paths the main pipeline suite does not take (about 30 s):
// - the base does not exist, so the pipeline pretrains it with the preset's built-in recipe
//   (recipes/pretrain-nano.json) where the recipe says the base is;
// - no `out` is given, so the run goes to runs/<name> under the working directory;
// - the R1-Zero model answers correctly in R1-Zero's format, so the cold-start data holds rows
//   rewritten from its samples (R1 §2.3.1: "collect long CoT data ... from DeepSeek-R1-Zero outputs
//   in a readable format"). That model is a real one: a nano model fine-tuned here, with the trainer,
//   on the cold-start problems' answers in the R1-Zero conversation format until it reproduces them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nanoModel } from './helpers/nano-model.js';
import { captureStderr } from './helpers/stderr.js';
import { loadR1Recipe, parseR1Recipe } from '../src/rl/r1/config.js';
import type { R1Recipe } from '../src/rl/r1/config.js';
import { runR1Pipeline } from '../src/rl/r1/pipeline.js';
import { trainProblems, writtenRow } from '../src/rl/r1/data.js';
import { getTask } from '../src/tasks/index.js';
import { train } from '../src/train/trainer.js';
import { builtinRecipe, parseRunRecipe } from '../src/train/recipe.js';
import { readMetrics } from '../src/train/metrics.js';

const FAMILIES = ['add', 'sub'];
const SEED = 3;
/** The cold-start problems of the recipe below: 4 prompts over 2 families × 1 difficulty. */
const coldProblems = () => trainProblems(FAMILIES, [1], 2, SEED, 'cold-start');
/** The R1-Zero model's answer to a cold-start problem: one readable step in <think>, the answer in <answer>. */
const r1zeroAnswer = (prompt: string, answer: string) => `<think>\n${prompt.replace(/^Compute /, '')} = ${answer}\n</think> <answer>${answer}</answer>`;

function recipeFor(base: string, r1zero: string): R1Recipe {
  const nano = loadR1Recipe('nano');
  const g = (steps: number, extra: Record<string, unknown> = {}) => ({ ...extra, steps, promptsPerStep: 2, numGenerations: 4, maxCompletionLength: 16, microBatch: 8, lr: 0.0005, checkpoint: { every: 0 }, maxMinutes: 0 });
  const sft = { seqLen: 96, train: { ...nano.sft1.train, steps: 2, batchSize: 4, lr: { peak: 0.003, warmup: 1, schedule: 'cosine', decayTo: 0 } } };
  return parseR1Recipe({
    ...nano, base, seed: SEED, tasks: { families: FAMILIES, difficulties: [1] },
    r1zero: { init: r1zero, grpo: {} },
    coldStart: { ...nano.coldStart, prompts: 4, samples: 2, temperature: 1, maxNewTokens: 48, writtenPerFamily: 2 },
    sft1: sft, rl2: { ...nano.rl2, ablation: false, grpo: g(1) },
    rejection: { ...nano.rejection, prompts: 2, samples: 2, maxNewTokens: 16, writtenPerFamily: 1, general: 2, multiTurn: 2 },
    sft3: sft, rewardModel: { ...nano.rewardModel, steps: 3, dim: 64 }, rl4: { ...nano.rl4, grpo: g(1) },
    eval: { n: 1, k: 1, maxNewTokens: 8, phrasingN: 1, seed: 5 },
  });
}

let root = '', cwd = '', r1zero = '', base = '', said: string[] = [];
before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1-coldstart-'));
  // The R1-Zero model: the nano model fine-tuned on the four answers, prompted with the R1-Zero template.
  const data = path.join(root, 'r1zero-sft.jsonl');
  fs.writeFileSync(data, coldProblems().map((p) => JSON.stringify({ prompt: p.prompt, response: r1zeroAnswer(p.prompt, p.answer), template: 'r1zero' })).join('\n') + '\n');
  const ft = await train({
    recipe: parseRunRecipe({
      kind: 'sft', name: 'r1zero-format', seed: 1, model: { preset: 'nano', init: nanoModel(path.join(root, 'nano')) }, data: { file: data },
      train: { steps: 150, batchSize: 4, seqLen: 448, lr: { peak: 0.01, warmup: 5, schedule: 'cosine', decayTo: 0.001 }, weightDecay: 0, mtpWeight: 0, biasUpdateSpeed: 0 },
      eval: { every: 0, final: false }, checkpoint: { every: 0 },
    }, 'r1zero-format'), out: path.join(root, 'r1zero-ft'), quiet: true,
  });
  r1zero = ft.finalDir;
  // No base yet, and no `out`: the pipeline pretrains the base and works under <cwd>/runs/r1-nano.
  base = path.join(root, 'pretrain', 'final');
  const recipe = recipeFor(base, r1zero);
  cwd = process.cwd();
  process.chdir(root);
  try {
    said = (await captureStderr(() => runR1Pipeline({ recipe, reportDir: path.join(root, 'report') }))).lines;
  } finally {
    process.chdir(cwd);
  }
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('a missing base is pretrained first, with the preset\'s built-in pretraining recipe, where the recipe says the base is', () => {
  assert.ok(said.includes(`r1: no base model at ${base}; pretraining it (recipes/pretrain-nano.json)`), said.join('\n'));
  assert.ok(fs.existsSync(path.join(base, 'config.json')), 'the pretrained base');
  const run = JSON.parse(fs.readFileSync(path.join(root, 'pretrain', 'recipe.json'), 'utf8'));
  const want = builtinRecipe('pretrain', 'nano');
  assert.deepEqual([run.kind, run.name, run.train.steps, run.model.preset], [want.kind, want.name, want.train.steps, 'nano']);
  assert.equal(readMetrics(path.join(root, 'pretrain', 'metrics.jsonl')).filter((m) => typeof m.loss === 'number').at(-1)?.step, want.train.steps);
  // the stages that train from the base start from it
  const out = path.join(root, 'runs', 'r1-nano');
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'stage1-sft', 'run', 'recipe.json'), 'utf8')).model.init, base);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'base', 'STAGE.json'), 'utf8')).info, { model: base });
});

test('without `out`, the run goes to runs/<recipe name> under the working directory', () => {
  const out = path.join(root, 'runs', 'r1-nano');
  const rep = JSON.parse(fs.readFileSync(path.join(root, 'report', 'r1-nano.json'), 'utf8'));
  assert.equal(rep.out, path.join('runs', 'r1-nano'));
  for (const s of ['base', 'r1zero', 'stage1-data', 'stage1-sft', 'stage2-rl', 'stage3-data', 'stage3-sft', 'rm', 'stage4-rl']) assert.ok(fs.existsSync(path.join(out, s, 'STAGE.json')), s);
});

test('the cold-start data holds the R1-Zero model\'s verified samples, rewritten into R1\'s format and deduplicated, before the written solutions', () => {
  const out = path.join(root, 'runs', 'r1-nano');
  const info = JSON.parse(fs.readFileSync(path.join(out, 'stage1-data', 'STAGE.json'), 'utf8')).info;
  const rows = fs.readFileSync(path.join(out, 'stage1-data', 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[]; source: string });
  const probs = coldProblems();
  assert.equal(info.sampled, 8, '4 prompts × 2 samples');
  // the fine-tuned model answers at least three of the four problems correctly and in format
  assert.ok(info.verified_correct >= 6, `verified: ${JSON.stringify(info)}`);
  assert.equal(info.filter.input, info.verified_correct);
  assert.ok(info.from_r1zero >= 3 && info.from_r1zero <= 4, `one row per problem after deduplication: ${JSON.stringify(info.filter)}`);
  assert.equal(info.filter.kept, info.from_r1zero);
  assert.equal(info.written, 4);
  assert.equal(info.rows, info.from_r1zero + 4);
  assert.equal(rows.length, info.rows);
  const fromZero = rows.slice(0, info.from_r1zero);
  for (const row of fromZero) {
    const p = probs.find((q) => q.prompt === row.messages[0]!.content);
    assert.ok(p, `the user turn is a cold-start problem as asked: ${row.messages[0]!.content}`);
    assert.deepEqual(row.messages.map((m) => m.role), ['user', 'assistant']);
    assert.equal(row.source, 'r1zero');
    // R1's format: the same reasoning in <think>, then a summary; no <answer> tags left
    const step = `${p.prompt.replace(/^Compute /, '')} = ${p.answer}`;
    assert.equal(row.messages[1]!.content, `<think>\n${step}\n</think>\n\nThe answer is ${p.answer}.`);
    assert.ok(getTask(p.family).check(p, p.answer));
  }
  assert.equal(new Set(fromZero.map((r) => r.messages[0]!.content)).size, fromZero.length, 'no problem twice');
  assert.deepEqual(info.examples, fromZero.slice(0, 3).map((r) => r.messages[1]!.content.replace(/^<think>\n/, '')));
  const written = trainProblems(FAMILIES, [1], 2, SEED, 'cold-start-written').map((p) => writtenRow(p, p.prompt));
  assert.deepEqual(rows.slice(info.from_r1zero), written.map((r) => ({ messages: r.messages, source: r.source })));
});
