// `tinyseek bench decode`: generation throughput of the `mini` model, tinyseek's Generator vs
// llama.cpp (node-llama-cpp 3.21.1, CPU, 2 threads each, 1 on a busy machine) on the same weights exported to GGUF F32.
// Prompt 32 tokens, 128 new tokens, greedy; batch 1 and batch 64 (llama.cpp: one context with 64
// sequences decoded together). Rows: aggregate decode tokens/s, prefill tokens/s, and MTP
// speculative decoding at batch 1 (vs llama.cpp's plain decode) with its acceptance rate.
// ratio = tinyseek / llama.cpp (> 1: tinyseek is faster).
//
// The model is `mini` trained for a few steps on a repeating random token cycle (so its MTP module
// drafts something; acceptance on such memorized text is an upper bound), cached in the OS temp
// dir with its GGUF; the first run spends ~10 s training it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../src/tensor/index.js';
import { backend } from '../src/backend/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import type { CausalLM } from '../src/model/causal-lm.js';
import { saveModel, isModelDir } from '../src/model/checkpoint.js';
import { AdamW } from '../src/nn/optim.js';
import { fitTokenCycle } from '../src/train/stream-fit.js';
import { Tokenizer, DEFAULT_SPECIAL_TOKENS, BYTE_TO_UNICODE } from '../src/tokenizer/index.js';
import { Generator } from '../src/infer/generator.js';
import { loadModelDir } from '../src/infer/load.js';
import { exportGguf } from '../src/model/gguf-export.js';
import { report, setTinyseekThreads } from './_util.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';
import type { Llama, LlamaModel, Token } from 'node-llama-cpp';

export const description = 'generation tok/s of mini: tinyseek Generator vs llama.cpp (node-llama-cpp), batch 1 and 64 (ratio = tinyseek / llama.cpp)';

const VERSION = 'v1';
const PROMPT = 32;
const NEW = 128;
/** Threads of both engines: 2, or TINYSEEK_BENCH_THREADS (see chooseThreads). */
let THREADS = 2;

/**
 * The thread count for both engines. Default 2; when other processes already keep the cores busy
 * (1-minute load average above the cores left free), 1 — llama.cpp's spinning thread pool slows
 * down by orders of magnitude when oversubscribed, which would make the comparison meaningless.
 * TINYSEEK_BENCH_THREADS forces a count.
 */
export function chooseThreads(): { threads: number; note: string } {
  const forced = Number(process.env.TINYSEEK_BENCH_THREADS);
  if (Number.isInteger(forced) && forced >= 1) return { threads: forced, note: '' };
  const cpus = os.cpus().length, load = os.loadavg()[0];
  if (cpus >= 2 && load <= cpus - 2 + 0.5) return { threads: 2, note: '' };
  return {
    threads: 1,
    note: `machine busy (load average ${load.toFixed(1)} on ${cpus} CPUs): both engines run 1 thread instead of 2, because llama.cpp's ` +
      'spinning thread pool collapses when oversubscribed; set TINYSEEK_BENCH_THREADS=2 to force 2',
  };
}
const BIG_BATCH = 64;

type NodeLlamaCpp = typeof import('node-llama-cpp');

/** A byte-level tokenizer with no merges (specials + 256 bytes): the bench feeds ids, not text. */
function byteTokenizer(): Tokenizer {
  const vocab = new Map<string, number>();
  DEFAULT_SPECIAL_TOKENS.forEach((s, i) => vocab.set(s, i));
  BYTE_TO_UNICODE.forEach((c, b) => vocab.set(c, DEFAULT_SPECIAL_TOKENS.length + b));
  return new Tokenizer({ vocab, merges: [], specialTokens: [...DEFAULT_SPECIAL_TOKENS] });
}

/** The token cycle the model memorizes (ids above the specials). */
export function tokenCycle(V: number): number[] {
  const rng = new Rng(11);
  return Array.from({ length: 97 }, () => DEFAULT_SPECIAL_TOKENS.length + Math.floor(rng.uniform() * (V - DEFAULT_SPECIAL_TOKENS.length)));
}

/** Builds (or reuses) the trained mini model directory and its F32 GGUF (bench/decode16.ts starts from it too). */
export function prepare(): { dir: string; gguf: string } {
  const dir = path.join(os.tmpdir(), `tinyseek-bench-decode-${VERSION}`);
  const gguf = path.join(dir, 'mini-f32.gguf');
  if (isModelDir(dir) && fs.existsSync(gguf)) return { dir, gguf };
  const cfg = getPreset('mini');
  const model = new DeepseekV3(cfg, 0);
  const opt = new AdamW(model.namedParameters(), { lr: 2e-3, weightDecay: 0.01 });
  fitTokenCycle(model, opt, tokenCycle(cfg.vocabSize), { steps: 40, batch: 8, seqLen: 64, seed: 5 });
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  saveModel(tmp, model);
  const tok = byteTokenizer();
  tok.save(tmp);
  exportGguf(model, tok, path.join(tmp, 'mini-f32.gguf'), { dtype: 'f32', mtp: false, name: 'tinyseek-mini' });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return { dir, gguf };
}

/** One measurement: prefill tok/s (until every sequence has its first token) and decode tok/s (the rest). */
export interface Speed {
  prefill: number;
  decode: number;
  acceptance?: number;
  /** The same per second of this process's CPU time (user + system, every thread) instead of wall time. */
  prefillCpu?: number;
  decodeCpu?: number;
}

/** This process's CPU time so far, seconds (every thread: tinyseek's pool, llama.cpp's threads). */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Adds CPU-time rates to a Speed: c0, cFirst, c1 are cpuSeconds() at the wall times t0, tFirst, t1. */
function withCpu(s: Speed, B: number, n: number, c0: number, cFirst: number, c1: number): Speed {
  return { ...s, prefillCpu: (B * PROMPT) / (cFirst - c0), decodeCpu: (B * (n - 1)) / (c1 - cFirst) };
}

/** Prefill tok/s (B prompts of PROMPT tokens, until every row has its first token) and decode tok/s (the other n − 1 tokens of each row). */
function speeds(B: number, n: number, t0: number, tFirst: number, t1: number): Speed {
  return { prefill: (B * PROMPT) / ((tFirst - t0) / 1000), decode: (B * (n - 1)) / ((t1 - tFirst) / 1000) };
}

/** tinyseek's Generator: every prompt in one batch, greedy, n new tokens each. */
export async function tinyseekRun(model: CausalLM, prompts: number[][], speculative = false, n = NEW): Promise<Speed> {
  const B = prompts.length;
  const gen = new Generator(model, { maxBatch: B, maxLen: PROMPT + n + 2, speculative });
  let firsts = 0, tFirst = 0, cFirst = 0;
  const c0 = cpuSeconds(), t0 = performance.now();
  await gen.generateAll(prompts.map((p) => ({
    prompt: p, maxNewTokens: n, sampling: { temperature: 0 },
    onToken: (ev) => { if (ev.index === 0 && ++firsts === B) { tFirst = performance.now(); cFirst = cpuSeconds(); } },
  })));
  const s = withCpu(speeds(B, n, t0, tFirst, performance.now()), B, n, c0, cFirst, cpuSeconds());
  if (speculative) s.acceptance = gen.acceptanceRate();
  return s;
}

/** llama.cpp (node-llama-cpp): one sequence per prompt in one context, greedy, n new tokens each, on `threads` threads. */
export async function llamaRun(model: LlamaModel, prompts: number[][], n = NEW, threads = THREADS): Promise<Speed> {
  const B = prompts.length;
  const ctx = await model.createContext({
    sequences: B, contextSize: PROMPT + n + 8, threads, batchSize: Math.min(512, B * PROMPT),
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
  try {
    const seqs = prompts.map(() => ctx.getSequence());
    let firsts = 0, tFirst = 0, cFirst = 0;
    const c0 = cpuSeconds(), t0 = performance.now();
    await Promise.all(prompts.map(async (p, i) => {
      let got = 0;
      for await (const _t of seqs[i].evaluate(p as Token[], { temperature: 0 })) {
        if (++got === 1 && ++firsts === B) { tFirst = performance.now(); cFirst = cpuSeconds(); }
        if (got >= n) break;
      }
    }));
    return withCpu(speeds(B, n, t0, tFirst, performance.now()), B, n, c0, cFirst, cpuSeconds());
  } finally {
    await ctx.dispose();
  }
}

/** The better of several runs (machine noise only ever slows a run down). */
export function best(xs: Speed[]): Speed {
  const max = (k: 'prefill' | 'decode' | 'prefillCpu' | 'decodeCpu') => Math.max(...xs.map((x) => x[k] ?? NaN));
  return { prefill: max('prefill'), decode: max('decode'), acceptance: xs[0].acceptance, prefillCpu: max('prefillCpu'), decodeCpu: max('decodeCpu') };
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const t00 = performance.now();
  const loadAtStart = os.loadavg()[0];
  const chosen = chooseThreads();
  THREADS = chosen.threads;
  setTinyseekThreads(THREADS);
  const { dir, gguf } = prepare();
  const lm = loadModelDir(dir);
  const V = lm.model.cfg.vocabSize;
  const cycle = tokenCycle(V);
  // Distinct prompts (no shared prefill): windows of the memorized cycle at different offsets.
  const prompts = Array.from({ length: BIG_BATCH }, (_, i) => Array.from({ length: PROMPT }, (_, t) => cycle[(i * 7 + t) % cycle.length]));
  const one = [prompts[0]];
  const reps = Math.max(1, Math.min(5, Math.round(opts.seconds)));

  let note = '';
  let llama: Llama | null = null;
  try {
    const nlc: NodeLlamaCpp = await import('node-llama-cpp');
    llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error, maxThreads: THREADS });
  } catch (e) {
    note = `llama.cpp peer unavailable (${(e as Error).message.split('\n')[0]}); install it with: npm i -D -E node-llama-cpp@3.21.1`;
  }

  // Warm-up (JIT, buffer pool; llama.cpp's first graph), then measurements interleaved so both see the same machine.
  await tinyseekRun(lm.model, one, false, 8);
  await tinyseekRun(lm.model, prompts.slice(0, 8), false, 4);
  const lmodel = llama ? await llama.loadModel({ modelPath: gguf }) : null;
  if (lmodel) await llamaRun(lmodel, one, 8);

  // Each run starts after an idle pause, so that neither engine's threads still spinning from the
  // previous run (OpenBLAS's and ggml's pools poll before they sleep) take a core from the next one:
  // without it, 2-thread batch-1 prefill of either engine measured ~half its speed alone.
  const t1: Speed[] = [], p1: Speed[] = [], tSpec: Speed[] = [];
  for (let r = 0; r < reps; r++) {
    await settle();
    t1.push(await tinyseekRun(lm.model, one));
    await settle();
    if (lmodel) p1.push(await llamaRun(lmodel, one));
    await settle();
    tSpec.push(await tinyseekRun(lm.model, one, true));
  }
  await settle();
  const t64 = await tinyseekRun(lm.model, prompts);
  await settle();
  const p64 = lmodel ? await llamaRun(lmodel, prompts) : null;
  await lmodel?.dispose();
  await llama?.dispose();

  const tb1 = best(t1), pb1 = p1.length ? best(p1) : null, spec = best(tSpec);
  const NaNs = { prefill: NaN, decode: NaN };
  const row = (phase: string, batch: number, tiny: number, peer: number, extra: Record<string, string | number> = {}) =>
    ({ bench: 'decode', phase, batch, threads: THREADS, tinyseek_tok_s: round(tiny), peer_tok_s: round(peer), ratio: round(tiny / peer, 3), ...extra });
  const rows: Record<string, string | number>[] = [
    row('decode', 1, tb1.decode, (pb1 ?? NaNs).decode),
    row('decode', BIG_BATCH, t64.decode, (p64 ?? NaNs).decode),
    row('prefill', 1, tb1.prefill, (pb1 ?? NaNs).prefill),
    row('prefill', BIG_BATCH, t64.prefill, (p64 ?? NaNs).prefill),
    row('decode-mtp', 1, spec.decode, (pb1 ?? NaNs).decode, { acceptance_rate: round(spec.acceptance ?? NaN, 3) }),
  ];
  report(rows, opts.json, `mini (${lm.model.cfg.numHiddenLayers} layers, d=${lm.model.cfg.hiddenSize}), prompt ${PROMPT}, ${NEW} new tokens, greedy, ${THREADS} thread${THREADS > 1 ? 's' : ''} each, backend ${backend().name}; ` +
    `ratio = tinyseek / llama.cpp (> 1: tinyseek faster); decode-mtp compares MTP speculative decoding with llama.cpp's plain decode (best of ${reps} runs at batch 1)`);
  if (!opts.json) console.log(`(${((performance.now() - t00) / 1000).toFixed(1)} s)`);
  if (note) console.error(note);
  if (chosen.note) console.error(chosen.note);
  const cpus = os.cpus().length;
  if (loadAtStart > cpus / 2 && !chosen.note) {
    console.error(`warning: load average ${loadAtStart.toFixed(1)} on ${cpus} CPUs before the run — other processes compete for the cores, ` +
      (THREADS > 1
        ? `and llama.cpp's spinning thread pool (${THREADS} threads) then slows down by orders of magnitude: its numbers and the ratios are not meaningful now (TINYSEEK_BENCH_THREADS=1 compares single-threaded)`
        : 'so the numbers are noisy'));
  }
}

/** Time for idle threads of the previous run to stop polling and sleep (OpenBLAS: ~0.1 s of sched_yield). */
const SETTLE_MS = 500;
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, SETTLE_MS));

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
