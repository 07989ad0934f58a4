// `tinyseek distill-study`: what a small student learns from a teacher, arm by arm, under one student
// compute budget (src/distill/study-config.ts). Each arm is a stage under <out>/ (runStage: skipped on a
// rerun once its STAGE.json exists; an interrupted arm resumes from its own checkpoints):
//
//   teacher-samples  the teacher's k samples per training prompt, filtered, drawn ONCE and shared by
//                    trace-sft, answer-sft, logit-kd and trace-grpo → samples.json
//   arms/<arm>       train (distill() or grpo()) → evaluate held out (src/rl/r1/evaluate.ts, families part);
//                    GRPO on the student uses the R1-Zero template and rule rewards (as `tinyseek r1-zero`),
//                    trace SFT → GRPO the R1 template and R1's verifier/format rewards (as R1's stage 2)
//
// then the report docs/results/distill-<preset>.{json,md} (src/distill/study-report.ts), written once every
// arm is complete (a rerun with every arm complete skips them all and rewrites it from their records).
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../model/checkpoint.js';
import { Tokenizer } from '../tokenizer/index.js';
import { Generator } from '../infer/generator.js';
import { writeFileAtomic } from '../io/index.js';
import { builtinRecipe } from '../train/recipe.js';
import { train } from '../train/trainer.js';
import { finished } from '../train/interrupted.js';
import { readMetrics } from '../train/metrics.js';
import { parseGrpoRecipe } from '../rl/config.js';
import type { GrpoRecipe } from '../rl/config.js';
import { grpo } from '../rl/grpo.js';
import { runStage } from '../rl/r1/pipeline.js';
import { r1RewardFunctions } from '../rl/r1/rewards.js';
import type { StageRecord } from '../rl/r1/report.js';
import { trainProblems } from '../rl/r1/data.js';
import type { Trace } from '../rl/r1/rejection.js';
import { evaluateFamilies } from '../rl/r1/evaluate.js';
import type { R1Eval } from '../rl/r1/evaluate.js';
import { parseDistillRecipe } from './config.js';
import type { DistillMode, DistillRecipe } from './config.js';
import { distill, checkDistill } from './distill.js';
import { sampleTeacher } from './teacher-data.js';
import type { TeacherSamples } from './teacher-data.js';
import { DistillError } from './vocabulary.js';
import type { StudyArm, StudyRecipe } from './study-config.js';
import { ARM_FORMAT, STUDY_ARMS } from './study-config.js';
import type { EvalFormat } from './study-config.js';
import { buildStudyReport, writeStudyReport } from './study-report.js';
import type { ArmResult, StudyReport } from './study-report.js';

/** How to run a study. */
export interface StudyOptions {
  recipe: StudyRecipe;
  /** Run folder (default runs/<recipe name>). */
  out: string;
  /** Where the report goes (docs/results). */
  reportDir: string;
  quiet?: boolean;
}

/** The per-arm distillation recipe: the study's teacher, student, prompts and budget. */
export function armDistillRecipe(r: StudyRecipe, mode: DistillMode, steps: number, curve: boolean): DistillRecipe {
  return parseDistillRecipe({
    kind: 'distill', name: `${r.name}-${mode}`, mode, seed: r.seed, teacher: r.teacher, student: r.student, prompts: r.prompts,
    teacherSampling: r.teacherSampling, kd: r.kd, gkd: r.gkd,
    train: { ...r.train, steps, batchSize: r.budget.batchSize, seqLen: r.budget.seqLen },
    eval: curve
      ? { every: r.curveEvery, final: false, n: r.eval.n, families: r.prompts.families, difficulties: r.prompts.difficulties, maxNewTokens: r.eval.maxNewTokens }
      : { every: 0, final: false },
    checkpoint: { every: Math.max(1, Math.ceil(steps / 2)) },
  }, `${r.name}: arm ${mode}`);
}

/** The GRPO recipe of arm 2 (from the base, R1-Zero template) or arm 7's RL half (from its SFT model). */
export function armGrpoRecipe(r: StudyRecipe, name: string, init: string, steps: number, template: 'r1zero' | 'default'): GrpoRecipe {
  return parseGrpoRecipe({
    ...r.grpo, name: `${r.name}-${name}`, seed: r.seed, init, template, steps,
    promptsPerStep: r.budget.batchSize / r.grpo.numGenerations,
    tasks: { families: r.prompts.families, difficulties: r.prompts.difficulties },
    eval: { every: 0 }, checkpoint: { every: Math.max(1, Math.ceil(steps / 2)) },
  }, `${r.name}: arm ${name} (recipe field grpo)`);
}

/** Checks everything an arm will need before the first one runs. */
export function checkStudy(r: StudyRecipe): void {
  for (const m of ['trace-sft', 'answer-sft', 'logit-kd', 'gkd'] as const) armDistillRecipe(r, m, r.budget.steps, false);
  armGrpoRecipe(r, 'grpo', r.student.init, r.budget.steps, 'r1zero');
  armGrpoRecipe(r, 'trace-grpo', r.student.init, r.budget.steps - r.traceThenGrpo.sftSteps, 'default');
}

/** Sum of a per-step metric over a run's metrics.jsonl (0 when absent). */
function metricSum(run: string, key: string): number {
  const f = path.join(run, 'metrics.jsonl');
  if (!fs.existsSync(f)) return 0;
  return readMetrics(f).reduce((a, m) => a + (typeof m[key] === 'number' ? (m[key] as number) : 0), 0);
}

/** Held-out greedy accuracy by step, from the trainer's periodic eval in metrics.jsonl. */
function evalCurve(run: string): { step: number; greedy: number }[] {
  const f = path.join(run, 'metrics.jsonl');
  if (!fs.existsSync(f)) return [];
  return readMetrics(f).filter((m) => typeof m.eval_greedy_mean === 'number').map((m) => ({ step: m.step, greedy: m.eval_greedy_mean as number }));
}

/** The shared teacher samples, as written by the teacher-samples stage. */
function loadSamples(file: string): TeacherSamples {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { sampled: Trace[]; kept: number[]; stats: TeacherSamples['stats']; generatedTokens: number; promptTokens: number };
  return { sampled: j.sampled, kept: j.kept.map((i) => j.sampled[i]!), stats: j.stats, generatedTokens: j.generatedTokens, promptTokens: j.promptTokens };
}

/** Runs (or resumes) the study and writes the report; returns the report's .md path. */
export async function runStudy(o: StudyOptions): Promise<string> {
  const r = o.recipe;
  const out = o.out;
  const say = (m: string) => { if (!o.quiet) console.error(m); };
  checkStudy(r);
  if (r.student.pretrain && !fs.existsSync(path.join(r.student.init, 'config.json'))) {
    if (path.basename(r.student.init) !== 'final') throw new DistillError(`student.pretrain builds <run>/final; student.init ${r.student.init} should end in /final`);
    say(`distill-study: no student base at ${r.student.init}; pretraining it (recipes/pretrain-${r.student.pretrain}.json)`);
    finished(await train({ recipe: builtinRecipe('pretrain', r.student.pretrain), out: path.dirname(r.student.init), resume: true, quiet: o.quiet }), 'distill-study: pretraining the student base');
  }
  for (const m of ['logit-kd', 'gkd'] as const) checkDistill(armDistillRecipe(r, m, r.budget.steps, false));
  fs.mkdirSync(out, { recursive: true });
  const tAll = performance.now();
  const budgetTokens = (steps: number) => steps * r.budget.batchSize * r.budget.seqLen;
  const evalDir = async (dir: string, format: EvalFormat): Promise<Pick<R1Eval, 'families' | 'mean'>> => {
    const model = loadModel(dir);
    model.eval();
    const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
    return evaluateFamilies(gen, Tokenizer.fromDir(dir), { families: r.prompts.families, difficulties: r.prompts.difficulties, ...r.eval, format });
  };

  // ---- the teacher's samples, drawn once
  const sdir = path.join(out, 'teacher-samples');
  const samplesFile = path.join(sdir, 'samples.json');
  const sampleStage = await runStage(sdir, 'teacher-samples', async () => {
    const problems = trainProblems(r.prompts.families, r.prompts.difficulties, r.prompts.n, r.seed, 'distill');
    const t0 = performance.now();
    const res = await sampleTeacher(loadModel(r.teacher), Tokenizer.fromDir(r.teacher), problems, { ...r.teacherSampling, seed: r.seed });
    const seconds = (performance.now() - t0) / 1000;
    const index = new Map(res.sampled.map((t, i) => [t, i]));
    writeFileAtomic(samplesFile, JSON.stringify({ sampled: res.sampled, kept: res.kept.map((t) => index.get(t) ?? -1), stats: res.stats, generatedTokens: res.generatedTokens, promptTokens: res.promptTokens }) + '\n');
    if (res.kept.some((t) => !index.has(t))) throw new Error('teacher-samples: a kept trace is not one of the sampled ones (an R1-Zero teacher\'s cleaned traces cannot be shared; use template "default")');
    return { prompts: problems.length, sampled: res.sampled.length, kept: res.kept.length, filter: res.stats, teacher_generated_tokens: res.generatedTokens, teacher_prompt_tokens: res.promptTokens, seconds };
  }, say, [r.teacher, r.prompts, r.teacherSampling, r.seed], 'distill-study');
  const shared = loadSamples(samplesFile);
  const sharedGenerated = sampleStage.info.teacher_generated_tokens as number;

  const stages: Partial<Record<StudyArm, StageRecord>> = {};
  const report = async (): Promise<string> => {
    const arms: ArmResult[] = STUDY_ARMS.filter((a) => stages[a]).map((a) => {
      const s = stages[a]!;
      const i = s.info;
      return {
        arm: a, eval: i.eval as ArmResult['eval'], student_tokens: i.student_tokens as number, student_steps: i.student_steps as number,
        teacher_generated_tokens: i.teacher_generated_tokens as number, teacher_forward_tokens: i.teacher_forward_tokens as number,
        train_minutes: i.train_minutes as number, minutes: s.seconds / 60, curve: i.curve as ArmResult['curve'], skipped: s.skipped === true,
        eval_format: (i.eval_format as EvalFormat | undefined) ?? 'r1',
      };
    });
    const rep: StudyReport = buildStudyReport({
      preset: r.preset, name: r.name, out, recipe: r, arms, teacher_samples: sampleStage.info,
      problems_per_family: r.eval.n * r.prompts.difficulties.length, total_minutes: (performance.now() - tAll) / 60000,
    });
    return writeStudyReport(rep, o.reportDir);
  };
  // Each arm is evaluated in the output format it was trained for (ARM_FORMAT): the GRPO arm learns
  // R1-Zero's, every other arm R1's chat format.
  const arm = async (a: StudyArm, fn: () => Promise<Record<string, unknown>>, settings: unknown): Promise<void> => {
    const format = ARM_FORMAT[a];
    stages[a] = await runStage(path.join(out, 'arms', a), a, async () => {
      const t0 = performance.now();
      const info = await fn();
      const trainMinutes = (performance.now() - t0) / 60000;
      return { ...info, train_minutes: trainMinutes, eval_format: format, eval: await evalDir(info.model as string, format) };
    }, say, [settings, r.eval, ...(format === 'r1' ? [] : [format])], 'distill-study');
  };
  // The curves are in R1's chat format (the students'), so their step 0 is the base's greedy accuracy in that format.
  const greedyAt0 = () => ((stages.base?.info.r1_greedy as number | undefined) ?? NaN);
  const distillArm = async (mode: DistillMode, curve: boolean, steps = r.budget.steps, dir = path.join(out, 'arms', mode, 'run')) => {
    const dr = armDistillRecipe(r, mode, steps, curve);
    const usesSamples = mode !== 'gkd';
    const res = finished(await distill({ recipe: dr, out: dir, resume: true, quiet: o.quiet, sharedTeacher: usesSamples ? shared : undefined }), `distill-study: ${mode}`);
    return {
      model: res.finalDir, student_steps: res.lastStep, student_tokens: budgetTokens(res.lastStep),
      teacher_generated_tokens: usesSamples ? sharedGenerated : 0, teacher_forward_tokens: metricSum(dir, 'teacher_tokens'),
      curve: curve ? [{ step: 0, tokens: 0, greedy: greedyAt0() }, ...evalCurve(dir).map((c) => ({ ...c, tokens: budgetTokens(c.step) }))] : undefined,
    };
  };

  await arm('base', async () => ({ model: r.student.init, student_steps: 0, student_tokens: 0, teacher_generated_tokens: 0, teacher_forward_tokens: 0, r1_greedy: (await evalDir(r.student.init, 'r1')).mean.greedy }), r.student);
  await arm('grpo', async () => {
    const dir = path.join(out, 'arms', 'grpo', 'run');
    const res = finished(await grpo({ recipe: armGrpoRecipe(r, 'grpo', r.student.init, r.budget.steps, 'r1zero'), out: dir, resume: true, quiet: o.quiet }), 'distill-study: grpo');
    return { model: res.finalDir, student_steps: res.lastStep, student_tokens: budgetTokens(res.lastStep), teacher_generated_tokens: 0, teacher_forward_tokens: 0 };
  }, [r.grpo, r.budget]);
  await arm('trace-sft', () => distillArm('trace-sft', true), [r.budget, r.train, r.curveEvery]);
  await arm('answer-sft', () => distillArm('answer-sft', false), [r.budget, r.train]);
  await arm('logit-kd', () => distillArm('logit-kd', true), [r.budget, r.train, r.kd, r.curveEvery]);
  await arm('gkd', () => distillArm('gkd', true), [r.budget, r.train, r.gkd, r.curveEvery]);
  await arm('trace-grpo', async () => {
    const sft = await distillArm('trace-sft', false, r.traceThenGrpo.sftSteps, path.join(out, 'arms', 'trace-grpo', 'sft'));
    const rlSteps = r.budget.steps - r.traceThenGrpo.sftSteps;
    const dir = path.join(out, 'arms', 'trace-grpo', 'rl');
    // The SFT model answers in R1's format (reasoning, </think>, summary), so its RL is rewarded as R1's stage 2 is
    // (accuracy by the R1 verifier, R1 format), with the recipe's accuracy and format weights.
    const g = armGrpoRecipe(r, 'trace-grpo', sft.model, rlSteps, 'default');
    const rewardFns = r1RewardFunctions({ accuracy: g.rewards.accuracy, format: g.rewards.format, readability: 0, preference: 0 }, null);
    const res = finished(await grpo({ recipe: g, out: dir, resume: true, quiet: o.quiet, rewardFns }), 'distill-study: trace-grpo');
    return { model: res.finalDir, student_steps: sft.student_steps + res.lastStep, student_tokens: sft.student_tokens + budgetTokens(res.lastStep), teacher_generated_tokens: sft.teacher_generated_tokens, teacher_forward_tokens: 0 };
  }, [r.budget, r.train, r.grpo, r.traceThenGrpo]);
  await arm('teacher', async () => ({ model: r.teacher, student_steps: 0, student_tokens: 0, teacher_generated_tokens: 0, teacher_forward_tokens: 0 }), r.teacher);
  return report();
}
