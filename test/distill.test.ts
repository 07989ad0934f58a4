// `tinyseek distill` end to end at nano size: the shipped teacher (models/tinyseek-r1-mini) into a
// randomly initialized student-nano (Qwen2) that shares its tokenizer. Each mode runs a few steps and
// leaves a student that loads and generates; trace-sft trains only on verified rows; logit KD and GKD
// between different tokenizers are refused before anything runs; an interrupted run resumed equals
// the uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/model/registry.js';
import { loadModel, saveModel } from '../src/model/checkpoint.js';
import { resolveAnyConfig } from '../src/model/presets.js';
import { anyConfigFromHF, anyConfigToHF } from '../src/model/registry.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { tokenizerFiles } from '../src/train/trainer.js';
import { Generator } from '../src/infer/generator.js';
import { distill } from '../src/distill/distill.js';
import { parseDistillRecipe } from '../src/distill/config.js';
import type { DistillRecipe } from '../src/distill/config.js';
import { checkVocabularies, DistillError } from '../src/distill/vocabulary.js';
import { distillRows } from '../src/distill/teacher-data.js';
import { filterTraces } from '../src/rl/r1/rejection.js';
import type { Trace } from '../src/rl/r1/rejection.js';
import { r1Verify, parseR1 } from '../src/rl/r1/format.js';
import { trainProblems, writtenResponse } from '../src/rl/r1/data.js';
import { getTask } from '../src/tasks/index.js';
import { readMetrics } from '../src/train/metrics.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEACHER = path.join(root, 'models/tinyseek-r1-mini');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-distill-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** A random student-nano (Qwen2) saved with `tok`'s files (vocab resized to it). */
function student(dir: string, tok: Tokenizer, seed = 7): string {
  const cfg = anyConfigFromHF({ ...anyConfigToHF(resolveAnyConfig('student-nano')), vocab_size: tok.vocabSize });
  saveModel(dir, createModel(cfg, seed), { tokenizerFiles: tokenizerFiles(tok) });
  return dir;
}
const teacherTok = Tokenizer.fromDir(TEACHER);
const STUDENT = student(path.join(tmp, 'student'), teacherTok);

function recipe(mode: DistillRecipe['mode'], extra: Record<string, unknown> = {}): DistillRecipe {
  return parseDistillRecipe({
    name: `t-${mode}`, mode, seed: 3, teacher: TEACHER, student: { preset: 'student-nano', init: STUDENT },
    prompts: { families: ['add'], difficulties: [1], n: 12 },
    teacherSampling: { k: 2, temperature: 1, maxNewTokens: 96, filter: { minReadability: 1, maxTokens: 120, maxSummaryChars: 60 } },
    train: { steps: 4, batchSize: 4, seqLen: 128, lr: { peak: 0.003, warmup: 1, schedule: 'constant' }, weightDecay: 0 },
    eval: { final: false },
    checkpoint: { every: 2 },
    ...extra,
  });
}

const readJsonl = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** The final student loads as a Qwen2 model, generates, and differs from the initial student. */
async function checkStudent(finalDir: string): Promise<void> {
  const m = loadModel(finalDir);
  assert.equal(m.cfg.modelType, 'qwen2');
  const tok = Tokenizer.fromDir(finalDir);
  m.eval();
  const gen = new Generator(m, { maxBatch: 2, maxLen: 64 });
  const ids = tok.encode(tok.applyChatTemplate([{ role: 'user', content: 'What is 2 + 3?' }], { addGenerationPrompt: true }), { allowSpecial: true });
  const [r] = await gen.generateAll([{ prompt: ids, maxNewTokens: 8 }]);
  assert.ok(r!.tokens.length > 0);
  const init = loadModel(STUDENT);
  const a = new Map(init.namedTensors().map(([n, t]) => [n, t.f32()]));
  const changed = m.namedTensors().filter(([n, t]) => t.f32().some((v, i) => v !== a.get(n)![i])).length;
  assert.ok(changed > 0, 'training changed the student');
}

test('logit KD and GKD between different tokenizers are refused, saying why; text modes are allowed', async () => {
  const other = Tokenizer.train(['the quick brown fox jumps over the lazy dog 12 + 34 = 46'.repeat(20)], { vocabSize: 300 });
  const otherStudent = student(path.join(tmp, 'other-student'), other);
  for (const mode of ['logit-kd', 'gkd'] as const) {
    assert.throws(() => checkVocabularies(mode, teacherTok, other), (e: Error) => e instanceof DistillError && /distributions over different vocabularies/.test(e.message) && e.message.includes(`${teacherTok.vocabSize} tokens, the student's ${other.vocabSize}`));
    const out = path.join(tmp, `refused-${mode}`);
    await assert.rejects(distill({ recipe: { ...recipe(mode), student: { preset: 'student-nano', init: otherStudent } }, out, quiet: true }), /needs the teacher .* and the student .* to share one tokenizer/);
    assert.ok(!fs.existsSync(path.join(out, 'teacher')), 'refused before the teacher ran');
  }
  checkVocabularies('trace-sft', teacherTok, other);
  checkVocabularies('answer-sft', teacherTok, other);
  checkVocabularies('logit-kd', teacherTok, Tokenizer.fromDir(STUDENT)); // same tokenizer: allowed
  // from the command line: a one-line message and the usage exit status, no stack trace
  const file = path.join(tmp, 'refused.json');
  fs.writeFileSync(file, JSON.stringify({ ...recipe('logit-kd'), student: { preset: 'student-nano', init: otherStudent } }));
  const p = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/index.js'), 'distill', '--recipe', file, '--out', path.join(tmp, 'refused-cli'), '--quiet'], { encoding: 'utf8' });
  assert.notEqual(p.status, 0);
  assert.match(p.stderr, /^tinyseek: logit-kd needs the teacher/);
  assert.doesNotMatch(p.stderr, /\n\s+at /);
});

test('trace-sft keeps only verified-correct traces; answer-sft keeps their answers without the reasoning', () => {
  const probs = trainProblems(['add', 'mul'], [1], 2, 0, 'unit');
  const trace = (i: number, completion: string): Trace => ({ problem: probs[i]!, messages: [{ role: 'user', content: probs[i]!.prompt }], completion, tokens: 20, truncated: false, source: 'policy' });
  const good = (i: number) => writtenResponse(probs[i]!).replace(/^<think>\n/, '');
  const wrong = (i: number) => good(i).replace(/The answer is .*\./, 'The answer is 123456789.');
  const traces = [trace(0, good(0)), trace(0, wrong(0)), trace(1, good(1)), trace(2, 'no think block at all'), trace(3, good(3)), trace(3, good(3)), trace(2, wrong(2))];
  const { kept, stats } = filterTraces(traces, { minReadability: 0, maxTokens: 200, maxSummaryChars: 80 });
  assert.equal(stats.incorrect, 3);
  assert.equal(stats.duplicate, 1);
  const rows = distillRows('trace-sft', kept, probs);
  assert.equal(rows.length, 3);
  for (const r of rows) {
    const completion = r.messages.at(-1)!.content;
    const p = probs.find((x) => x.prompt === r.messages[0]!.content)!;
    assert.ok(r1Verify(p, completion).correct, completion);
    assert.ok(parseR1(completion).thinking.length > 0, 'the reasoning is kept');
  }
  const answers = distillRows('answer-sft', [...kept, ...kept], probs); // repeated answers are one row each
  assert.equal(answers.length, 3);
  for (const r of answers) {
    const c = r.messages.at(-1)!.content;
    assert.match(c, /^<think>\n\n<\/think>\n\nThe answer is .+\.$/);
    const p = probs.find((x) => x.prompt === r.messages[0]!.content)!;
    assert.ok(getTask(p.family).check(p, parseR1(c).summary.replace(/^The answer is (.*)\.$/, '$1')));
  }
  const prompts = distillRows('gkd', [], probs);
  assert.deepEqual(prompts.map((r) => r.messages[0]!.content), probs.map((p) => p.prompt));
});

test('trace-sft end to end: the teacher\'s data rows are all verified, the student loads and generates', async () => {
  const out = path.join(tmp, 'trace-sft');
  const res = await distill({ recipe: recipe('trace-sft'), out, quiet: true });
  assert.equal(res.lastStep, 4);
  const all = readJsonl(path.join(out, 'teacher', 'traces.jsonl'));
  assert.equal(all.length, 24);
  const rows = readJsonl(path.join(out, 'teacher', 'data.jsonl'));
  assert.ok(rows.length > 0 && rows.length < all.length, `${rows.length} of ${all.length} kept`);
  const probs = trainProblems(['add'], [1], 12, 3, 'distill');
  for (const r of rows) {
    const msgs = r.messages as { content: string }[];
    const p = probs.find((x) => x.prompt === msgs[0]!.content)!;
    assert.ok(r1Verify(p, msgs[1]!.content).correct);
  }
  // the dropped samples are the ones the verifier (or a filter) rejects
  assert.ok(all.some((t) => t.kept === false && !r1Verify(probs.find((x) => x.prompt === t.prompt)!, t.completion as string).correct));
  assert.equal(res.finalDir, path.join(out, 'final'));
  await checkStudent(res.finalDir);
});

test('answer-sft end to end: rows carry only the final answer', async () => {
  const out = path.join(tmp, 'answer-sft');
  const res = await distill({ recipe: recipe('answer-sft'), out, quiet: true });
  const rows = readJsonl(path.join(out, 'teacher', 'data.jsonl'));
  for (const r of rows) assert.match((r.messages as { content: string }[])[1]!.content, /^<think>\n\n<\/think>\n\nThe answer is [^\n]+\.$/);
  await checkStudent(res.finalDir);
});

test('logit-kd end to end with the teacher\'s top-k stored on disk; the loss is the KL, not the CE', async () => {
  const out = path.join(tmp, 'logit-kd');
  const res = await distill({ recipe: recipe('logit-kd', { kd: { temperature: 2, topK: 16, store: true } }), out, quiet: true });
  assert.ok(fs.existsSync(path.join(out, 'teacher-topk', 'topk.safetensors')));
  const m = readMetrics(path.join(out, 'metrics.jsonl')).filter((x) => typeof x.loss === 'number');
  assert.equal(m.length, 4);
  for (const x of m as unknown as { loss: number; ce: number; kd_loss: number; teacher_tokens: number }[]) {
    assert.ok(Number.isFinite(x.loss) && x.loss > 0 && x.loss !== x.ce, `kd loss ${x.loss}, ce ${x.ce}`);
    assert.equal(x.kd_loss, x.loss);
    assert.equal(x.teacher_tokens, 0, 'the teacher ran once, for the store, not during training');
  }
  await checkStudent(res.finalDir);
});

test('gkd end to end: the student samples, the teacher scores; resumed after an interruption equals uninterrupted', async () => {
  const r = recipe('gkd', { gkd: { beta: 0.5, temperature: 1, sampleTemperature: 1, maxNewTokens: 48 } });
  const a = path.join(tmp, 'gkd-a'), b = path.join(tmp, 'gkd-b');
  const full = await distill({ recipe: r, out: a, quiet: true });
  await checkStudent(full.finalDir);
  const cut = await distill({ recipe: r, out: b, quiet: true, stopAfter: 2 });
  assert.equal(cut.interrupted, true);
  const resumed = await distill({ recipe: r, out: b, quiet: true, resume: true });
  assert.equal(resumed.lastStep, 4);
  const ma = readMetrics(path.join(a, 'metrics.jsonl')).filter((x) => typeof x.loss === 'number');
  const mb = readMetrics(path.join(b, 'metrics.jsonl')).filter((x) => typeof x.loss === 'number');
  assert.deepEqual(mb.map((x) => [x.step, x.loss, x.ce, x.tokens]), ma.map((x) => [x.step, x.loss, x.ce, x.tokens]));
  const wa = new Map(loadModel(full.finalDir).namedTensors().map(([n, t]) => [n, t.f32()]));
  for (const [n, t] of loadModel(resumed.finalDir).namedTensors()) assert.deepEqual(t.f32(), wa.get(n), n);
  // a resume with other distillation settings is refused
  await assert.rejects(distill({ recipe: { ...r, gkd: { ...r.gkd, beta: 1 } }, out: b, quiet: true, resume: true }), /the recipe differs/);
});

test('gkd with λ < 1: the teacher samples traces for the off-policy steps; each step reports whether it was on-policy', async () => {
  const out = path.join(tmp, 'gkd-lambda');
  const res = await distill({ recipe: recipe('gkd', { gkd: { beta: 0.5, temperature: 1, sampleTemperature: 1, maxNewTokens: 48, lambda: 0.5 } }), out, quiet: true });
  const rows = readJsonl(path.join(out, 'teacher', 'data.jsonl'));
  assert.ok(rows.length > 0);
  for (const r of rows) assert.match((r.messages as { content: string }[])[1]!.content, /^<think>\n[^]+<\/think>\n\nThe answer is/, 'kept teacher traces, not bare prompts');
  const m = readMetrics(path.join(out, 'metrics.jsonl')).filter((x) => typeof x.loss === 'number') as unknown as { on_policy: number }[];
  assert.equal(m.length, 4);
  for (const x of m) assert.ok(x.on_policy === 0 || x.on_policy === 1, `on_policy ${x.on_policy}`);
  await checkStudent(res.finalDir);
});

test('every built-in distillation recipe parses and yields a valid student SFT recipe; an unknown preset lists the built-in ones', async () => {
  const { builtinDistillRecipe } = await import('../src/distill/config.js');
  const { studentRecipe } = await import('../src/distill/distill.js');
  const names = fs.readdirSync(path.join(root, 'recipes')).filter((f) => /^distill-.*\.json$/.test(f) && !f.startsWith('distill-study-')).map((f) => f.slice('distill-'.length, -5));
  for (const mode of ['trace-sft', 'answer-sft', 'logit-kd', 'gkd']) for (const size of ['nano', 'mini']) assert.ok(names.includes(`${mode}-${size}`), `recipes/distill-${mode}-${size}.json`);
  for (const n of names) {
    const r = builtinDistillRecipe(n);
    assert.ok(n.startsWith(r.mode), `${n} runs mode ${r.mode}`);
    assert.equal(studentRecipe(r, 'data.jsonl').kind, 'sft');
  }
  assert.throws(() => builtinDistillRecipe('nope'), (e: Error) => /no built-in distillation recipe for preset "nope"; available: .*trace-sft-nano/.test(e.message) && !e.message.includes('study'));
  assert.throws(() => builtinDistillRecipe('study-nano'), /recipes\/distill-study-nano\.json is a study recipe: run it with `tinyseek distill-study --preset nano`/);
  assert.throws(() => parseDistillRecipe({ ...recipe('logit-kd'), kd: { topK: 0, store: true } }), /kd\.store: .*set kd\.topK > 0/);
});
