// Export of a dense Qwen2 / Llama student (+ its byte-level BPE tokenizer) to GGUF for llama.cpp's
// `qwen2` and `llama` architectures, as llama.cpp's convert_hf_to_gguf.py (Qwen2Model, LlamaModel)
// writes them:
//
//   * metadata `{arch}.context_length, embedding_length, feed_forward_length, block_count,
//     attention.head_count, attention.head_count_kv, attention.key_length / value_length (head_dim),
//     attention.layer_norm_rms_epsilon, rope.dimension_count, rope.freq_base, vocab_size`;
//   * tensors token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
//     ffn_up, ffn_down}, output_norm, output (absent when tied: llama.cpp then reuses token_embd);
//     q/k/v biases as attn_{q,k,v}.bias (Qwen2 always; Llama with attention_bias, plus attn_output.bias).
//   * RoPE: llama.cpp runs `qwen2` with LLAMA_ROPE_TYPE_NEOX (rotate-half, as Hugging Face), so its
//     weights go over unchanged; `llama` runs LLAMA_ROPE_TYPE_NORM (adjacent pairs, Meta's original
//     layout), so — like convert_hf_to_gguf.py's LlamaModel.permute — the rows of q_proj (per query
//     head) and k_proj (per kv head), and their biases, are permuted from HF's rotate-half order
//     [x0 … x_{d/2−1} | x_{d/2} … x_{d−1}] to interleaved pairs [x0, x_{d/2}, x1, x_{d/2+1}, …].
//   * Tokenizer: as for deepseek2 (../gguf-export.ts: gpt2 + the pre-tokenizer llama.cpp names).
// Shapes below are row-major (PyTorch order); the writer stores them reversed as ggml dims.
import path from 'node:path';
import { writeGguf, gguf } from '../../io/gguf.js';
import type { GgmlTypeName, GgufInputValue, GgufTensorInput } from '../../io/gguf.js';
import { GgufError } from '../../io/errors.js';
import type { Tensor } from '../../tensor/index.js';
import type { DenseConfig } from './config.js';
import type { DenseForCausalLM } from './model.js';
import { FILE_TYPE, tokenizerMetadata } from '../gguf-export.js';
import type { GgufExportOptions, GgufExportResult, GgufTokenizerSource } from '../gguf-export.js';

/** The GGUF metadata of a dense model + tokenizer, in the order written. */
export function denseGgufMetadata(cfg: DenseConfig, tok: GgufTokenizerSource, opts: GgufExportOptions = {}): Map<string, GgufInputValue> {
  const A = cfg.modelType; // llama.cpp's architecture names equal HF's model_type here
  const dtype = opts.dtype ?? 'f32';
  const m = new Map<string, GgufInputValue>();
  const set = (k: string, v: GgufInputValue) => m.set(k, v);
  set('general.architecture', A);
  set('general.name', opts.name ?? 'tinyseek');
  set('general.file_type', gguf.u32(FILE_TYPE[dtype]));
  set(`${A}.vocab_size`, gguf.u32(cfg.vocabSize));
  set(`${A}.context_length`, gguf.u32(cfg.maxPositionEmbeddings));
  set(`${A}.embedding_length`, gguf.u32(cfg.hiddenSize));
  set(`${A}.feed_forward_length`, gguf.u32(cfg.intermediateSize));
  set(`${A}.block_count`, gguf.u32(cfg.numHiddenLayers));
  set(`${A}.attention.head_count`, gguf.u32(cfg.numAttentionHeads));
  set(`${A}.attention.head_count_kv`, gguf.u32(cfg.numKeyValueHeads));
  set(`${A}.attention.key_length`, gguf.u32(cfg.headDim));
  set(`${A}.attention.value_length`, gguf.u32(cfg.headDim));
  set(`${A}.attention.layer_norm_rms_epsilon`, gguf.f32(cfg.rmsNormEps));
  set(`${A}.rope.dimension_count`, gguf.u32(cfg.headDim));
  set(`${A}.rope.freq_base`, gguf.f32(cfg.ropeTheta));
  for (const [k, v] of tokenizerMetadata(cfg, tok, opts.chatTemplate)) set(k, v);
  return m;
}

/**
 * LlamaModel.permute of convert_hf_to_gguf.py: rows [heads·d, ...] viewed [heads, 2, d/2, cols] →
 * [heads, d/2, 2, cols], i.e. GGUF row h·d + 2i + j = HF row h·d + j·d/2 + i. `cols` = 1 for a bias.
 */
export function permuteRotateHalfToPairs(w: Float32Array, heads: number, d: number, cols: number): Float32Array {
  if (w.length !== heads * d * cols) throw new GgufError(`GGUF llama export: cannot permute ${w.length} values as ${heads} heads × ${d} × ${cols}`);
  const out = new Float32Array(w.length);
  const half = d / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * d + j * half + i) * cols;
        out.set(w.subarray(src, src + cols), (h * d + 2 * i + j) * cols);
      }
    }
  }
  return out;
}

/** The GGUF tensors of a dense model (data produced lazily, one tensor at a time). */
export function denseGgufTensors(model: DenseForCausalLM, opts: GgufExportOptions = {}): GgufTensorInput[] {
  const cfg = model.cfg;
  const W: GgmlTypeName = (opts.dtype ?? 'f32') === 'f16' ? 'F16' : 'F32';
  const out: GgufTensorInput[] = [];
  const f32 = (name: string, t: Tensor, data = () => t.f32()) => out.push({ name, shape: t.shape, type: 'F32', data });
  const mat = (name: string, t: Tensor, data = () => t.f32()) => out.push({ name, shape: t.shape, type: W, data });
  // llama's NORM RoPE wants q/k rows in adjacent-pair order; qwen2's NEOX RoPE takes HF's as is.
  const pairs = cfg.modelType === 'llama';
  const rows = (t: Tensor, heads: number) => () => (pairs ? permuteRotateHalfToPairs(t.f32(), heads, cfg.headDim, t.ndim === 2 ? t.shape[1] : 1) : t.f32());

  mat('token_embd.weight', model.model.embedTokens.weight);
  f32('output_norm.weight', model.model.norm.weight);
  if (model.lmHead) mat('output.weight', model.lmHead.weight);
  model.model.layers.forEach((block, l) => {
    const p = `blk.${l}.`;
    const a = block.selfAttn;
    f32(`${p}attn_norm.weight`, block.inputLayernorm.weight);
    mat(`${p}attn_q.weight`, a.qProj.weight, rows(a.qProj.weight, cfg.numAttentionHeads));
    if (a.qProj.bias) f32(`${p}attn_q.bias`, a.qProj.bias, rows(a.qProj.bias, cfg.numAttentionHeads));
    mat(`${p}attn_k.weight`, a.kProj.weight, rows(a.kProj.weight, cfg.numKeyValueHeads));
    if (a.kProj.bias) f32(`${p}attn_k.bias`, a.kProj.bias, rows(a.kProj.bias, cfg.numKeyValueHeads));
    mat(`${p}attn_v.weight`, a.vProj.weight);
    if (a.vProj.bias) f32(`${p}attn_v.bias`, a.vProj.bias);
    mat(`${p}attn_output.weight`, a.oProj.weight);
    if (a.oProj.bias) f32(`${p}attn_output.bias`, a.oProj.bias);
    f32(`${p}ffn_norm.weight`, block.postAttentionLayernorm.weight);
    mat(`${p}ffn_gate.weight`, block.mlp.gateProj.weight);
    mat(`${p}ffn_up.weight`, block.mlp.upProj.weight);
    mat(`${p}ffn_down.weight`, block.mlp.downProj.weight);
  });
  return out;
}

/** Writes a dense model and its tokenizer as a `qwen2` / `llama` GGUF file (atomically). */
export function exportDenseGguf(model: DenseForCausalLM, tok: GgufTokenizerSource, outPath: string, opts: GgufExportOptions = {}): GgufExportResult {
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new GgufError(`GGUF export: dtype must be f32 or f16, found ${JSON.stringify(dtype)}`);
  const name = opts.name ?? path.basename(path.resolve(outPath)).replace(/\.gguf$/i, '');
  const full = { ...opts, dtype, name };
  const metadata = denseGgufMetadata(model.cfg, tok, full);
  const tensors = denseGgufTensors(model, full);
  const bytes = writeGguf(outPath, metadata, tensors);
  return { path: outPath, bytes, tensors: tensors.length, metadataKeys: metadata.size, dtype, mtpIncluded: false, warnings: [] };
}
