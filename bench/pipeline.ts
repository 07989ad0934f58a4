// `tinyseek bench pipeline`: the four pipeline schedules (1F1B, ZB1P, DualPipe, DualPipeV) over real
// Open MPI, measured against `tinyseek bubble`'s formula and simulation for the same op durations.
//
//   1. op times   F, B (full), W (deferred weight gradient), B_input and F&B of one stage, measured
//                 in a real single-process run: DualPipeV with 2 stages on 1 rank runs all five kinds
//                 of op with no second process competing for the cores (medians over steps 2…,
//                 averaged over its two stages), and the bytes one chunk's forward keeps alive.
//   2. real       tokens/s and timelines of 2-rank runs (1F1B, ZB1P, DualPipe at PP 2, DualPipeV at
//                 PP 4 on 2 ranks) with real compute, against the single-process trainer on the same
//                 model and global batch (ratio = pipeline / single process).
//   3. replay     PP 2, 4, 8 with the executor's replay mode: every op a sleep of its measured
//                 duration, the real MPI messages; ranks may outnumber the cores because a sleeping
//                 rank needs none, so the schedule decides the timeline.
// For each run: measured bubble = idle / step time per rank (idle = step time − (op spans − the waits
// inside them)), mean and max over ranks; the simulated bubble (analysis/bubble.ts, same durations)
// as makespan − busy per rank over the simulated makespan; the formula's bubble over the simulated
// makespan; peak activations (chunks and bytes) and parameter bytes per rank.
// `--out DIR` writes DIR/pipeline.{md,json} and DIR/pipeline-traces/*.json (Chrome trace events).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../src/cli/commands/bench.js';
import type { RankResult } from './_pipeline-rank.js';
import { recipeConfig } from '../src/train/trainer.js';
import { parseRunRecipe } from '../src/train/recipe.js';
import { DeepseekV3 } from '../src/model/model.js';
import { deepseekConfig } from '../src/model/registry.js';
import type { ModelConfig } from '../src/model/config.js';
import { loadRecipe, writeCorpus, readCorpus } from '../src/data/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { mpiUnavailableReason } from '../src/parallel/mpi.js';
import { buildSchedule, METHOD_NAMES, PIPELINE_METHODS } from '../src/parallel/schedule.js';
import type { PipelineMethod, PipelineSchedule } from '../src/parallel/schedule.js';
import { StageLayout } from '../src/parallel/stages.js';
import { toTraceEvents, timelineBubble } from '../src/parallel/trace.js';
import type { TimelineEvent } from '../src/parallel/pipeline.js';
import { simulate, bubbleFormula, formulaColumns, opDuration } from '../src/analysis/bubble.js';
import type { OpTimes } from '../src/analysis/bubble.js';
import { writeFileAtomic } from '../src/io/index.js';
import { median, report } from './_util.js';

export const description = 'pipeline schedules over Open MPI: measured bubble vs formula and simulation (real PP 2, replayed PP 4/8), memory, tokens/s vs 1 process';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const rankProgram = path.join(here, '_pipeline-rank.js');
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', TINYSEEK_NUM_THREADS: '1' };

/** Ranks a schedule runs on. */
const ranksOf = (method: PipelineMethod, pp: number) => (method === 'dualpipev' ? pp / 2 : pp);

/** Starts one job (`ranks` 0 = a single process without mpirun) and reads every rank's result. */
export function runJob(job: Record<string, unknown> & { result: string }, ranks: number, timeoutMs = 900_000): { results: RankResult[]; command: string[] } {
  const args = [rankProgram, JSON.stringify(job)];
  const [cmd, argv] = ranks === 0 ? [process.execPath, args] : ['mpirun', ['--oversubscribe', '-np', String(ranks), process.execPath, ...args]];
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`bench pipeline: ${cmd} ${argv.slice(0, 4).join(' ')} … failed (status ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${r.stderr}`);
  const results = Array.from({ length: Math.max(1, ranks) }, (_, k) => JSON.parse(fs.readFileSync(`${job.result}.rank${k}.json`, 'utf8')) as RankResult);
  return { results, command: [cmd, ...argv] };
}

/**
 * Per-kind op durations of a set of rank timelines: the median of each (kind, stage), averaged over
 * the stages. `stages[phase]` = the stage the rank runs for that phase (an F&B counts for its
 * forward's stage).
 */
export function opTimes(ranks: { timeline: TimelineEvent[]; stages: number[] }[]): OpTimes & { B_input: number; perStage: Record<string, [number, number]> } {
  const by = new Map<string, number[]>();
  for (const { timeline: tl, stages } of ranks) {
    const waits = tl.filter((e) => e.name === 'wait');
    for (const e of tl) {
      if (e.name === 'wait') continue;
      // an op's span includes the waits of its receives: take them out
      const inner = waits.filter((w) => w.start >= e.start && w.end <= e.end).reduce((a, w) => a + w.end - w.start, 0);
      const k = `${e.name}:${stages[e.phase]}`;
      if (!by.has(k)) by.set(k, []);
      by.get(k)!.push(e.end - e.start - inner);
    }
  }
  const kind = (name: string): number => {
    const ms = [...by.keys()].filter((k) => k.startsWith(`${name}:`)).map((k) => median(by.get(k)!));
    if (!ms.length) throw new Error(`bench pipeline: no ${name} op in the measured timelines`);
    return ms.reduce((a, b) => a + b, 0) / ms.length;
  };
  const perStage: Record<string, [number, number]> = {};
  for (const k of [...by.keys()].sort()) perStage[k] = [median(by.get(k)!), by.get(k)!.length];
  const B = kind('B'), W = Math.min(kind('W'), B); // W ≤ B (the simulator's B = B_input + W); noise could break it
  return { F: kind('F'), B, W, FB: kind('FB'), B_input: kind('B(input)'), perStage };
}

/** Parameter bytes (float32) held by each rank of a schedule for a model config. */
function paramBytesPerRank(cfg: ModelConfig, s: PipelineSchedule): number[] {
  const layout = new StageLayout(cfg, s);
  const named = new DeepseekV3(cfg, 0).namedParameters();
  const out = new Array<number>(s.ranks).fill(0);
  for (const [n, p] of named) for (const r of layout.holders(n)) out[r] += 4 * p.numel;
  return out;
}

interface Row {
  mode: 'real' | 'replay';
  method: PipelineMethod;
  schedule: string;
  pp: number;
  ranks: number;
  chunks: number;
  /** Measured over ranks: idle / step time. */
  bubble_mean: number;
  bubble_max: number;
  /** Measured against the step's makespan over all ranks (the simulation's definition): max and mean over ranks of (makespan − busy) / makespan. */
  bubble_makespan_max: number;
  bubble_makespan_mean: number;
  /** Measured, max over ranks of makespan − busy, ms. */
  idle_ms_max: number;
  makespan_ms: number;
  /** Measured busy time / Σ of the op times over the rank's ops (1 = the ops took the measured times), mean over ranks. */
  busy_vs_op_times: number;
  /** Simulated (same op times): max and mean over ranks of (makespan − busy) / makespan, and the max in ms. */
  sim_bubble_max: number;
  sim_bubble_mean: number;
  sim_idle_ms_max: number;
  sim_makespan_ms: number;
  formula: string;
  formula_ms: number;
  /** formula_ms / simulated makespan. */
  formula_frac: number;
  peak_chunks: number;
  sim_peak_chunks: number;
  formula_peak_chunks: number;
  peak_activation_mb: number;
  /** Stages each rank holds (parameter memory per rank in units of one stage's). */
  stages_per_rank: number;
  /** Copies of the whole model over all ranks (DualPipe 2, the others 1). */
  model_copies: number;
  param_mb_per_rank_max: number;
  param_mb_per_rank_mean: number;
  param_mb_total: number;
  tokens_per_s?: number;
  ratio_vs_single?: number;
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const why = mpiUnavailableReason() ?? (spawnSync('mpirun', ['--version']).status === 0 ? null : 'mpirun is not installed');
  if (why) throw new Error(`bench pipeline needs Open MPI: ${why}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-bench-pipeline-'));
  const load0 = os.loadavg();
  try {
    writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 3, tokens: 20000 });
    Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 400 }).save(path.join(dir, 'tok'));
    const B = 16, T = 32, LAYERS = 4;
    const steps = Math.max(4, Math.round(2 * opts.seconds)); // step 1 is warm-up
    const replaySteps = 2 * steps; // replay steps are cheap (sleeps): more of them against the machine's noise
    const recipe = (n: number) => ({
      kind: 'pretrain', name: 'bench-pipeline', seed: 3,
      model: { preset: 'nano', overrides: { num_hidden_layers: LAYERS } },
      tokenizer: { path: path.join(dir, 'tok') },
      data: { file: path.join(dir, 'corpus.jsonl') },
      train: { steps: n, batchSize: B, seqLen: T, clip: 0.5, lr: { peak: 0.002, warmup: 2 }, mtpWeight: 0.3, biasUpdateSpeed: 0.001 },
      eval: { every: 0, final: false },
      checkpoint: { every: 0 },
    });
    const modelOf = (layers: number): ModelConfig => {
      const rc = recipe(1);
      return deepseekConfig(recipeConfig(parseRunRecipe({ ...rc, model: { ...rc.model, overrides: { num_hidden_layers: layers } } }), 400));
    };
    const cfg = modelOf(LAYERS);
    const D = cfg.hiddenSize;
    let job = 0;
    const train = (pp: number, method: PipelineMethod, chunks: number) => {
      const result = path.join(dir, `job${job++}`);
      return runJob({ mode: 'train', recipe: recipe(steps), out: `${result}-run`, pp, method, chunks, result }, pp === 0 ? 0 : ranksOf(method, pp));
    };
    const timed = (r: RankResult) => r.runs.filter((x) => x.step > 1);
    const log = (m: string) => { if (!opts.json) console.error(m); };

    // 1. real compute: 2 ranks (DualPipeV: PP 2 on 1 rank and PP 4 on 2), ranks ≤ cores
    const MEASURE_CHUNKS = 8; // the runs whose op times drive the simulation and the replay: micro-batch 2×32
    const realCases: [PipelineMethod, number][] = [['1f1b', 2], ['zb1p', 2], ['dualpipe', 2], ['dualpipev', 2], ['dualpipev', 4]];
    const real: { method: PipelineMethod; pp: number; chunks: number; results: RankResult[] }[] = [];
    // the single-process peer runs before and after the real pipeline runs (the machine's load drifts);
    // its tokens/s is the median over both runs' timed steps
    log('bench pipeline: single process (1 of 2)');
    const singles = [train(0, '1f1b', 1)];
    for (const [method, pp] of realCases) {
      for (const chunks of [2 * pp, 4 * pp]) {
        log(`bench pipeline: real ${METHOD_NAMES[method]} PP ${pp} on ${ranksOf(method, pp)} rank(s), ${chunks} micro-batches`);
        real.push({ method, pp, chunks, results: train(pp, method, chunks).results });
      }
    }
    log('bench pipeline: single process (2 of 2)');
    singles.push(train(0, '1f1b', 1));
    const singleRuns = singles.map((x) => median(x.results[0].steps.slice(1).map((s) => s.tokens_per_s)));
    const singleTokS = median(singles.flatMap((x) => x.results[0].steps.slice(1).map((s) => s.tokens_per_s)));

    // 2. op times of one stage: F and B from 1F1B, B_input and W from ZB1P, F&B from DualPipe (PP 2,
    // 8 micro-batches), each the median per stage over the timed steps, averaged over the two stages
    const source = (m: PipelineMethod) => real.find((x) => x.method === m && x.pp === 2 && x.chunks === MEASURE_CHUNKS)!;
    const stagesOf = (m: PipelineMethod, rank: number) => buildSchedule(m, 2, MEASURE_CHUNKS).placement[rank].map((p) => p.stage);
    const measured = opTimes((['1f1b', 'zb1p', 'dualpipe'] as const).flatMap((m) => source(m).results.flatMap((r) => timed(r).map((x) => ({ timeline: x.timeline, stages: stagesOf(m, r.rank) })))));
    const times: OpTimes = { F: measured.F, B: measured.B, W: measured.W, FB: measured.FB };
    // activation bytes one chunk keeps (1F1B: one stage per rank), mean of the two stages
    const chunkBytes = mean(source('1f1b').results.map((r) => median(timed(r).map((x) => x.peakActivationBytes / x.peakInFlight))));
    const actShape: [number, number, number] = [B / MEASURE_CHUNKS, T, D];

    const rows: Row[] = [];
    const traces: Record<string, ReturnType<typeof toTraceEvents>> = {};
    const addRow = (mode: Row['mode'], method: PipelineMethod, pp: number, chunks: number, results: RankResult[], model: ModelConfig, bytesPerChunk: number | null) => {
      const s = buildSchedule(method, pp, chunks);
      // per rank, the median over the timed steps
      const perRank = results.map((r) => {
        const runs = timed(r);
        const b = runs.map((x) => timelineBubble(x.timeline, x.totalMs));
        const nominal = s.ops[r.rank].reduce((a, op) => a + opDuration(op, times), 0);
        return {
          bubble: median(b.map((x) => x.bubble)), idle: median(b.map((x) => x.idleMs)), total: median(runs.map((x) => x.totalMs)),
          stretch: median(b.map((x) => x.busyMs)) / nominal,
          peak: Math.max(...runs.map((x) => x.peakInFlight)), bytes: Math.max(...runs.map((x) => x.peakActivationBytes)),
        };
      });
      // on the clock the ranks share: per step, makespan = last end − first start over the ranks, and
      // each rank's (makespan − busy) / makespan, as the simulation defines its bubble
      const stepsTimed = timed(results[0]).map((x) => x.step);
      const spans = stepsTimed.map((k) => {
        const runs = results.map((r) => r.runs.find((x) => x.step === k)!);
        const t0 = Math.min(...runs.map((x) => x.startedAt));
        const makespan = Math.max(...runs.map((x) => x.startedAt + x.totalMs)) - t0;
        return { makespan, idle: runs.map((x) => makespan - timelineBubble(x.timeline, x.totalMs).busyMs) };
      });
      const msIdle = results.map((_, r) => median(spans.map((x) => x.idle[r])));
      const msFrac = results.map((_, r) => median(spans.map((x) => x.idle[r] / x.makespan)));
      const sim = simulate(s, times);
      const simFrac = sim.ranks.map((r) => r.bubble / sim.makespan);
      const f = bubbleFormula(method, pp, times);
      const params = paramBytesPerRank(model, s);
      const peak = Math.max(...perRank.map((r) => r.peak));
      const row: Row = {
        mode, method, schedule: METHOD_NAMES[method], pp, ranks: s.ranks, chunks,
        bubble_mean: mean(perRank.map((r) => r.bubble)), bubble_max: Math.max(...perRank.map((r) => r.bubble)),
        bubble_makespan_max: Math.max(...msFrac), bubble_makespan_mean: mean(msFrac),
        idle_ms_max: Math.max(...msIdle), makespan_ms: median(spans.map((x) => x.makespan)),
        busy_vs_op_times: mean(perRank.map((r) => r.stretch)),
        sim_bubble_max: Math.max(...simFrac), sim_bubble_mean: mean(simFrac), sim_idle_ms_max: sim.bubble, sim_makespan_ms: sim.makespan,
        formula: f.text, formula_ms: f.value, formula_frac: f.value / sim.makespan,
        peak_chunks: peak, sim_peak_chunks: sim.peakActivations, formula_peak_chunks: formulaColumns(method, pp).activationValue,
        peak_activation_mb: (bytesPerChunk === null ? Math.max(...perRank.map((r) => r.bytes)) : peak * bytesPerChunk) / 2 ** 20,
        stages_per_rank: s.placement[0].length, model_copies: (s.ranks * s.placement[0].length) / pp,
        param_mb_per_rank_max: Math.max(...params) / 2 ** 20, param_mb_per_rank_mean: mean(params) / 2 ** 20, param_mb_total: params.reduce((a, b) => a + b, 0) / 2 ** 20,
      };
      rows.push(row);
      if (chunks === 2 * pp) {
        const last = Math.max(...results[0].runs.map((x) => x.step));
        traces[`${method}-pp${pp}-${mode}`] = toTraceEvents(results.map((r) => {
          const x = r.runs.find((y) => y.step === last)!;
          const stages = s.placement[r.rank].map((p) => `${s.pipelines > 1 ? `pipeline ${p.pipeline} ` : ''}stage ${p.stage}`).join(' + ');
          return { rank: r.rank, startedAt: x.startedAt, timeline: x.timeline, label: `rank ${r.rank}: ${stages}` };
        }));
      }
      return row;
    };
    for (const { method, pp, chunks, results } of real) {
      const row = addRow('real', method, pp, chunks, results, cfg, null);
      row.tokens_per_s = median(results[0].steps.slice(1).map((x) => x.tokens_per_s));
      row.ratio_vs_single = row.tokens_per_s / singleTokS;
    }

    // 3. replay at PP 2, 4, 8: a model of PP stages like the measured one (2 decoder layers each)
    for (const pp of [2, 4, 8]) {
      const model = modelOf(2 * pp);
      for (const method of PIPELINE_METHODS) {
        for (const chunks of [2 * pp, 4 * pp]) {
          log(`bench pipeline: replay ${METHOD_NAMES[method]} PP ${pp} on ${ranksOf(method, pp)} ranks, ${chunks} micro-batches`);
          const result = path.join(dir, `job${job++}`);
          const { results } = runJob({ mode: 'replay', pp, method, chunks, actShape, times, steps: replaySteps, result }, ranksOf(method, pp));
          addRow('replay', method, pp, chunks, results, model, chunkBytes);
        }
      }
    }
    const load1 = os.loadavg();

    const { show, speed } = tables(rows, singleTokS);
    report([{ F_ms: times.F, B_ms: times.B, W_ms: times.W, B_input_ms: measured.B_input, FB_ms: times.FB, chunk_activation_mb: chunkBytes / 2 ** 20 }], opts.json,
      'Measured op times of one stage (real PP 2 runs, 8 micro-batches: F, B from 1F1B, B_input, W from ZB1P, F&B from DualPipe; medians, mean of the 2 stages)');
    report(show, opts.json, 'Bubble (idle / step) measured, simulated and by formula for the same op times; activations and parameters per rank');
    report(speed, opts.json, `Tokens/s, real compute on 2 ranks vs the single-process trainer (nano, ${LAYERS} layers, batch ${B}×${T}); ratio = pipeline / single process`);

    if (opts.out) {
      const traceDir = path.join(opts.out, 'pipeline-traces');
      fs.mkdirSync(traceDir, { recursive: true });
      for (const [name, t] of Object.entries(traces)) writeFileAtomic(path.join(traceDir, `${name}.json`), JSON.stringify(t));
      const result = {
        machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), shared with a training run and other jobs`,
        load_average: { start: load0.map((x) => Number(x.toFixed(2))), end: load1.map((x) => Number(x.toFixed(2))) },
        date: new Date().toISOString(),
        mpi: spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0],
        commands: {
          bench: 'node dist/src/cli/index.js bench pipeline --out docs/results',
          // the corpus and tokenizer live in a temporary directory: DIR
          recipe: JSON.parse(JSON.stringify(recipe(steps)).split(dir).join('DIR')) as unknown,
          real: 'mpirun --oversubscribe -np R tinyseek pretrain --config RECIPE --pp P --schedule S --chunks C',
          single: 'tinyseek pretrain --config RECIPE',
          replay: 'mpirun --oversubscribe -np R node dist/bench/_pipeline-rank.js \'{"mode":"replay","pp":P,"method":S,"chunks":C,"actShape":[b,T,D],"times":{F,B,W,FB},"steps":N,"result":FILE}\'',
        },
        model: { preset: 'nano', num_hidden_layers: LAYERS, hidden_size: D, vocab_size: 400, global_batch: [B, T], steps_per_real_run: steps, steps_per_replay_run: replaySteps, timed_steps: 'steps 2…' },
        op_times_ms: { ...times, B_input: measured.B_input, per_kind_stage_median_and_count: measured.perStage },
        chunk_activation_bytes: chunkBytes,
        replay_micro_batch: actShape,
        single_process_tokens_per_s: singleTokS,
        single_process_tokens_per_s_each_run: singleRuns,
        rows, speed,
        traces: Object.keys(traces).map((k) => `pipeline-traces/${k}.json`),
      };
      writeFileAtomic(path.join(opts.out, 'pipeline.json'), JSON.stringify(result, null, 2) + '\n');
      writeMarkdown(opts.out);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The printed tables of a run's rows. */
function tables(rows: Row[], singleTokS: number) {
  const show = rows.map((r) => ({
    mode: r.mode, schedule: r.schedule, pp: r.pp, ranks: r.ranks, chunks: r.chunks,
    bubble_mean: r.bubble_mean, bubble_max: r.bubble_max, bubble_mksp_max: r.bubble_makespan_max, sim_bubble_max: r.sim_bubble_max, formula_frac: r.formula_frac,
    idle_ms_max: r.idle_ms_max, sim_idle_ms: r.sim_idle_ms_max, formula_ms: r.formula_ms, makespan_ms: r.makespan_ms, sim_makespan_ms: r.sim_makespan_ms, busy_vs_op_times: r.busy_vs_op_times,
    peak_chunks: r.peak_chunks, sim_peak: r.sim_peak_chunks, act_mb: r.peak_activation_mb,
    stages_per_rank: r.stages_per_rank, copies: r.model_copies, param_mb_max: r.param_mb_per_rank_max, param_mb_mean: r.param_mb_per_rank_mean, param_mb_total: r.param_mb_total,
  }));
  const speed = rows.filter((r) => r.mode === 'real').map((r) => ({ schedule: r.schedule, pp: r.pp, ranks: r.ranks, chunks: r.chunks, tokens_per_s: r.tokens_per_s!, single_process_tokens_per_s: singleTokS, ratio: r.ratio_vs_single! }));
  return { show, speed };
}

/** (Re)writes DIR/pipeline.md from DIR/pipeline.json (the report is a function of the measured data). */
export function writeMarkdown(dir: string): void {
  const result = JSON.parse(fs.readFileSync(path.join(dir, 'pipeline.json'), 'utf8')) as Record<string, unknown> & { commands: Record<string, unknown>; rows: Row[]; single_process_tokens_per_s: number };
  const { show, speed } = tables(result.rows, result.single_process_tokens_per_s);
  writeFileAtomic(path.join(dir, 'pipeline.md'), markdown(result, show, speed));
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function table(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]);
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 3)) : String(v));
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${keys.map((k) => fmt(r[k])).join(' | ')} |`)].join('\n');
}

function markdown(r: Record<string, unknown> & { commands: Record<string, unknown> }, show: Record<string, unknown>[], speed: Record<string, unknown>[]): string {
  const t = r.op_times_ms as Record<string, number>;
  const la = r.load_average as { start: number[]; end: number[] };
  return `# Pipeline schedules over Open MPI: measured

Generated by \`${r.commands.bench}\` on ${r.date} (Open MPI: ${r.mpi}).
Machine: ${r.machine}; load average (1, 5, 15 min) ${la.start.join(', ')} at the start, ${la.end.join(', ')} at the end.

## Op times of one stage (measured, real compute)

From the real PP 2 runs with 8 micro-batches of ${(r.replay_micro_batch as number[]).slice(0, 2).join('×')} tokens (nano, ${(r.model as { num_hidden_layers: number }).num_hidden_layers} decoder layers, so a
stage is 2 layers; stage 0 also the embedding, stage 1 the norm, head and MTP): F and B (full backward)
from 1F1B, B_input (input-gradient backward) and W (deferred weight gradient) from ZB1P, F&B from
DualPipe; each op's span minus the receive waits inside it, median per (kind, stage) over the timed
steps, then the mean of the two stages:

| F | B (full) | W | B_input | F&B | activations kept per chunk |
|---|---|---|---|---|---|
| ${t.F.toFixed(2)} ms | ${t.B.toFixed(2)} ms | ${t.W.toFixed(2)} ms | ${t.B_input.toFixed(2)} ms | ${t.FB.toFixed(2)} ms | ${((r.chunk_activation_bytes as number) / 2 ** 20).toFixed(2)} MiB |

Per (kind, stage): ${Object.entries(t.per_kind_stage_median_and_count as unknown as Record<string, [number, number]>).map(([k, [m, n]]) => `${k} ${m.toFixed(1)} ms (${n})`).join(', ')}.
On a CPU rank an F&B runs its forward and then its backward, so F&B ≈ F + B (no compute overlap; what
overlaps is communication). These durations drive the replay runs and \`tinyseek bubble\`'s simulation
and formulas below (\`tinyseek bubble --pp P --chunks C --f ${t.F.toFixed(2)} --b ${t.B.toFixed(2)} --w ${t.W.toFixed(2)} --fb ${t.FB.toFixed(2)}\`).

## Bubble, activations and parameters per rank

- \`mode\`: **real** = real compute (nano, 4 layers) on 2 ranks — 1F1B, ZB1P, DualPipe at PP 2, DualPipeV at
  PP 4 — or 1 rank (DualPipeV PP 2); **replay** = the executor's replay mode: every op a sleep of the
  measured duration above, with the real MPI messages ([${(r.replay_micro_batch as number[]).join(', ')}] float32 per activation or gradient),
  for a model of PP stages each like the measured one (2·PP layers). Ranks outnumber cores only in replay rows.
- \`bubble_mean\`/\`bubble_max\`: measured idle / step time of each rank (its own step: from its start to its
  last op), mean and max over ranks; idle = step time − compute, compute = op spans minus the receive waits
  inside them. \`bubble_mksp_max\`: the same against the step's makespan over all ranks on their shared
  clock, (makespan − busy) / makespan, max over ranks — the simulation's definition, so comparable to
  \`sim_bubble_max\` (\`tinyseek bubble\`'s simulation of the same schedule with the same op times, max over ranks)
  and \`formula_frac\` (the formula's bubble / the simulated makespan). \`idle_ms_max\` (measured makespan − busy),
  \`sim_idle_ms\` and \`formula_ms\` are the same in ms. Medians over the timed steps (step 1 is warm-up;
  real runs ${(r.model as { steps_per_real_run: number }).steps_per_real_run} steps, replay runs ${(r.model as { steps_per_replay_run: number }).steps_per_replay_run}).
- \`busy_vs_op_times\`: measured compute / the sum of the op times above over the rank's ops (mean over ranks): 1
  means the ops took the measured times. Replay rows show how far the sleeps overshoot on the loaded machine;
  real rows how the run's ops differ from the op times (other stage sizes, contention).
- \`peak_chunks\`: most micro-batches whose activations a rank held (measured), against the simulation
  (\`sim_peak\`; the formula's PP for 1F1B/ZB1P, PP+1 for DualPipe/DualPipeV). \`act_mb\`: peak activation
  memory per rank — measured (distinct tensor storages the forwards kept) for real rows, \`peak_chunks\` × the
  measured bytes per chunk for replay rows.
- \`stages_per_rank\`: parameter memory per rank in stages (1F1B/ZB1P 1, DualPipe and DualPipeV 2);
  \`copies\`: copies of the whole model over all ranks (DualPipe 2: every stage on two ranks; DualPipeV 1: PP
  stages on PP/2 ranks). \`param_mb_max\`/\`_mean\`/\`_total\`: float32 parameter MiB of the fullest rank, the mean
  rank and all ranks, from the stage layout of that row's model (the last stage's embedding copy for MTP
  included).

${table(show)}

## Tokens/s: real PP vs one process

${table(speed)}

The single-process peer ran twice, before and after the real pipeline runs: ${(r.single_process_tokens_per_s_each_run as number[]).map((x) => x.toFixed(0)).join(' and ')} tokens/s
(median of each run's timed steps; the ratio uses the median over both runs' steps). The pipeline runs
sit between them in time, under the same drifting load.

## Traces

One Chrome trace-event file per schedule, PP and mode (the 2·PP-chunk run, last step), in
[pipeline-traces/](pipeline-traces/): ${(r.traces as string[]).map((f) => `\`${path.basename(f)}\``).join(', ')}.
Open one in https://ui.perfetto.dev (Open trace file) or chrome://tracing: one process per rank, thread
"ops" holds the ops (F0 #3 forward of chunk 3 through the rank's phase-0 stage, B full backward, I
input-gradient backward, W weight gradient, "F0 #5 & B1 #2" an F&B pair) and thread "waits" the time
blocked in a receive.

## Commands

Each run is started by the benchmark through \`bench/_pipeline-rank.ts\` (train mode: the pipeline trainer, or the
single-process trainer, with the options the CLI passes plus a callback that keeps every step's timeline;
replay mode: the executor alone). The equivalent commands:

- real: \`${r.commands.real}\` (R = 2 ranks; DualPipeV: R = P/2)
- single process: \`${r.commands.single}\`
- replay: \`${r.commands.replay}\`

RECIPE (DIR/corpus.jsonl is 20,000 tokens of the default data recipe, seed 3, DIR/tok a 400-token BPE
trained on it; \`TINYSEEK_NUM_THREADS=1\`, \`OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1\` as root):

\`\`\`json
${JSON.stringify(r.commands.recipe, null, 2)}
\`\`\`
`;
}
