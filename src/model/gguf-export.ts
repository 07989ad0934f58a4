// Export of a DeepseekV3 (+ its byte-level BPE tokenizer) to GGUF for llama.cpp's `deepseek2`
// architecture, as ../shared/reference/gguf-deepseek2.md and llama.cpp's loader
// (src/models/deepseek2.cpp, convert_hf_to_gguf.py DeepseekV2Model) expect:
//
//   * MLA form: head_count_kv = 1, key_length = kv_lora_rank + rope, value_length = kv_lora_rank,
//     key_length_mla = qk_nope + qk_rope, value_length_mla = v_head_dim, and kv_b_proj split into
//     attn_k_b [H, r, dn] (the k half transposed) and attn_v_b [H, dv, r].
//   * Routed experts stacked into ffn_{gate,up,down}_exps [X, ·, ·], shared experts as *_shexp,
//     the router as ffn_gate_inp and e_score_correction_bias as exp_probs_b.bias.
//   * Tokenizer: `gpt2` (byte-level BPE) with pre-tokenizer "smollm": llama.cpp splits every \p{N}
//     character into its own piece, then applies GPT-2's regex — the same Sequence(Digits(individual),
//     ByteLevel) that tinyseek's tokenizer runs (llama-vocab.cpp: STARCODER/REFACT/SMOLLM/… share these
//     two regexes; "smollm" also sets clean_spaces = false, matching clean_up_tokenization_spaces = false).
//     One difference remains: llama.cpp's \p{N} also isolates non-ASCII numerals ("²", "٣"), which
//     tinyseek's Digits (ASCII \d) leaves to the GPT-2 regex.
//   * MTP: the module is appended as block N (block_count = N + nextn_predict_layers) with its
//     decoder-layer tensors under the usual names plus blk.N.nextn.{eh_proj,enorm,hnorm,shared_head_norm};
//     the embedding and head are shared (llama.cpp falls back to token_embd / output when
//     nextn.embed_tokens / nextn.shared_head_head are absent). `mtp: false` omits it.
// Shapes below are row-major (PyTorch order); the writer stores them reversed as ggml dims.
import path from 'node:path';
import type { Tokenizer } from '../tokenizer/index.js';
import { writeGguf, gguf } from '../io/gguf.js';
import type { GgmlTypeName, GgufInputValue, GgufTensorInput } from '../io/gguf.js';
import { GgufError } from '../io/errors.js';
import { DeepseekV3 } from './model.js';
import type { CausalLM } from './causal-lm.js';
import { DenseForCausalLM } from './dense/model.js';
import { exportDenseGguf } from './dense/gguf-export.js';
import type { ModelConfig } from './config.js';
import { isMoeLayer } from './config.js';
import { MoE } from './moe.js';
import { MLP } from './mlp.js';
import type { Block } from './block.js';

/** The tokenizer parts the exporter reads (a `Tokenizer` has them). */
export type GgufTokenizerSource = Pick<Tokenizer, 'data' | 'config'>;

/** Storage type of the weight matrices (norms, biases and the router stay F32, as llama.cpp's converter does). */
export type GgufExportDtype = 'f32' | 'f16';

/** Options of exportGguf. */
export interface GgufExportOptions {
  /** Weight storage type (default f32). */
  dtype?: GgufExportDtype;
  /** Include the MTP module(s) (default true when the model has them). */
  mtp?: boolean;
  /** general.name (default "tinyseek"). */
  name?: string;
  /** The chat template written as tokenizer.chat_template (default: the tokenizer's "default"). */
  chatTemplate?: string;
}

/** What exportGguf wrote. */
export interface GgufExportResult {
  path: string;
  bytes: number;
  tensors: number;
  metadataKeys: number;
  dtype: GgufExportDtype;
  mtpIncluded: boolean;
  /** Configuration features llama.cpp can only approximate (empty for the nano/mini/V3 shapes). */
  warnings: string[];
}

/** llama_expert_gating_func_type. */
const GATING = { softmax: 1, sigmoid: 2 } as const;
/** llama_token_type. */
const TOKEN_TYPE = { normal: 1, control: 3, unused: 5 } as const;
/** llama_ftype: ALL_F32 = 0, MOSTLY_F16 = 1. */
export const FILE_TYPE: Record<GgufExportDtype, number> = { f32: 0, f16: 1 };

/** The pre-tokenizer name written to tokenizer.ggml.pre (see the header comment). */
export const GGUF_PRE_TOKENIZER = 'smollm';

/**
 * tokenizer.ggml.pre for a tokenizer: tinyseek's own → GGUF_PRE_TOKENIZER; a Hugging Face file →
 * the name llama.cpp's convert_hf_to_gguf gives its pre-tokenizer regex (DeepSeek-V3, Qwen2/3,
 * Llama-3); any other → a GgufError (llama.cpp would split text differently).
 */
export function ggufPreTokenizer(tok: GgufTokenizerSource): string {
  const f = tok.data.foreign;
  if (!f) return GGUF_PRE_TOKENIZER;
  // The Split regexes of the pre-tokenizer, as written in tokenizer.json.
  const regexes: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (typeof x === 'object' && x !== null) {
      const o = x as Record<string, unknown>;
      if (typeof o.Regex === 'string') regexes.push(o.Regex);
      Object.values(o).forEach(walk);
    }
  };
  walk(f.preTokenizer);
  const has = (needle: string) => regexes.some((r) => r.includes(needle));
  if (has('[一-龥぀-ゟ゠-ヿ]+')) return 'deepseek-v3';
  const words = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|`;
  if (has(words + String.raw`\p{N}{1,3}`)) return 'llama-bpe';
  if (has(words + String.raw`\p{N}|`)) return 'qwen2';
  throw new GgufError("GGUF export: the tokenizer's pre_tokenizer is not one llama.cpp names (deepseek-v3, qwen2, llama-bpe); llama.cpp would split its text differently");
}

/** Throws for configurations llama.cpp's deepseek2 cannot represent; returns warnings for approximations. */
export function checkGgufCompat(cfg: ModelConfig): string[] {
  const warnings: string[] = [];
  const freq = typeof cfg.extra.moe_layer_freq === 'number' ? cfg.extra.moe_layer_freq : 1;
  if (freq !== 1) throw new GgufError(`GGUF deepseek2 export: moe_layer_freq must be 1 (every layer after leading_dense_block_count is MoE), found ${freq}`);
  if (cfg.firstKDenseReplace >= cfg.numHiddenLayers && cfg.numNextnPredictLayers > 0) {
    warnings.push('every main layer is dense; llama.cpp expects the MTP block to be MoE');
  }
  const grouped = cfg.topkMethod !== 'greedy' && cfg.nGroup > 1 && cfg.topkGroup < cfg.nGroup;
  if (grouped && cfg.topkMethod === 'group_limited_greedy') {
    warnings.push('group_limited_greedy scores a group by its max; llama.cpp always uses the sum of its top-2 scores (noaux_tc)');
  }
  const y = cfg.ropeScaling;
  if (y && y.factor > 1) {
    // llama.cpp reads only mscale_all_dim (yarn_log_multiplier) and assumes mscale = mscale_all_dim (≠ 1) or 1.
    const assumed = y.mscaleAllDim !== 1 ? y.mscaleAllDim : 1;
    if (y.mscaleAllDim === 0) warnings.push('rope_scaling.mscale_all_dim = 0: llama.cpp then scales attention by mscale(factor, 1)²; tinyseek does not');
    else if (y.mscale !== assumed) warnings.push(`rope_scaling.mscale ${y.mscale} ≠ ${assumed}: llama.cpp assumes mscale = ${assumed} (RoPE magnitude differs)`);
  }
  return warnings;
}

/** The GGUF metadata of a model + tokenizer, in the order written. */
export function ggufMetadata(cfg: ModelConfig, tok: GgufTokenizerSource, opts: GgufExportOptions = {}): Map<string, GgufInputValue> {
  const A = 'deepseek2';
  const dtype = opts.dtype ?? 'f32';
  const mtp = (opts.mtp ?? true) && cfg.numNextnPredictLayers > 0;
  const m = new Map<string, GgufInputValue>();
  const set = (k: string, v: GgufInputValue) => m.set(k, v);
  set('general.architecture', A);
  set('general.name', opts.name ?? 'tinyseek');
  set('general.file_type', gguf.u32(FILE_TYPE[dtype]));
  set(`${A}.vocab_size`, gguf.u32(cfg.vocabSize));
  set(`${A}.context_length`, gguf.u32(cfg.maxPositionEmbeddings));
  set(`${A}.embedding_length`, gguf.u32(cfg.hiddenSize));
  set(`${A}.feed_forward_length`, gguf.u32(cfg.intermediateSize));
  set(`${A}.block_count`, gguf.u32(cfg.numHiddenLayers + (mtp ? cfg.numNextnPredictLayers : 0)));
  if (mtp) set(`${A}.nextn_predict_layers`, gguf.u32(cfg.numNextnPredictLayers));
  set(`${A}.leading_dense_block_count`, gguf.u32(cfg.firstKDenseReplace));
  // Attention (MLA form: one latent "kv head" of kv_lora_rank + rope values).
  set(`${A}.attention.head_count`, gguf.u32(cfg.numAttentionHeads));
  set(`${A}.attention.head_count_kv`, gguf.u32(1));
  set(`${A}.attention.key_length`, gguf.u32(cfg.kvLoraRank + cfg.qkRopeHeadDim));
  set(`${A}.attention.value_length`, gguf.u32(cfg.kvLoraRank));
  set(`${A}.attention.key_length_mla`, gguf.u32(cfg.qkNopeHeadDim + cfg.qkRopeHeadDim));
  set(`${A}.attention.value_length_mla`, gguf.u32(cfg.vHeadDim));
  set(`${A}.attention.layer_norm_rms_epsilon`, gguf.f32(cfg.rmsNormEps));
  set(`${A}.attention.q_lora_rank`, gguf.u32(cfg.qLoraRank ?? 0));
  set(`${A}.attention.kv_lora_rank`, gguf.u32(cfg.kvLoraRank));
  // RoPE on the decoupled dims only (LLAMA_ROPE_TYPE_NORM: adjacent pairs, as DeepSeek).
  set(`${A}.rope.dimension_count`, gguf.u32(cfg.qkRopeHeadDim));
  set(`${A}.rope.freq_base`, gguf.f32(cfg.ropeTheta));
  const y = cfg.ropeScaling;
  if (y && y.factor > 1) {
    set(`${A}.rope.scaling.type`, 'yarn');
    set(`${A}.rope.scaling.factor`, gguf.f32(y.factor));
    set(`${A}.rope.scaling.original_context_length`, gguf.u32(y.originalMaxPositionEmbeddings));
    // Stored ×0.1 as convert_hf_to_gguf.py does; llama.cpp divides it back ([TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]).
    set(`${A}.rope.scaling.yarn_log_multiplier`, gguf.f32(0.1 * y.mscaleAllDim));
    set(`${A}.rope.scaling.yarn_beta_fast`, gguf.f32(y.betaFast));
    set(`${A}.rope.scaling.yarn_beta_slow`, gguf.f32(y.betaSlow));
  }
  // DeepSeekMoE.
  set(`${A}.expert_count`, gguf.u32(cfg.nRoutedExperts));
  set(`${A}.expert_used_count`, gguf.u32(cfg.numExpertsPerTok));
  set(`${A}.expert_feed_forward_length`, gguf.u32(cfg.moeIntermediateSize));
  set(`${A}.expert_shared_count`, gguf.u32(cfg.nSharedExperts));
  set(`${A}.expert_weights_scale`, gguf.f32(cfg.routedScalingFactor));
  // HF deepseek_v2 normalizes only when k > 1; deepseek_v3 whenever norm_topk_prob.
  set(`${A}.expert_weights_norm`, gguf.bool(cfg.normTopkProb && (cfg.modelType === 'deepseek_v3' || cfg.numExpertsPerTok > 1)));
  set(`${A}.expert_gating_func`, gguf.u32(GATING[cfg.scoringFunc]));
  // llama.cpp asserts group_used < group_count; "no limit" is expressed by leaving the keys out.
  if (cfg.topkMethod !== 'greedy' && cfg.nGroup > 1 && cfg.topkGroup < cfg.nGroup) {
    set(`${A}.expert_group_count`, gguf.u32(cfg.nGroup));
    set(`${A}.expert_group_used_count`, gguf.u32(cfg.topkGroup));
  }
  for (const [k, v] of tokenizerMetadata(cfg, tok, opts.chatTemplate)) set(k, v);
  return m;
}

/** tokenizer.ggml.* metadata: gpt2 (byte-level BPE) with tokens padded to vocab_size (shared by every architecture). */
export function tokenizerMetadata(cfg: { vocabSize: number }, tok: GgufTokenizerSource, chatTemplate?: string): Map<string, GgufInputValue> {
  const V = cfg.vocabSize;
  const tokens: string[] = new Array<string>(V);
  const types = new Int32Array(V).fill(TOKEN_TYPE.unused);
  for (const [t, id] of tok.data.vocab) {
    if (id >= V) throw new GgufError(`GGUF export: tokenizer id ${id} (${JSON.stringify(t)}) is outside the model's vocab_size ${V}`);
    tokens[id] = t;
    types[id] = TOKEN_TYPE.normal;
  }
  // Special tokens are CONTROL, as convert_hf_to_gguf marks added tokens with special: true (all of
  // tinyseek's are); like tinyseek's encode, llama.cpp then matches them in text only on request.
  for (const s of tok.data.specialTokens) types[tok.data.vocab.get(s)!] = TOKEN_TYPE.control;
  for (let i = 0; i < V; i++) if (tokens[i] === undefined) tokens[i] = `[PAD${i}]`;
  const id = (s: string) => {
    const v = tok.data.vocab.get(s);
    if (v === undefined) throw new GgufError(`GGUF export: tokenizer has no token ${JSON.stringify(s)}`);
    return v;
  };
  const m = new Map<string, GgufInputValue>();
  m.set('tokenizer.ggml.model', 'gpt2');
  m.set('tokenizer.ggml.pre', ggufPreTokenizer(tok));
  m.set('tokenizer.ggml.tokens', gguf.strs(tokens));
  m.set('tokenizer.ggml.token_type', gguf.arr('int32', types));
  m.set('tokenizer.ggml.merges', gguf.strs(tok.data.merges.map(([a, b]) => `${a} ${b}`)));
  if (tok.config.bos_token !== null) m.set('tokenizer.ggml.bos_token_id', gguf.u32(id(tok.config.bos_token)));
  m.set('tokenizer.ggml.eos_token_id', gguf.u32(id(tok.config.eos_token as string)));
  m.set('tokenizer.ggml.padding_token_id', gguf.u32(id(tok.config.pad_token ?? (tok.config.eos_token as string))));
  // The chat template writes {{ bos_token }} itself, so llama.cpp must not add another one.
  m.set('tokenizer.ggml.add_bos_token', gguf.bool(tok.config.add_bos_token));
  m.set('tokenizer.ggml.add_eos_token', gguf.bool(tok.config.add_eos_token));
  const template = chatTemplate ?? tok.config.chat_template.find((t) => t.name === 'default')?.template ?? tok.config.chat_template[0]?.template;
  if (template) m.set('tokenizer.chat_template', template);
  return m;
}

/** The GGUF tensors of a model (data produced lazily, one tensor at a time). */
export function ggufTensors(model: DeepseekV3, opts: GgufExportOptions = {}): GgufTensorInput[] {
  const cfg = model.cfg;
  const dtype = opts.dtype ?? 'f32';
  const mtp = (opts.mtp ?? true) && cfg.numNextnPredictLayers > 0;
  const W: GgmlTypeName = dtype === 'f16' ? 'F16' : 'F32';
  const out: GgufTensorInput[] = [];
  const f32 = (name: string, shape: readonly number[], data: () => Float32Array) => out.push({ name, shape, type: 'F32', data });
  const mat = (name: string, shape: readonly number[], data: () => Float32Array) => out.push({ name, shape, type: W, data });

  const emb = model.model.embedTokens.weight;
  mat('token_embd.weight', emb.shape, () => emb.f32());
  f32('output_norm.weight', model.model.norm.weight.shape, () => model.model.norm.weight.f32());
  if (model.lmHead) mat('output.weight', model.lmHead.weight.shape, () => model.lmHead!.weight.f32());

  const blocks: { idx: number; block: Block }[] = model.model.layers.map((b, i) => ({ idx: i, block: b }));
  if (mtp) model.model.mtp.forEach((m, k) => blocks.push({ idx: cfg.numHiddenLayers + k, block: m.block }));
  for (const { idx, block } of blocks) {
    const p = `blk.${idx}.`;
    const a = block.selfAttn;
    const { H, dn, dv, r } = a;
    f32(`${p}attn_norm.weight`, [cfg.hiddenSize], () => block.inputLayernorm.weight.f32());
    if (a.qAProj) {
      mat(`${p}attn_q_a.weight`, a.qAProj.weight.shape, () => a.qAProj!.weight.f32());
      f32(`${p}attn_q_a_norm.weight`, a.qANorm!.weight.shape, () => a.qANorm!.weight.f32());
      mat(`${p}attn_q_b.weight`, a.qBProj!.weight.shape, () => a.qBProj!.weight.f32());
    } else {
      mat(`${p}attn_q.weight`, a.qProj!.weight.shape, () => a.qProj!.weight.f32());
    }
    mat(`${p}attn_kv_a_mqa.weight`, a.kvAProj.weight.shape, () => a.kvAProj.weight.f32());
    f32(`${p}attn_kv_a_norm.weight`, a.kvANorm.weight.shape, () => a.kvANorm.weight.f32());
    // kv_b_proj.weight [H·(dn+dv), r] viewed [H, dn+dv, r]: k rows → [H, r, dn] (transposed), v rows → [H, dv, r].
    // These two stay F32 in an F16 export: on CPUs with AMX (Sapphire Rapids and later) llama.cpp moves an F16
    // matrix into its AMX buffer when a contiguous test product fits, but deepseek2 multiplies k_b/v_b by permuted
    // (non-contiguous) activations, which neither AMX nor the plain CPU path accepts from that buffer, and the
    // scheduler aborts (GGML_ASSERT(*cur_backend_id != -1), seen with node-llama-cpp 3.21.1). F32 is never moved there.
    f32(`${p}attn_k_b.weight`, [H, r, dn], () => splitKvB(a.kvBProj.weight.f32(), H, dn, dv, r).k);
    f32(`${p}attn_v_b.weight`, [H, dv, r], () => splitKvB(a.kvBProj.weight.f32(), H, dn, dv, r).v);
    mat(`${p}attn_output.weight`, a.oProj.weight.shape, () => a.oProj.weight.f32());
    f32(`${p}ffn_norm.weight`, [cfg.hiddenSize], () => block.postAttentionLayernorm.weight.f32());
    const mlp = block.mlp;
    if (mlp instanceof MoE) {
      if (!isMoeLayer(cfg, idx)) throw new GgufError(`GGUF export: layer ${idx} is MoE but leading_dense_block_count says dense`);
      const X = cfg.nRoutedExperts, f = cfg.moeIntermediateSize, D = cfg.hiddenSize;
      // The router stays F32 (convert_hf_to_gguf keeps ffn_gate_inp in F32).
      f32(`${p}ffn_gate_inp.weight`, mlp.gate.weight.shape, () => mlp.gate.weight.f32());
      if (mlp.gate.bias) f32(`${p}exp_probs_b.bias`, mlp.gate.bias.shape, () => mlp.gate.bias!.f32());
      mat(`${p}ffn_gate_exps.weight`, [X, f, D], () => stack(mlp.experts.map((e) => e.gateProj.weight.f32())));
      mat(`${p}ffn_up_exps.weight`, [X, f, D], () => stack(mlp.experts.map((e) => e.upProj.weight.f32())));
      mat(`${p}ffn_down_exps.weight`, [X, D, f], () => stack(mlp.experts.map((e) => e.downProj.weight.f32())));
      const sh = mlp.sharedExperts;
      if (!sh) throw new GgufError('GGUF export: llama.cpp deepseek2 requires shared experts (n_shared_experts ≥ 1)');
      mat(`${p}ffn_gate_shexp.weight`, sh.gateProj.weight.shape, () => sh.gateProj.weight.f32());
      mat(`${p}ffn_up_shexp.weight`, sh.upProj.weight.shape, () => sh.upProj.weight.f32());
      mat(`${p}ffn_down_shexp.weight`, sh.downProj.weight.shape, () => sh.downProj.weight.f32());
    } else if (mlp instanceof MLP) {
      mat(`${p}ffn_gate.weight`, mlp.gateProj.weight.shape, () => mlp.gateProj.weight.f32());
      mat(`${p}ffn_up.weight`, mlp.upProj.weight.shape, () => mlp.upProj.weight.f32());
      mat(`${p}ffn_down.weight`, mlp.downProj.weight.shape, () => mlp.downProj.weight.f32());
    }
  }
  if (mtp) {
    model.model.mtp.forEach((m, k) => {
      const p = `blk.${cfg.numHiddenLayers + k}.nextn.`;
      mat(`${p}eh_proj.weight`, m.ehProj.weight.shape, () => m.ehProj.weight.f32());
      f32(`${p}enorm.weight`, m.enorm.weight.shape, () => m.enorm.weight.f32());
      f32(`${p}hnorm.weight`, m.hnorm.weight.shape, () => m.hnorm.weight.f32());
      f32(`${p}shared_head_norm.weight`, m.headNorm.weight.shape, () => m.headNorm.weight.f32());
    });
  }
  return out;
}

/** Splits kv_b_proj.weight [H·(dn+dv), r] into k_b [H, r, dn] (transposed) and v_b [H, dv, r]. */
export function splitKvB(w: Float32Array, H: number, dn: number, dv: number, r: number): { k: Float32Array; v: Float32Array } {
  const k = new Float32Array(H * r * dn);
  const v = new Float32Array(H * dv * r);
  for (let h = 0; h < H; h++) {
    const base = h * (dn + dv) * r;
    for (let i = 0; i < dn; i++) for (let j = 0; j < r; j++) k[(h * r + j) * dn + i] = w[base + i * r + j];
    v.set(w.subarray(base + dn * r, base + (dn + dv) * r), h * dv * r);
  }
  return { k, v };
}

function stack(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * Writes `model` and its tokenizer as a GGUF file (atomically): DeepSeek-V3/V2 as llama.cpp's
 * `deepseek2`, a dense student as `qwen2` / `llama` (./dense/gguf-export.ts).
 */
export function exportGguf(model: CausalLM, tok: GgufTokenizerSource, outPath: string, opts: GgufExportOptions = {}): GgufExportResult {
  if (model instanceof DenseForCausalLM) return exportDenseGguf(model, tok, outPath, opts);
  if (!(model instanceof DeepseekV3)) throw new GgufError(`GGUF export: unknown model class ${model.constructor.name}`);
  const cfg = model.cfg;
  const warnings = checkGgufCompat(cfg);
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new GgufError(`GGUF export: dtype must be f32 or f16, found ${JSON.stringify(dtype)}`);
  const name = opts.name ?? path.basename(path.resolve(outPath)).replace(/\.gguf$/i, '');
  const full = { ...opts, dtype, name };
  const metadata = ggufMetadata(cfg, tok, full);
  const tensors = ggufTensors(model, full);
  const bytes = writeGguf(outPath, metadata, tensors);
  return {
    path: outPath, bytes, tensors: tensors.length, metadataKeys: metadata.size, dtype,
    mtpIncluded: (opts.mtp ?? true) && cfg.numNextnPredictLayers > 0, warnings,
  };
}
