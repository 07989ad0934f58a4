// `tinyseek distill`: a teacher into a student, by one of four modes (src/distill/config.ts), as two
// stages under <out>/:
//
//   teacher/   the training prompts; for trace-sft, answer-sft and logit-kd the teacher's k samples per
//              prompt (batched generator), R1's rejection filters → traces.jsonl (every sample, kept
//              or not) and data.jsonl (the student's rows); skipped on a rerun once teacher/STAGE.json exists
//   (trainer)  the student trained by the one trainer (src/train/trainer.ts) on data.jsonl: its own
//              SFT loss (trace-sft, answer-sft) or a distillation objective (logit-kd, gkd); metrics,
//              checkpoints and --resume are the trainer's; the student lands in <out>/final, a model
//              directory `serve`, `generate`, `chat`, `eval` and `export` load.
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../model/checkpoint.js';
import { Tokenizer } from '../tokenizer/index.js';
import { getTask } from '../tasks/index.js';
import { writeFileAtomic } from '../io/index.js';
import { builtinRecipe, parseRunRecipe } from '../train/recipe.js';
import type { Recipe } from '../train/recipe.js';
import { train } from '../train/trainer.js';
import { finished } from '../train/interrupted.js';
import type { DataParallelConfig, TrainObjective, TrainResult } from '../train/trainer.js';
import { SftDataset } from '../train/sft-data.js';
import { runStage } from '../rl/r1/pipeline.js';
import type { StageRecord } from '../rl/r1/report.js';
import { trainProblems } from '../rl/r1/data.js';
import { r1Verify } from '../rl/r1/format.js';
import type { DistillRecipe } from './config.js';
import { parseDistillRecipe } from './config.js';
import { checkVocabularies, DistillError } from './vocabulary.js';
import { distillRows, sampleTeacher } from './teacher-data.js';
import type { TeacherSamples } from './teacher-data.js';
import { gkdObjective, logitKdObjective } from './objectives.js';
import { teacherTopk } from './topk-store.js';

/** How to run. */
export interface DistillOptions {
  recipe: DistillRecipe;
  /** Run directory (default runs/<recipe name>). */
  out: string;
  resume?: boolean;
  quiet?: boolean;
  /** Stop after this step (tests: an interruption). */
  stopAfter?: number;
  /** The teacher's samples drawn once elsewhere (the study shares them between arms): no sampling here. */
  sharedTeacher?: TeacherSamples;
  /**
   * Data parallelism (`mpirun -np N tinyseek distill --dp N`): rank 0 writes the teacher's data (and
   * top-k store) while the others wait; then every rank trains on its rows of each global batch, its
   * teacher scoring (or its student sampling, for gkd) only those rows.
   */
  dp?: DataParallelConfig;
}

/** The outcome: the trainer's, and the teacher stage's record. */
export interface DistillResult extends TrainResult {
  teacherStage: StageRecord;
}

function modelDir(dir: string, what: string): void {
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new DistillError(`${what} ${dir} is not a model directory (no config.json)`);
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) throw new DistillError(`${what} ${dir} has no tokenizer.json (a model directory written by tinyseek has one)`);
}

/** The SFT recipe the trainer runs for the student. */
export function studentRecipe(r: DistillRecipe, dataFile: string): Recipe {
  return parseRunRecipe({
    kind: 'sft', name: r.name, seed: r.seed, model: { preset: r.student.preset, init: r.student.init }, data: { file: dataFile },
    train: { mtpWeight: 0, biasUpdateSpeed: 0, ...r.train }, eval: { final: false, ...r.eval }, checkpoint: r.checkpoint,
  }, `${r.name}: the student's training (recipe fields train, eval, checkpoint)`);
}

/** Checks a recipe before anything runs: model directories, task families, the student's SFT recipe, the vocabularies. */
export function checkDistill(r: DistillRecipe): { teacherTok: Tokenizer; studentTok: Tokenizer } {
  modelDir(r.teacher, 'teacher');
  modelDir(r.student.init, 'student.init');
  for (const f of r.prompts.families) {
    const t = getTask(f);
    for (const d of r.prompts.difficulties) if (!t.difficulties.includes(d)) throw new DistillError(`${r.name}: task family ${f} has no difficulty ${d} (it has ${t.difficulties.join(', ')})`);
  }
  studentRecipe(r, 'data.jsonl');
  const teacherTok = Tokenizer.fromDir(r.teacher), studentTok = Tokenizer.fromDir(r.student.init);
  checkVocabularies(r.mode, teacherTok, studentTok, { teacher: r.teacher, student: r.student.init });
  return { teacherTok, studentTok };
}

/** Runs (or resumes) a distillation. */
export async function distill(o: DistillOptions): Promise<DistillResult> {
  const r = o.recipe;
  const out = o.out;
  const say = (m: string) => { if (!o.quiet) console.error(m); };
  const rank0 = !o.dp || o.dp.comm.rank === 0;
  if (r.student.pretrain && !fs.existsSync(path.join(r.student.init, 'config.json'))) {
    if (o.dp) throw new DistillError(`no student base at ${r.student.init}: under --dp the student base must exist; pretrain it first (tinyseek pretrain --preset ${r.student.pretrain}, or run this distillation once without --dp)`);
    // the student's base, pretrained as its recipe says (resumable; the trainer writes <run>/final)
    const base = builtinRecipe('pretrain', r.student.pretrain);
    if (path.basename(r.student.init) !== 'final') throw new DistillError(`student.pretrain builds <run>/final; student.init ${r.student.init} should end in /final`);
    say(`distill: no student base at ${r.student.init}; pretraining it (recipes/pretrain-${r.student.pretrain}.json)`);
    finished(await train({ recipe: base, out: path.dirname(r.student.init), resume: true, quiet: o.quiet }), 'distill: pretraining the student base');
  }
  const { teacherTok } = checkDistill(r);
  fs.mkdirSync(out, { recursive: true });
  // The distillation settings the trainer's recipe does not hold (mode, τ, β, teacher): a resume must use the same.
  const recipeFile = path.join(out, 'distill-recipe.json');
  if (rank0 && fs.existsSync(recipeFile)) {
    const before = JSON.stringify(parseDistillRecipe(JSON.parse(fs.readFileSync(recipeFile, 'utf8')), recipeFile));
    if (before !== JSON.stringify(r)) {
      if (o.resume) throw new DistillError(`--resume: the recipe differs from the one ${out} was started with (see ${recipeFile})`);
      if (fs.existsSync(path.join(out, 'teacher', 'STAGE.json'))) throw new DistillError(`${out} holds a distillation of another recipe (${recipeFile}); choose another --out or move it away`);
    }
  }
  if (rank0) writeFileAtomic(recipeFile, JSON.stringify(r, null, 2) + '\n');

  const problems = trainProblems(r.prompts.families, r.prompts.difficulties, r.prompts.n, r.seed, 'distill');
  const tdir = path.join(out, 'teacher');
  const dataFile = path.join(tdir, 'data.jsonl');
  // Under data parallelism rank 0 alone writes the teacher's data; the others wait for it, then read it.
  const teacherStage = !rank0 ? null : await runStage(tdir, `${r.mode}: teacher data`, async () => {
    if (r.mode === 'gkd' && r.gkd.lambda === 1) {
      const rows = distillRows('gkd', [], problems);
      writeFileAtomic(dataFile, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
      return { prompts: problems.length, rows: rows.length, teacher_generated_tokens: 0 };
    }
    const s = r.teacherSampling;
    const t0 = performance.now();
    const res = o.sharedTeacher ?? await sampleTeacher(loadModel(r.teacher), teacherTok, problems, { ...s, seed: r.seed });
    const seconds = (performance.now() - t0) / 1000;
    const keptSet = new Set(res.kept);
    writeFileAtomic(path.join(tdir, 'traces.jsonl'), res.sampled.map((t) => JSON.stringify({
      family: t.problem.family, difficulty: t.problem.difficulty, prompt: t.problem.prompt, answer: t.problem.answer, completion: t.completion, tokens: t.tokens, truncated: t.truncated,
      kept: r.teacherSampling.template === 'r1zero' ? undefined : keptSet.has(t),
    })).join('\n') + '\n');
    if (res.kept.length === 0) {
      throw new DistillError(`the teacher ${r.teacher} produced no verified-correct traces (${res.sampled.length} samples: ${JSON.stringify(res.stats)}); ` +
        `${r.mode} has nothing to train on. Use a stronger teacher, easier prompts, more samples (teacherSampling.k), or a looser teacherSampling.filter; the samples are in ${path.join(tdir, 'traces.jsonl')}`);
    }
    // GKD with λ < 1 trains its off-policy steps on the kept traces (the logit-kd rows)
    const rows = distillRows(r.mode === 'gkd' ? 'logit-kd' : r.mode, res.kept, problems);
    writeFileAtomic(dataFile, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    say(`distill: teacher kept ${res.kept.length} of ${res.sampled.length} samples (${JSON.stringify(res.stats)}) in ${seconds.toFixed(1)} s; ${rows.length} rows → ${dataFile}`);
    return {
      prompts: problems.length, sampled: res.sampled.length, kept: res.kept.length, filter: res.stats, rows: rows.length,
      teacher_generated_tokens: res.generatedTokens, teacher_prompt_tokens: res.promptTokens, shared_teacher: o.sharedTeacher !== undefined, seconds, examples: res.kept.slice(0, 2).map((t) => t.completion),
    };
  }, say, [r.teacher, r.prompts, r.teacherSampling, r.mode, r.seed, ...(r.mode === 'gkd' && r.gkd.lambda < 1 ? ['traces'] : [])], 'distill');

  o.dp?.comm.barrier();
  const recipe = studentRecipe(r, dataFile);
  let objective: TrainObjective | undefined;
  if (r.mode === 'logit-kd' || r.mode === 'gkd') {
    const teacher = loadModel(r.teacher);
    if (r.mode === 'logit-kd') {
      const topk = () => teacherTopk(path.join(out, 'teacher-topk'), teacher, r.teacher, SftDataset.fromFile(dataFile, Tokenizer.fromDir(r.student.init), recipe.train.seqLen, recipe.seed), r.kd.topK, 16, say);
      // the store is written once, by rank 0; the other ranks then open it
      if (r.kd.store && o.dp && rank0) topk();
      if (r.kd.store) o.dp?.comm.barrier();
      const store = r.kd.store ? topk() : null;
      objective = logitKdObjective(teacher, { temperature: r.kd.temperature, topK: r.kd.topK, store });
    } else {
      objective = gkdObjective(teacher, Tokenizer.fromDir(r.student.init), { ...r.gkd, seed: r.seed });
    }
  }
  // The student learns R1's chat format (an R1-Zero teacher's traces are cleaned into it): its in-training
  // evaluation asks in that template and checks with R1's verifier.
  const res = await train({ recipe, out, resume: o.resume, quiet: o.quiet, stopAfter: o.stopAfter, objective, dp: o.dp, evalFormat: { template: 'default', verify: r1Verify } });
  return { ...res, teacherStage: teacherStage ?? (JSON.parse(fs.readFileSync(path.join(tdir, 'STAGE.json'), 'utf8')) as StageRecord) };
}
