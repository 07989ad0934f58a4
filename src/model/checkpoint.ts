// Saving and loading a model as a Hugging Face–style model directory: config.json with HF keys,
// generation_config.json, safetensors weights under the architecture's HF tensor names, tokenizer
// files. DeepSeek-V3/V2 carry their MTP layers' copies of embed_tokens and shared_head.head, as real
// checkpoints do; dense Qwen2 / Llama students are laid out as DeepSeek-R1-Distill-Qwen/Llama are.
import fs from 'node:fs';
import path from 'node:path';
import { DeepseekV3 } from './model.js';
import { Linear, withDeferredLinearInit } from '../nn/layers.js';
import type { ModelConfig } from './config.js';
import { configFromHF, configToHF, ConfigError } from './config.js';
import { publishedConfigKeys, publishedDtype, publishedRecords } from './published.js';
import type { PublishedLayout } from './published.js';
import { checkModelFitsMemory, formatBytes, modelFootprint, modelTensors, sizeKeys } from './shapes.js';
import type { CausalLM } from './causal-lm.js';
import { anyConfigFromHF, anyConfigToHF, createModel, isDenseConfig, modelConfig } from './registry.js';
import type { AnyModelConfig } from './registry.js';
import { checkDenseFitsMemory, denseFootprint, denseSizeKeys, denseTensors } from './dense/shapes.js';
import { readModelDir, writeModelDir, loadedTensorInfos, readFloat32, checkTensors, numelOf, CheckpointError } from '../io/index.js';
import { SCALE_INV_SUFFIX } from '../io/index.js';
import type { TensorRecord, TensorInfo, ExpectedTensor, SaveOptions, TensorSource } from '../io/index.js';

/** Options for saving. */
export interface SaveModelOptions {
  /** Files to write beside the weights (tokenizer.json, tokenizer_config.json, ...). */
  tokenizerFiles?: Record<string, string | Uint8Array>;
  /** Storage dtype of float tensors (default F32: exact round trips). */
  dtype?: SaveOptions['dtype'];
  /** Extra generation_config.json keys. */
  generation?: Record<string, unknown>;
  /** Shard weights above this many bytes. */
  shardBytes?: number;
  /**
   * Store as DeepSeek publishes V3/R1 (see published.ts): 'fp8' = block-FP8 Linear weights with
   * `weight_scale_inv` and V3's `quantization_config`, 'bf16' = the same without FP8; the router bias
   * stays F32 and everything else is BF16. Overrides `dtype`.
   */
  layout?: PublishedLayout;
}

/** The names of the MTP layers' copies of the shared embedding and head. */
function mtpCopies(cfg: ModelConfig): { emb: string; head: string }[] {
  const out = [];
  for (let k = 0; k < cfg.numNextnPredictLayers; k++) {
    const L = cfg.numHiddenLayers + k;
    out.push({ emb: `model.layers.${L}.embed_tokens.weight`, head: `model.layers.${L}.shared_head.head.weight` });
  }
  return out;
}

/** The tensor records of a model, in its own order, plus (DeepSeek) the MTP copies. */
export function modelRecords(model: CausalLM): TensorRecord[] {
  const recs: TensorRecord[] = model.namedTensors().map(([name, t]) => ({ name, dtype: 'F32', shape: [...t.shape], data: t.f32() }));
  if (!(model instanceof DeepseekV3)) return recs;
  const emb = model.model.embedTokens.weight, head = model.headWeight();
  for (const c of mtpCopies(model.cfg)) {
    recs.push({ name: c.emb, dtype: 'F32', shape: [...emb.shape], data: emb.f32() });
    recs.push({ name: c.head, dtype: 'F32', shape: [...head.shape], data: head.f32() });
  }
  return recs;
}

/** Writes a model directory (every file atomically; config.json last). */
export function saveModel(dir: string, model: CausalLM, opts: SaveModelOptions = {}): void {
  const cfg = modelConfig(model);
  const config = anyConfigToHF(cfg);
  // The quantization a loaded FP8 checkpoint declared no longer describes weights written otherwise.
  delete config.quantization_config;
  if (opts.layout && isDenseConfig(cfg)) throw new Error(`saveModel: layout "${opts.layout}" is DeepSeek-V3's published layout; a ${cfg.modelType} model is saved plainly`);
  writeModelDir(dir, {
    config: opts.layout ? { ...config, ...publishedConfigKeys(opts.layout) } : config,
    generationConfig: {
      bos_token_id: cfg.bosTokenId,
      eos_token_id: cfg.eosTokenId,
      do_sample: true,
      temperature: 0.6, // DeepSeek-R1's recommended sampling
      top_p: 0.95,
      ...opts.generation,
    },
    tensors: opts.layout ? publishedRecords(modelRecords(model), opts.layout) : modelRecords(model),
    tokenizerFiles: opts.tokenizerFiles,
    dtype: opts.layout ? publishedDtype : opts.dtype,
    shardBytes: opts.shardBytes,
  });
}

/** Options of loadModel. */
export interface LoadModelOptions {
  /** Receives load warnings (non-finite weights, F16 data that looks like BF16); default: printed to stderr. */
  onWarning?: (message: string) => void;
  /** Bytes the model may take; default: the memory available to the process now. */
  memoryLimit?: number;
  /**
   * Load the MTP module(s) (`model.layers.{num_hidden_layers + k}.*`) when the weights hold them
   * (default true). false skips them: they are neither checked, read nor allocated, and the model
   * has num_nextn_predict_layers = 0. A directory whose config names MTP layers its weights do not
   * hold (converted without them, as DeepSeek's convert.py and transformers do) loads without MTP.
   */
  mtp?: boolean;
  /**
   * How Linear weights are held in memory (default 'f32': every weight dequantized to float32, as
   * training needs). 'bf16' / 'f16': the Linear weights the checkpoint stores in that dtype stay 16-bit
   * (half the bytes) and the linear forward widens them on the fly (native AVX2 GEMV/GEMM); the model
   * is then inference-only (eval mode; training, saving or exporting it is refused naming this option).
   * kv_b_proj (read as a matrix by the absorbed MLA form), embeddings, norms, the router and weights
   * stored in another dtype stay float32.
   */
  weights?: WeightsMode;
  /**
   * With 16-bit `weights`: memory-map the safetensors files and keep each resident 16-bit weight as a
   * view into the mapping, so start-up reads only the headers and the float32 tensors, and a weight's
   * pages come from disk when a forward first uses them (an expert never routed to is never read).
   * The non-finite scan of those weights is skipped (it would touch every page). Needs the native addon.
   */
  mmap?: boolean;
  /**
   * Expert parallelism: `keep` is called on the built model before any weight is allocated or read
   * and drops the routed experts other ranks hold (MoE.shardExperts), which are then neither
   * allocated nor read; the memory check counts 1/`parts` of the routed experts. DeepSeek models only.
   */
  experts?: { parts: number; keep: (model: DeepseekV3) => void };
}

/** The `weights` load option: float32, or BF16/F16 resident Linear weights (inference only). */
export type WeightsMode = 'f32' | 'bf16' | 'f16';
/** The values of WeightsMode. */
export const WEIGHTS_MODES: readonly WeightsMode[] = ['f32', 'bf16', 'f16'];

/** Every Linear module by weight name. */
function linearsByWeight(model: CausalLM): Map<string, Linear> {
  const out = new Map<string, Linear>();
  for (const [name, m] of model.namedModules()) if (m instanceof Linear) out.set(`${name}.weight`, m);
  return out;
}

/** Whether a Linear weight may stay 16-bit: not kv_b_proj (the absorbed MLA form reads it as a matrix). */
function residentOk(weightName: string): boolean {
  return !weightName.endsWith('kv_b_proj.weight');
}

/** True if a BF16 (f16 false) or F16 bit pattern is ±inf or NaN. */
function nonFinite16(bits: Uint16Array, f16: boolean): number {
  const e = f16 ? 0x7c00 : 0x7f80;
  let bad = 0;
  for (let i = 0; i < bits.length; i++) if ((bits[i] & e) === e) bad++;
  return bad;
}

/** True if `name` is a tensor of an MTP layer: `model.layers.{L}.` with L ≥ num_hidden_layers. */
export function isMtpTensor(cfg: ModelConfig, name: string): boolean {
  const m = /^model\.layers\.(\d+)\./.exec(name);
  return m !== null && Number(m[1]) >= cfg.numHiddenLayers;
}

/**
 * The configuration to build from a directory, given what its weights hold: MTP layers dropped
 * (num_nextn_predict_layers = 0) when not wanted or when none of their tensors are stored.
 * A partial MTP layer is left to the tensor check, which names what is missing.
 */
function withMtpChoice(dir: string, cfg: ModelConfig, found: TensorInfo[], want: boolean, note: (m: string) => void): ModelConfig {
  if (cfg.numNextnPredictLayers === 0) return cfg;
  if (!want) return { ...cfg, numNextnPredictLayers: 0 };
  if (found.some((t) => isMtpTensor(cfg, t.name))) return cfg;
  const L = cfg.numHiddenLayers;
  const layers = cfg.numNextnPredictLayers === 1 ? `model.layers.${L}.*` : `model.layers.${L}–${L + cfg.numNextnPredictLayers - 1}.*`;
  note(`${dir}: config.json has num_nextn_predict_layers = ${cfg.numNextnPredictLayers} but the weights hold no ${layers} tensors; loaded without MTP (no speculative decoding)`);
  return { ...cfg, numNextnPredictLayers: 0 };
}

/** Names at most `n` items: "a, b, c and 4 more". */
function listSome(items: readonly string[], n = 5): string {
  return items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} and ${items.length - n} more`;
}

/**
 * F16 weights that are really BF16 bits read as F16 all land in [2^-4, 4) in magnitude: BF16's
 * 8-bit exponent fills F16's 5-bit one with its top bits, which for any weight between 1e-10 and 100
 * are 01011…10000. A real weight matrix of thousands of elements always has smaller entries.
 */
function looksLikeBf16AsF16(data: Float32Array): boolean {
  if (data.length < 1024) return false;
  let nonzero = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a === 0) continue;
    if (a < 0.0625) return false;
    nonzero++;
  }
  return nonzero >= 1024;
}

/**
 * Checks a directory's config against its weights before anything of the model's size is allocated:
 * the element count the config implies against what the weights hold, the memory it needs against
 * what is available, and every tensor's name and shape against the safetensors headers.
 */
function checkBeforeAllocating(dir: string, cfg: AnyModelConfig, found: TensorInfo[], memoryLimit?: number, expertParts = 1): void {
  const dense = isDenseConfig(cfg);
  const f = dense ? denseFootprint(cfg) : modelFootprint(cfg);
  const held = found.reduce((n, t) => n + numelOf(t.shape), 0);
  if (f.elements > held) {
    const bytes = found.reduce((n, t) => n + t.byteLength, 0);
    throw new CheckpointError(
      `${dir}: config.json describes a model of ${f.elements.toLocaleString('en-US')} parameters (${dense ? denseSizeKeys(cfg) : sizeKeys(cfg)}), ` +
        `but the weights hold only ${held.toLocaleString('en-US')} values (${found.length} tensors, ${formatBytes(bytes)} as float32); ` +
        'the config does not belong to these weights',
    );
  }
  if (dense) checkDenseFitsMemory(cfg, memoryLimit, `${dir}/config.json`);
  else checkModelFitsMemory(cfg, memoryLimit, `${dir}/config.json`, expertParts);
  const expected: ExpectedTensor[] = dense ? [...denseTensors(cfg)] : [...modelTensors(cfg)];
  const optional = new Set(dense ? [] : mtpCopies(cfg).flatMap((c) => [c.emb, c.head]));
  // A tied-embedding checkpoint may still carry lm_head.weight; MTP copies are optional.
  const foundChecked = found.filter((t) => !optional.has(t.name) && !(cfg.tieWordEmbeddings && t.name === 'lm_head.weight'));
  checkTensors(expected, foundChecked, dir);
}

/**
 * A config declaring V3's block FP8 (`quantization_config`) needs a `weight_scale_inv` beside every
 * FP8 weight: one without would be read as raw E4M3 values, off by its block scale.
 */
function checkBlockScales(dir: string, src: TensorSource): void {
  const unscaled = src.keys().filter((k) => src.info(k).dtype.startsWith('F8_') && !src.has(k + SCALE_INV_SUFFIX));
  if (unscaled.length === 0) return;
  throw new CheckpointError(
    `${dir}: config.json declares block FP8 (quantization_config) but ${unscaled.length} FP8 tensor(s) have no ${SCALE_INV_SUFFIX} companion: ${listSome(unscaled)}`,
  );
}

/**
 * Loads a model directory (a tinyseek save, a DeepSeek checkpoint of a small configuration, or a
 * Qwen2 / Llama one such as DeepSeek-R1-Distill-Qwen at a small size), choosing the architecture by model_type.
 * config.json must state every shape key; before the model is allocated its size is checked against
 * the weights and the available memory, and every expected tensor (name, shape) against the
 * safetensors headers, all problems reported at once. FP8 weights with `weight_scale_inv` are
 * dequantized. The MTP layers are loaded when present and skipped with `mtp: false` or when absent
 * (see LoadModelOptions.mtp); their copies of embedding/head may be present or not. Tensors holding NaN or ±inf
 * (or F16 data that looks like BF16) are reported through `onWarning`.
 */
export function loadModel(dir: string, opts: LoadModelOptions = {}): CausalLM {
  const warn = opts.onWarning ?? ((m: string) => console.warn(`tinyseek: warning: ${m}`));
  const mode0 = opts.weights ?? 'f32';
  if (opts.mmap && mode0 === 'f32') {
    throw new CheckpointError(`${dir}: mmap keeps 16-bit weights in the file's pages; it needs weights 'bf16' or 'f16' (with weights 'f32' every weight is converted to float32 on load, so there is nothing to map)`);
  }
  const md = readModelDir(dir, { mmap: opts.mmap === true });
  try {
    let cfg: AnyModelConfig;
    try {
      cfg = anyConfigFromHF(md.config, { requireKeys: true });
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`${path.join(dir, 'config.json')}: ${e.message.replace(/^config\.json: /, '')}`, e.key, e.expected, e.found);
      throw e;
    }
    let found = loadedTensorInfos(md.tensors);
    if (!isDenseConfig(cfg)) {
      if (cfg.extra.quantization_config) checkBlockScales(dir, md.tensors);
      const full = cfg;
      cfg = withMtpChoice(dir, cfg, found, opts.mtp ?? true, warn);
      // Skipped MTP layers are not checked or read.
      if (cfg.numNextnPredictLayers < full.numNextnPredictLayers) found = found.filter((t) => !isMtpTensor(full, t.name));
    }
    const mode = opts.weights ?? 'f32';
    if (!WEIGHTS_MODES.includes(mode)) throw new CheckpointError(`loadModel: weights must be one of ${WEIGHTS_MODES.join(', ')}; found ${JSON.stringify(mode)}`);
    if (opts.experts && isDenseConfig(cfg)) throw new CheckpointError(`${dir}: expert parallelism spreads routed experts over ranks, but this is a dense ${cfg.modelType} model without experts`);
    checkBeforeAllocating(dir, cfg, found, opts.memoryLimit, opts.experts?.parts ?? 1);
    const c = cfg;
    // Linear weights get no (random) float32 data at construction: each is allocated just before its
    // values are read (16-bit modes: only those that stay float32, so there is no float32 peak).
    const model = withDeferredLinearInit(() => createModel(c, 0));
    if (opts.experts) opts.experts.keep(model as DeepseekV3);
    const nonFinite: string[] = [];
    const bf16Like: string[] = [];
    const keep = new Map<string, Linear>();
    const allLinears = linearsByWeight(model);
    const linears = mode === 'f32' ? null : allLinears;
    if (linears) {
      const want = mode === 'bf16' ? 'BF16' : 'F16';
      const stored = new Map<string, number>();
      for (const [name, lin] of linears) {
        if (!residentOk(name)) continue;
        const d = md.tensors.info(name).dtype;
        stored.set(d, (stored.get(d) ?? 0) + 1);
        if (d === want) keep.set(name, lin);
      }
      if (keep.size === 0) {
        throw new CheckpointError(`${dir}: weights '${mode}' keeps Linear weights stored as ${want} 16-bit, but this checkpoint stores its ${[...stored.values()].reduce((a, b) => a + b, 0)} Linear weights as ${[...stored].map(([d, n]) => `${d} (${n})`).join(', ')}; use weights 'f32'${stored.has(want === 'BF16' ? 'F16' : 'BF16') ? ` or '${want === 'BF16' ? 'f16' : 'bf16'}'` : ''}`);
      }
      model.eval(); // inference only: Linear.train(true) refuses once a weight is 16-bit
    }
    for (const [name, t] of model.stateDict()) {
      const lin = keep.get(name);
      if (lin) {
        const rec = md.tensors.read(name);
        const raw = rec.data as Uint16Array;
        // memory-mapped: the view into the mapping as it is; read: the read's own buffer when the data
        // fills it (a copy beside the freed read would fragment the heap)
        const bits = opts.mmap || (raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength) ? raw : raw.slice();
        const bad = opts.mmap ? 0 : nonFinite16(bits, mode === 'f16');
        if (bad > 0) nonFinite.push(`${name} (${bad} of ${bits.length})`);
        lin.keep16(mode as 'bf16' | 'f16', bits);
        continue;
      }
      (linears ?? allLinears).get(name)?.allocate();
      const data = readFloat32(md.tensors, name);
      let bad = 0;
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
      if (bad > 0) nonFinite.push(`${name} (${bad} of ${data.length})`);
      else if (md.tensors.info(name).dtype === 'F16' && looksLikeBf16AsF16(data)) bf16Like.push(name);
      t.f32().set(data);
    }
    if (nonFinite.length > 0) {
      warn(`${dir}: ${nonFinite.length} tensor(s) hold NaN or infinite values (the model's outputs may be NaN): ${listSome(nonFinite)}`);
    }
    if (bf16Like.length > 0) {
      warn(`${dir}: ${bf16Like.length} tensor(s) stored as F16 have no element below 0.0625 in magnitude, the signature of BF16 data labelled F16: ${listSome(bf16Like)}`);
    }
    return model;
  } finally {
    md.tensors.close();
  }
}

/** Whether a directory looks like a model directory (has config.json and weights). */
export function isModelDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && (fs.existsSync(path.join(dir, 'model.safetensors')) || fs.existsSync(path.join(dir, 'model.safetensors.index.json')));
}

export { CheckpointError };
