// Training cost two ways:
// (a) reported: GPU-hours (GPUs × wall-clock hours, or per stage) × price per GPU-hour;
// (b) first principles: FLOPs = 6 · N_activated · tokens (+ attention score/value FLOPs, shown apart),
//     divided by (peak FLOP/s × MFU) — or, given reported GPU-hours, the MFU they imply.
// `deepseekV3Cost()` reproduces Table 1 of the DeepSeek-V3 report and the MFU it implies.
import { qkHeadDim, type ModelConfig } from '../model/config.js';
import { countParams } from './params.js';

/** A GPU's dense (no sparsity) tensor-core peaks in FLOP/s; fp8 null when the GPU has none. */
export interface GpuSpec {
  name: string;
  bf16: number;
  fp8: number | null;
}

const T = 1e12;

/** Dense peaks: H800/H100 SXM 989 TFLOP/s BF16, 1979 FP8; H200 = H100; A100 312 BF16, no FP8. */
export const GPUS: Record<string, GpuSpec> = {
  H800: { name: 'H800', bf16: 989 * T, fp8: 1979 * T },
  H100: { name: 'H100', bf16: 989 * T, fp8: 1979 * T },
  H200: { name: 'H200', bf16: 989 * T, fp8: 1979 * T },
  A100: { name: 'A100', bf16: 312 * T, fp8: null },
};

/** A GPU by name (case-insensitive) or a custom one from its BF16 peak in TFLOP/s. */
export function gpuSpec(name: string, customPeakTflops?: number): GpuSpec {
  if (name.toLowerCase() === 'custom') {
    if (customPeakTflops === undefined || !(customPeakTflops > 0)) {
      throw new RangeError('--gpu custom needs --peak-tflops X (the dense peak in TFLOP/s)');
    }
    return { name: 'custom', bf16: customPeakTflops * T, fp8: null };
  }
  const g = GPUS[name.toUpperCase()];
  if (!g) throw new RangeError(`unknown GPU "${name}"; expected one of: ${Object.keys(GPUS).join(', ')}, custom`);
  return customPeakTflops !== undefined ? { ...g, bf16: customPeakTflops * T } : g;
}

/** One stage of a reported count. */
export interface Stage {
  name: string;
  gpuHours: number;
}

/** A reported count priced out. */
export interface ReportedCost {
  stages: (Stage & { usd: number })[];
  gpuHoursTotal: number;
  usdTotal: number;
  pricePerGpuHour: number;
}

/** Prices a list of stages (GPU-hours each) at `pricePerGpuHour` dollars. */
export function reportedCost(stages: Stage[], pricePerGpuHour: number): ReportedCost {
  if (stages.length === 0) throw new RangeError('no stages to price');
  for (const s of stages) {
    if (!(s.gpuHours >= 0)) throw new RangeError(`stage "${s.name}": GPU-hours must be ≥ 0, found ${s.gpuHours}`);
  }
  if (!(pricePerGpuHour >= 0)) throw new RangeError(`price per GPU-hour must be ≥ 0, found ${pricePerGpuHour}`);
  const priced = stages.map((s) => ({ ...s, usd: s.gpuHours * pricePerGpuHour }));
  return {
    stages: priced,
    gpuHoursTotal: priced.reduce((a, s) => a + s.gpuHours, 0),
    usdTotal: priced.reduce((a, s) => a + s.usd, 0),
    pricePerGpuHour,
  };
}

/** Attention shape for the score/value FLOPs (not included in 6·N·D). */
export interface AttentionShape {
  layers: number;
  heads: number;
  qkHeadDim: number;
  vHeadDim: number;
  seqLen: number;
}

/** The attention shape of a config (MLA trains in its naive form: keys of qk_nope+qk_rope, values of v_head_dim per head). */
export function attentionShape(c: ModelConfig, seqLen: number): AttentionShape {
  return { layers: c.numHiddenLayers, heads: c.numAttentionHeads, qkHeadDim: qkHeadDim(c), vHeadDim: c.vHeadDim, seqLen };
}

/**
 * Attention FLOPs per trained token: forward QKᵀ and P·V cost 2·n_h·(d_qk + d_v) per attended position
 * per layer; a causal token attends to (S+1)/2 positions on average; backward = 2× forward.
 * V3 at S = 4096: 3 · 61 · 128 · 320 · 4097 ≈ 30.7 GFLOP per token.
 */
export function attentionFlopsPerToken(a: AttentionShape): number {
  return 3 * 2 * a.layers * a.heads * (a.qkHeadDim + a.vHeadDim) * ((a.seqLen + 1) / 2);
}

/** Training FLOPs split into the 6·N·D term and attention. */
export interface TrainingFlops {
  activatedParams: number;
  tokens: number;
  /** 6 · activatedParams · tokens. */
  dense: number;
  attention: number;
  total: number;
}

/** 6·N·D (+ attention when a shape is given). */
export function trainingFlops(activatedParams: number, tokens: number, attention?: AttentionShape): TrainingFlops {
  if (!(activatedParams > 0)) throw new RangeError(`activated parameters must be > 0, found ${activatedParams}`);
  if (!(tokens > 0)) throw new RangeError(`tokens must be > 0, found ${tokens}`);
  const dense = 6 * activatedParams * tokens;
  const attn = attention ? attentionFlopsPerToken(attention) * tokens : 0;
  return { activatedParams, tokens, dense, attention: attn, total: dense + attn };
}

/** GPU-hours needed for `flops` at `peak` FLOP/s per GPU and utilization `mfu`. */
export function gpuHoursFor(flops: number, peak: number, mfu: number): number {
  if (!(mfu > 0 && mfu <= 1)) throw new RangeError(`MFU must be in (0, 1], found ${mfu}`);
  return flops / (peak * mfu) / 3600;
}

/** The MFU that `gpuHours` imply for `flops` at `peak` FLOP/s per GPU. */
export function impliedMfu(flops: number, gpuHours: number, peak: number): number {
  return flops / (gpuHours * 3600 * peak);
}

/** Achieved FLOP/s per GPU. */
export function achievedFlops(flops: number, gpuHours: number): number {
  return flops / (gpuHours * 3600);
}

/** The DeepSeek-V3 report's Table 1 (H800 GPU-hours; $2 per GPU-hour). */
export const DEEPSEEK_V3_STAGES: Stage[] = [
  { name: 'Pre-training', gpuHours: 2_664_000 },
  { name: 'Context extension', gpuHours: 119_000 },
  { name: 'Post-training', gpuHours: 5_000 },
];

/** Everything `tinyseek cost --preset deepseek-v3` shows. */
export interface DeepseekV3Cost {
  gpu: GpuSpec;
  reported: ReportedCost;
  pretrainTokens: number;
  seqLen: number;
  flops: TrainingFlops;
  /** Achieved FLOP/s per GPU over the pre-training GPU-hours, without / with attention FLOPs. */
  achieved: { dense: number; total: number };
  mfu: { bf16Dense: number; fp8Dense: number | null; bf16Total: number; fp8Total: number | null };
  /** The same run as a dense model of all (non-embedding) parameters at the same MFU. */
  dense: { params: number; flops: TrainingFlops; ratio: number; gpuHoursTotal: number; usdTotal: number };
}

/**
 * Reproduces the V3 cost table and derives: the MFU that 6·N·D over 14.8T tokens implies on 2,664K
 * H800 GPU-hours (with and without attention FLOPs at seq 4K), and the cost of the same run had the
 * model been dense (every stage scaled by the FLOP ratio at the same MFU).
 */
export function deepseekV3Cost(model: ModelConfig, o: { price?: number; tokens?: number; seqLen?: number; gpu?: GpuSpec } = {}): DeepseekV3Cost {
  const gpu = o.gpu ?? GPUS.H800;
  const tokens = o.tokens ?? 14.8e12;
  const seqLen = o.seqLen ?? 4096;
  const reported = reportedCost(DEEPSEEK_V3_STAGES, o.price ?? 2);
  const counts = countParams(model);
  const shape = attentionShape(model, seqLen);
  const flops = trainingFlops(counts.activated, tokens, shape);
  const pre = DEEPSEEK_V3_STAGES[0].gpuHours;
  const achieved = { dense: achievedFlops(flops.dense, pre), total: achievedFlops(flops.total, pre) };
  const mfu = {
    bf16Dense: achieved.dense / gpu.bf16,
    fp8Dense: gpu.fp8 === null ? null : achieved.dense / gpu.fp8,
    bf16Total: achieved.total / gpu.bf16,
    fp8Total: gpu.fp8 === null ? null : achieved.total / gpu.fp8,
  };
  // Dense counterpart: every parameter active (the embedding still a lookup).
  const denseParams = counts.total - counts.components[0].total + model.hiddenSize;
  const denseFlops = trainingFlops(denseParams, tokens, shape);
  const ratio = denseFlops.total / flops.total;
  return {
    gpu,
    reported,
    pretrainTokens: tokens,
    seqLen,
    flops,
    achieved,
    mfu,
    dense: {
      params: denseParams,
      flops: denseFlops,
      ratio,
      gpuHoursTotal: reported.gpuHoursTotal * ratio,
      usdTotal: reported.usdTotal * ratio,
    },
  };
}

/** 2664000 → "2,664K" (the report's style). */
export function formatKHours(h: number): string {
  return `${Math.round(h / 1000).toLocaleString('en-US')}K`;
}

/** 5328000 → "$5.328M", 10000 → "$0.01M" (millions, up to 3 decimals, trailing zeros dropped). */
export function formatMillionsUsd(usd: number): string {
  const m = (usd / 1e6).toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return `$${m}M`;
}
