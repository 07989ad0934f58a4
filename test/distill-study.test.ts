// `tinyseek distill-study` at nano size: the recipe's validation, the claims' noise logic on hand-made
// numbers, and a whole study (every arm, tiny budgets) from the shipped teacher into a random student,
// then a rerun that skips every complete arm and a --render that redraws the page from the JSON alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, anyConfigFromHF, anyConfigToHF } from '../src/model/registry.js';
import { saveModel } from '../src/model/checkpoint.js';
import { resolveAnyConfig } from '../src/model/presets.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { tokenizerFiles } from '../src/train/trainer.js';
import { builtinStudyRecipe, parseStudyRecipe, STUDY_ARMS } from '../src/distill/study-config.js';
import { efficiencyClaim, proportionClaim, teacherBar, twoProportionZ, verdict, binomialSe } from '../src/distill/study-claims.js';
import { buildStudyReport, renderStudyReport, studyMarkdown } from '../src/distill/study-report.js';
import type { ArmResult, StudyReport } from '../src/distill/study-report.js';
import { runStudy } from '../src/distill/study.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEACHER = path.join(root, 'models/tinyseek-r1-mini');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-distill-study-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const base = JSON.parse(fs.readFileSync(path.join(root, 'recipes/distill-study-nano.json'), 'utf8')) as Record<string, unknown>;

test('the built-in study recipes parse; a bad one is refused naming the field, what was expected and what was found', () => {
  for (const p of ['nano', 'mini']) assert.equal(builtinStudyRecipe(p).kind, 'distill-study');
  assert.throws(() => builtinStudyRecipe('huge'), /no built-in distillation study recipe for preset "huge"; available: .*mini.*nano/);
  const { budget: _b, ...noBudget } = base;
  assert.throws(() => parseStudyRecipe(noBudget, 'r.json'), /r\.json is invalid:\n {2}budget: /);
  assert.throws(() => parseStudyRecipe({ ...base, grpo: { ...(base.grpo as object), numGenerations: 3 } }), /grpo\.numGenerations: must divide budget\.batchSize \(8\).*found 3/);
  assert.throws(() => parseStudyRecipe({ ...base, train: { steps: 5 } }), /train\.steps: the budget sets steps for every arm/);
  assert.throws(() => parseStudyRecipe({ ...base, grpo: { ...(base.grpo as object), template: 'default' } }), /grpo\.template: the study sets template/);
  assert.throws(() => parseStudyRecipe({ ...base, traceThenGrpo: { sftSteps: 40 } }), /traceThenGrpo\.sftSteps: must be below budget\.steps \(40\).*found 40/);
  assert.throws(() => parseStudyRecipe({ ...base, kind: 'distill' }), /kind: /);
  assert.throws(() => parseStudyRecipe({ ...base, grpo: { ...(base.grpo as object), maxCompletionLength: 160 } }), /grpo\.maxCompletionLength: a GRPO sequence .* must fit budget\.seqLen \(160\); found 160/);
});

test('two-proportion z, verdicts and the teacher bar on hand-made numbers', () => {
  // 60 % vs 40 % on 100 problems each: pooled p = 0.5, se = √(0.25 · 0.02) = 0.0707, z = 2.828
  assert.ok(Math.abs(twoProportionZ({ p: 0.6, n: 100 }, { p: 0.4, n: 100 }) - 0.2 / Math.sqrt(0.005)) < 1e-12);
  assert.equal(verdict(2.83), 'holds');
  assert.equal(verdict(-2.83), 'reversed');
  assert.equal(verdict(1.99), 'within noise');
  assert.equal(verdict(-1.5), 'within noise');
  // 55 % vs 50 % on 50 problems: z = 0.05 / √(0.525 · 0.475 · 0.04) = 0.50 → noise
  const a = proportionClaim('a', 's', 'x vs y', { p: 0.55, n: 50 }, { p: 0.5, n: 50 });
  assert.ok(Math.abs(a.z - 0.05 / Math.sqrt(0.525 * 0.475 * 0.04)) < 1e-12);
  assert.equal(a.verdict, 'within noise');
  assert.ok(Math.abs(a.difference - 0.05) < 1e-12);
  assert.equal(proportionClaim('b', 's', 'x', { p: 0.2, n: 100 }, { p: 0.5, n: 100 }).verdict, 'reversed');
  assert.equal(twoProportionZ({ p: 1, n: 10 }, { p: 1, n: 10 }), 0);
  assert.throws(() => binomialSe(0.5, 0), /positive count of problems, found 0/);
  // (c): logits gain 0.3 over base 0.2 with 1000 teacher tokens, text gains 0.1 with 100:
  // efficiencies 3e-4 vs 1e-3; se_l = √(.5·.5/100 + .2·.8/100)/1000, se_t = √(.3·.7/100 + .2·.8/100)/100
  const c = efficiencyClaim('s', 'x', { p: 0.5, n: 100, teacherTokens: 1000 }, { p: 0.3, n: 100, teacherTokens: 100 }, { p: 0.2, n: 100 });
  const seL = Math.sqrt(0.25 / 100 + 0.16 / 100) / 1000, seT = Math.sqrt(0.21 / 100 + 0.16 / 100) / 100;
  assert.ok(Math.abs(c.left - 3e-4) < 1e-12 && Math.abs(c.right - 1e-3) < 1e-12);
  assert.ok(Math.abs(c.z - (3e-4 - 1e-3) / Math.sqrt(seL ** 2 + seT ** 2)) < 1e-9);
  assert.equal(c.verdict, 'within noise'); // z ≈ −1.13
  // both arms below the base: a loss per teacher token ranks nothing, whatever z says
  const loss = efficiencyClaim('s', 'x', { p: 0.14, n: 357, teacherTokens: 2.7e6 }, { p: 0.13, n: 357, teacherTokens: 2.6e5 }, { p: 0.24, n: 357 });
  assert.ok(Math.abs(loss.z) > 2);
  assert.equal(loss.verdict, 'no gain');
  assert.equal(efficiencyClaim('s', 'x', { p: 0.3, n: 357, teacherTokens: 1e3 }, { p: 0.2, n: 357, teacherTokens: 1e3 }, { p: 0.24, n: 357 }).verdict === 'no gain', false, 'one arm gains: ranked as usual');
  assert.throws(() => efficiencyClaim('s', 'x', { p: 0.5, n: 10, teacherTokens: 0 }, { p: 0.3, n: 10, teacherTokens: 5 }, { p: 0.2, n: 10 }), /logits arm has no teacher tokens/);
  const bar = teacherBar({ p: 0.5, n: 100 }, { p: 0.3, n: 100 }, 15);
  assert.ok(bar.holds && Math.abs(bar.points - 20) < 1e-9);
  assert.equal(teacherBar({ p: 0.4, n: 100 }, { p: 0.3, n: 100 }, 15).holds, false);
});

test('the report page states each claim and the bar from the JSON', () => {
  const r = parseStudyRecipe(base);
  const arm = (a: ArmResult['arm'], p: number, tg = 0, tf = 0): ArmResult => ({
    arm: a, student_steps: 0, student_tokens: 0, teacher_generated_tokens: tg, teacher_forward_tokens: tf, train_minutes: 0, minutes: 0, skipped: false,
    eval: { families: ['add', 'sub'].map((family) => ({ family, problems: 25, pass1: p, lenient_pass1: p, cons: p, lenient_cons: p, greedy: p, well_formed: 1, readability: 1, readable_rate: 1, mean_thinking_tokens: 10 })),
      mean: { pass1: p, lenient_pass1: p, cons: p, lenient_cons: p, greedy: p, well_formed: 1, readability: 1, readable_rate: 1, mean_thinking_tokens: 10 } },
  });
  const rep: StudyReport = buildStudyReport({
    preset: 'nano', name: 'n', out: 'runs/x', recipe: r, teacher_samples: { sampled: 8, kept: 4, teacher_generated_tokens: 500 }, problems_per_family: 25, total_minutes: 1,
    arms: [arm('base', 0.1), arm('grpo', 0.12), arm('trace-sft', 0.5, 500), arm('answer-sft', 0.45, 500), arm('logit-kd', 0.55, 500, 5000), arm('gkd', 0.3, 0, 4000), arm('trace-grpo', 0.5, 500), arm('teacher', 0.2)],
  });
  assert.deepEqual(rep.claims.map((c) => c.verdict), ['holds', 'within noise', 'reversed']);
  assert.equal(rep.bar.holds, false);
  const md = studyMarkdown(rep);
  assert.match(md, /\(a\) distillation beats RL.*the claim holds/);
  assert.match(md, /\(b\) answer-only text.*within noise \(\|z\| < 2 on 50 problems\)/);
  assert.match(md, /\(c\) logits teach more.*contradicted/);
  assert.match(md, /The bar does not hold/);
  for (const a of STUDY_ARMS) assert.match(md, new RegExp(`\\| ${a} \\|`));
});

test('a nano study runs every arm, reports them, and a rerun skips every complete arm', { timeout: 600_000 }, async () => {
  const tok = Tokenizer.fromDir(TEACHER);
  const student = path.join(tmp, 'student');
  saveModel(student, createModel(anyConfigFromHF({ ...anyConfigToHF(resolveAnyConfig('student-nano')), vocab_size: tok.vocabSize }), 7), { tokenizerFiles: tokenizerFiles(tok) });
  const r = parseStudyRecipe({
    ...base, name: 't-study', teacher: TEACHER, student: { preset: 'student-nano', init: student },
    prompts: { families: ['add'], difficulties: [1], n: 8 },
    teacherSampling: { k: 2, temperature: 1, maxNewTokens: 96, filter: { minReadability: 1, maxTokens: 120, maxSummaryChars: 60 } },
    gkd: { beta: 0.5, maxNewTokens: 24 },
    budget: { steps: 4, batchSize: 4, seqLen: 128 },
    train: { lr: { peak: 0.003, warmup: 1, schedule: 'constant' }, weightDecay: 0 },
    grpo: { numGenerations: 2, maxCompletionLength: 24, lr: 0.0005, beta: 0, microBatch: 4 },
    traceThenGrpo: { sftSteps: 2 },
    curveEvery: 2,
    eval: { n: 3, k: 2, maxNewTokens: 32, seed: 0 },
  });
  const out = path.join(tmp, 'run'), reportDir = path.join(tmp, 'results');
  const md = await runStudy({ recipe: r, out, reportDir, quiet: true });
  assert.equal(md, path.join(reportDir, 'distill-nano.md'));
  const rep = JSON.parse(fs.readFileSync(path.join(reportDir, 'distill-nano.json'), 'utf8')) as StudyReport;
  assert.deepEqual(rep.arms.map((a) => a.arm), [...STUDY_ARMS]);
  const by = Object.fromEntries(rep.arms.map((a) => [a.arm, a]));
  for (const a of ['grpo', 'trace-sft', 'answer-sft', 'logit-kd', 'gkd', 'trace-grpo'] as const) {
    assert.equal(by[a]!.student_tokens, 4 * 4 * 128, `${a}: the same student budget`);
    assert.equal(by[a]!.student_steps, 4);
  }
  assert.equal(by.base!.student_tokens, 0);
  // one teacher sampling, shared: the same generated-token count in every arm that trains on it, none in GRPO/GKD
  const gen = rep.teacher_samples.teacher_generated_tokens as number;
  assert.ok(gen > 0);
  for (const a of ['trace-sft', 'answer-sft', 'logit-kd', 'trace-grpo'] as const) assert.equal(by[a]!.teacher_generated_tokens, gen);
  assert.equal(by.gkd!.teacher_generated_tokens, 0);
  assert.equal(by.grpo!.teacher_forward_tokens, 0);
  assert.ok(by['logit-kd']!.teacher_forward_tokens > 0 && by.gkd!.teacher_forward_tokens > 0);
  assert.equal(by['trace-sft']!.teacher_forward_tokens, 0);
  // the arms that trained on it did not sample the teacher again
  for (const a of ['trace-sft', 'answer-sft', 'logit-kd']) {
    const st = JSON.parse(fs.readFileSync(path.join(out, 'arms', a, 'run', 'teacher', 'STAGE.json'), 'utf8')) as { info: { shared_teacher: boolean } };
    assert.equal(st.info.shared_teacher, true);
  }
  for (const a of ['trace-sft', 'logit-kd', 'gkd'] as const) assert.deepEqual(by[a]!.curve!.map((c) => c.tokens), [0, 2 * 4 * 128, 4 * 4 * 128]);
  assert.equal(by['answer-sft']!.curve, undefined);
  for (const a of rep.arms) {
    assert.equal(a.eval.families.length, 1);
    assert.equal(a.eval.families[0]!.problems, 3);
    assert.ok(a.eval.mean.pass1 >= 0 && a.eval.mean.pass1 <= 1);
    assert.equal(a.skipped, false);
  }
  assert.equal(rep.claims.length, 3);
  const text = fs.readFileSync(md, 'utf8');
  for (const a of STUDY_ARMS) assert.match(text, new RegExp(`\\| ${a} \\|`));
  assert.match(text, /The bar (holds|does not hold)/);
  assert.ok(fs.readFileSync(path.join(reportDir, 'distill-nano-curve.svg'), 'utf8').startsWith('<svg'));

  // rerun: every arm is complete and skipped; the measurements are the same
  const logs: string[] = [];
  const err = console.error;
  console.error = (m: string) => { logs.push(String(m)); };
  try {
    await runStudy({ recipe: r, out, reportDir });
  } finally {
    console.error = err;
  }
  const rep2 = JSON.parse(fs.readFileSync(path.join(reportDir, 'distill-nano.json'), 'utf8')) as StudyReport;
  assert.ok(rep2.arms.every((a) => a.skipped), 'every arm skipped on the rerun');
  for (const a of STUDY_ARMS) assert.ok(logs.some((l) => l.includes(`${a}: complete in`) && l.includes('skipping')), `${a} said it skipped`);
  assert.ok(logs.some((l) => l.includes('teacher-samples: complete in')));
  assert.deepEqual(rep2.arms.map((a) => a.eval), rep.arms.map((a) => a.eval));

  // --render: the page again from the JSON alone
  fs.rmSync(md);
  await renderStudyReport(reportDir, 'nano');
  assert.equal(fs.readFileSync(md, 'utf8'), studyMarkdown(rep2));
  await assert.rejects(() => renderStudyReport(reportDir, 'mini'), /no study results at .*distill-mini\.json to render/);
});
