// `tinyseek bench decode16`: generation throughput with resident 16-bit weights (issue #15). The
// `mini` model of `bench decode` (bench/decode.ts), rounded to BF16 and saved in DeepSeek's published
// BF16 layout, is run three ways side by side in one process, same prompts, greedy:
//   tinyseek, weights 'bf16' (Linear weights kept BF16, native gemm16 widening on the fly)
//   tinyseek, weights 'f32'  (the same BF16 files dequantized to float32 on load: today's path)
//   llama.cpp (node-llama-cpp 3.21.1, CPU) on the same weights as an F16 GGUF (tinyseek's GGUF export
//     writes F32/F16, not BF16; every BF16 weight of this model is exactly representable in F16 —
//     checked below), and tinyseek with weights 'f16' on that F16 copy, so that the llama.cpp
//     comparison is also made on bit-identical weights.
// Prompt 32 tokens, 128 new tokens; batch 1 and 64. Rows give decode and prefill tok/s and the ratios
// bf16/f32 and tinyseek/llama.cpp (> 1: tinyseek faster), per wall second and (columns *_cpu) per
// second of the process's CPU time, which a loaded machine disturbs less. Every engine is warmed up
// at both batch sizes, then runs are interleaved; best of 3·N at batch 1 and N at batch 64 (N =
// --seconds, 1–5; default 2). Thread choice as in bench decode.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backend } from '../src/backend/index.js';
import type { CausalLM } from '../src/model/causal-lm.js';
import { saveModel, isModelDir, loadModel } from '../src/model/checkpoint.js';
import type { WeightsMode } from '../src/model/checkpoint.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { exportGguf } from '../src/model/gguf-export.js';
import { f32ToBf16Array, bf16ToF32Array, f32ToF16Array, f16ToF32Array } from '../src/io/dtypes.js';
import { report } from './_util.js';
import { prepare, tokenCycle, tinyseekRun, llamaRun, best, chooseThreads } from './decode.js';
import { setTinyseekThreads } from './_util.js';
import type { Speed } from './decode.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';
import type { Llama } from 'node-llama-cpp';

export const description = 'decode tok/s with BF16-resident weights vs float32 and vs llama.cpp on an F16 GGUF of the same weights, batch 1 and 64';

const PROMPT = 32;
const NEW = 128;
const BIG_BATCH = 64;
let THREADS = 2;


/** The BF16 directory (published BF16 layout), its F16 copy and the F16 GGUF, built once from bench decode's mini. */
function prepare16(): { bf16: string; f16: string; gguf: string } {
  const base = prepare().dir;
  const root = `${base}-w16`;
  const bf16 = path.join(root, 'bf16'), f16 = path.join(root, 'f16'), gguf = path.join(root, 'mini-f16.gguf');
  if (isModelDir(bf16) && isModelDir(f16) && fs.existsSync(gguf)) return { bf16, f16, gguf };
  const tmp = `${root}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const model = loadModel(base, { onWarning: () => {} });
  const tokFiles = Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].filter((f) => fs.existsSync(path.join(base, f))).map((f) => [f, fs.readFileSync(path.join(base, f))]));
  // Round to BF16 first, so that every copy holds the same values (F16 holds BF16 values exactly
  // unless they fall below F16's normal range, ~6e-5, or above 65504: counted and printed).
  let inexact = 0, total = 0;
  for (const [, t] of model.namedTensors()) {
    const w = t.f32();
    const r = bf16ToF32Array(f32ToBf16Array(w));
    const back = f16ToF32Array(f32ToF16Array(r));
    for (let i = 0; i < r.length; i++) if (back[i] !== r[i]) inexact++;
    total += r.length;
    w.set(r);
  }
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'f16-inexact.json'), JSON.stringify({ inexact, total }));
  saveModel(path.join(tmp, 'bf16'), model, { layout: 'bf16', tokenizerFiles: tokFiles });
  saveModel(path.join(tmp, 'f16'), model, { dtype: 'F16', tokenizerFiles: tokFiles });
  exportGguf(model, Tokenizer.fromDir(base), path.join(tmp, 'mini-f16.gguf'), { dtype: 'f16', mtp: false, name: 'tinyseek-mini-f16' });
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(tmp, root);
  return { bf16, f16, gguf };
}

function speeds(B: number, t0: number, tFirst: number, t1: number): Speed {
  return { prefill: (B * PROMPT) / ((tFirst - t0) / 1000), decode: (B * (NEW - 1)) / ((t1 - tFirst) / 1000) };
}

const round = (x: number, d = 1) => Number.isFinite(x) ? Number(x.toFixed(d)) : NaN;

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const t00 = performance.now();
  const load = os.loadavg()[0], cpus = os.cpus().length;
  THREADS = chooseThreads().threads;
  setTinyseekThreads(THREADS);
  const { bf16, f16, gguf } = prepare16();
  const quiet = { onWarning: () => {} };
  const models: Record<string, CausalLM> = {};
  for (const [key, dir, mode] of [['bf16', bf16, 'bf16'], ['f32', bf16, 'f32'], ['f16', f16, 'f16']] as [string, string, WeightsMode][]) {
    models[key] = loadModel(dir, { ...quiet, weights: mode }).eval();
  }
  const V = models.f32.cfg.vocabSize;
  const cycle = tokenCycle(V);
  const prompts = Array.from({ length: BIG_BATCH }, (_, i) => Array.from({ length: PROMPT }, (_, t) => cycle[(i * 7 + t) % cycle.length]));
  const one = [prompts[0]];
  const reps = Math.max(1, Math.min(5, Math.round(opts.seconds)));

  let note = '';
  let llama: Llama | null = null;
  try {
    const nlc = await import('node-llama-cpp');
    llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error, maxThreads: THREADS });
  } catch (e) {
    note = `llama.cpp peer unavailable (${(e as Error).message.split('\n')[0]}); install it with: npm i -D -E node-llama-cpp@3.21.1`;
  }
  // Warm-up at both batch sizes (JIT, buffer pool, KV-cache growth; llama.cpp's first graphs), so that
  // no engine's first measured run pays for them.
  const lmodel = llama ? await llama.loadModel({ modelPath: gguf }) : null;
  for (const m of Object.values(models)) {
    await tinyseekRun(m, one, false, 8);
    await tinyseekRun(m, prompts, false, 4);
  }
  if (lmodel) {
    await llamaRun(lmodel, one, 8, THREADS);
    await llamaRun(lmodel, prompts, 4, THREADS);
  }

  // Interleaved, so that every engine sees the same machine; best of `reps` at batch 64 and of 3·reps
  // at batch 1 (a run takes well under a second there, so one descheduling skews it most).
  const runs: Record<number, Record<string, Speed[]>> = { 1: { bf16: [], f32: [], f16: [], llama: [] }, [BIG_BATCH]: { bf16: [], f32: [], f16: [], llama: [] } };
  for (let r = 0; r < 3 * reps; r++) {
    for (const [B, ps] of [[1, one], [BIG_BATCH, prompts]] as [number, number[][]][]) {
      if (B === BIG_BATCH && r % 3 !== 2) continue;
      for (const k of ['bf16', 'f32', 'f16']) runs[B][k].push(await tinyseekRun(models[k], ps));
      if (lmodel) runs[B].llama.push(await llamaRun(lmodel, ps, NEW, THREADS));
    }
  }
  await lmodel?.dispose();
  await llama?.dispose();

  const NaNs: Speed = { prefill: NaN, decode: NaN, prefillCpu: NaN, decodeCpu: NaN };
  const rows: Record<string, string | number>[] = [];
  for (const batch of [1, BIG_BATCH]) {
    const s = Object.fromEntries(Object.entries(runs[batch]).map(([k, v]) => [k, v.length ? best(v) : NaNs])) as Record<string, Speed>;
    for (const phase of ['decode', 'prefill'] as const) {
      const L = s.llama[phase], cpu = `${phase}Cpu` as const;
      rows.push({
        bench: 'decode16', phase, batch, threads: THREADS,
        bf16_tok_s: round(s.bf16[phase]), f32_tok_s: round(s.f32[phase]), f16_tok_s: round(s.f16[phase]), llama_f16_tok_s: round(L),
        bf16_vs_f32: round(s.bf16[phase] / s.f32[phase], 3), bf16_vs_llama: round(s.bf16[phase] / L, 3), f16_vs_llama: round(s.f16[phase] / L, 3),
        // the same ratios per CPU-second (less sensitive to how much of the cores other processes take)
        bf16_vs_llama_cpu: round(s.bf16[cpu]! / s.llama[cpu]!, 3), f16_vs_llama_cpu: round(s.f16[cpu]! / s.llama[cpu]!, 3),
      });
    }
  }
  const path16 = backend().gemm16Path();
  const { inexact, total } = JSON.parse(fs.readFileSync(path.join(path.dirname(bf16), 'f16-inexact.json'), 'utf8')) as { inexact: number; total: number };
  report(rows, opts.json, `mini (${models.f32.cfg.numHiddenLayers} layers, d=${models.f32.cfg.hiddenSize}) as BF16, prompt ${PROMPT}, ${NEW} new tokens, greedy, ${THREADS} thread${THREADS > 1 ? 's' : ''} each, ` +
    `backend ${backend().name}, gemm16 path ${path16}; load average ${load.toFixed(1)} on ${cpus} CPUs at start; best of ${3 * reps} (batch 1) and ${reps} (batch 64) interleaved runs after a warm-up at each batch size; ` +
    `ratios > 1: the first engine is faster; the F16 copy differs from the BF16 weights in ${inexact} of ${total} values (below F16's normal range)`);
  if (!opts.json) console.log(`(${((performance.now() - t00) / 1000).toFixed(1)} s)`);
  if (note) console.error(note);
  if (load > cpus / 2) console.error(`warning: load average ${load.toFixed(1)} on ${cpus} CPUs: measured under load; other processes compete for the cores, so the numbers are noisy`);
}
