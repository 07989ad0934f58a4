// A float64 reference forward of a dense Qwen2 / Llama model, written from transformers'
// modeling_qwen2.py / modeling_llama.py and nothing of tinyseek but its weights (read by their HF
// names, widened to float64): embed → [RMSNorm → q/k/v (+bias) → rotate-half RoPE with
// inv_freq = θ^(−2i/d) → causal GQA softmax(q·kᵀ/√d)·v → o_proj (+bias) → residual → RMSNorm →
// down(silu(gate)·up) → residual] → norm → lm_head or the tied embedding → softmax. The oracle that
// tells which of two float32 engines (tinyseek, llama.cpp) is the less exact one.
import type { DenseConfig } from '../../src/model/dense/config.js';
import type { Tensor } from '../../src/tensor/index.js';

interface Named {
  cfg: DenseConfig;
  namedTensors(): [string, Tensor][];
}

/** y[n, o] = Σ_i x[n, i]·W[o, i] + b[o], W [O, I] row-major. */
function linear(x: Float64Array, n: number, W: Float64Array, O: number, I: number, b?: Float64Array): Float64Array {
  const y = new Float64Array(n * O);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[r * I + i] * W[o * I + i];
      y[r * O + o] = s;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, n: number, D: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(n * D);
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r * D + i] ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) y[r * D + i] = x[r * D + i] * inv * w[i];
  }
  return y;
}

/** The rotation angles' cos and sin, [T, d/2]: angle t·base^(−2i/d), in float64. */
function ropeAngles(T: number, d: number, base: number): { cos: Float64Array; sin: Float64Array } {
  const half = d / 2;
  const cos = new Float64Array(T * half), sin = new Float64Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = t * Math.pow(base, -(2 * i) / d);
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** HF apply_rotary_pos_emb on x [T, H, d] in place: pairs (x[i], x[i + d/2]) rotated by the angles [T, d/2]. */
function ropeHalf(x: Float64Array, T: number, H: number, d: number, ang: { cos: Float64Array; sin: Float64Array }): void {
  const half = d / 2;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const c = ang.cos[t * half + i], s = ang.sin[t * half + i];
      for (let h = 0; h < H; h++) {
        const o = (t * H + h) * d;
        const x1 = x[o + i], x2 = x[o + i + half];
        x[o + i] = x1 * c - x2 * s;
        x[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

/** Next-token logits (float64, whole vocabulary) after the token sequence `ids`. */
export function denseNextTokenLogitsF64(model: Named, ids: number[]): Float64Array {
  const c = model.cfg;
  const W = new Map<string, Float64Array>();
  for (const [name, t] of model.namedTensors()) W.set(name, Float64Array.from(t.f32()));
  const get = (k: string) => {
    const w = W.get(k);
    if (!w) throw new Error(`float64 reference: no tensor ${k}`);
    return w;
  };
  const T = ids.length, D = c.hiddenSize, H = c.numAttentionHeads, Hkv = c.numKeyValueHeads, d = c.headDim, I = c.intermediateSize, V = c.vocabSize;
  const emb = get('model.embed_tokens.weight');
  const ang = ropeAngles(T, d, c.ropeTheta);
  let h = new Float64Array(T * D);
  ids.forEach((id, t) => h.set(emb.subarray(id * D, (id + 1) * D), t * D));
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`;
    const x = rmsNorm(h, T, D, get(`${p}input_layernorm.weight`), c.rmsNormEps);
    const q = linear(x, T, get(`${p}self_attn.q_proj.weight`), H * d, D, c.qkvBias ? get(`${p}self_attn.q_proj.bias`) : undefined);
    const k = linear(x, T, get(`${p}self_attn.k_proj.weight`), Hkv * d, D, c.qkvBias ? get(`${p}self_attn.k_proj.bias`) : undefined);
    const v = linear(x, T, get(`${p}self_attn.v_proj.weight`), Hkv * d, D, c.qkvBias ? get(`${p}self_attn.v_proj.bias`) : undefined);
    ropeHalf(q, T, H, d, ang);
    ropeHalf(k, T, Hkv, d, ang);
    const o = new Float64Array(T * H * d);
    const scale = 1 / Math.sqrt(d);
    const sc = new Float64Array(T);
    for (let hq = 0; hq < H; hq++) {
      const hk = Math.floor(hq / (H / Hkv));
      for (let t = 0; t < T; t++) {
        let m = -Infinity;
        for (let u = 0; u <= t; u++) {
          let s = 0;
          for (let i = 0; i < d; i++) s += q[(t * H + hq) * d + i] * k[(u * Hkv + hk) * d + i];
          sc[u] = s * scale;
          m = Math.max(m, sc[u]);
        }
        let z = 0;
        for (let u = 0; u <= t; u++) z += (sc[u] = Math.exp(sc[u] - m));
        for (let u = 0; u <= t; u++) {
          const a = sc[u] / z;
          for (let i = 0; i < d; i++) o[(t * H + hq) * d + i] += a * v[(u * Hkv + hk) * d + i];
        }
      }
    }
    const ao = linear(o, T, get(`${p}self_attn.o_proj.weight`), D, H * d, c.oBias ? get(`${p}self_attn.o_proj.bias`) : undefined);
    h = h.map((val, i) => val + ao[i]);
    const y = rmsNorm(h, T, D, get(`${p}post_attention_layernorm.weight`), c.rmsNormEps);
    const g = linear(y, T, get(`${p}mlp.gate_proj.weight`), I, D);
    const up = linear(y, T, get(`${p}mlp.up_proj.weight`), I, D);
    const act = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]);
    const dn = linear(act, T, get(`${p}mlp.down_proj.weight`), D, I);
    h = h.map((val, i) => val + dn[i]);
  }
  const last = rmsNorm(h.subarray((T - 1) * D), 1, D, get('model.norm.weight'), c.rmsNormEps);
  return linear(last, 1, c.tieWordEmbeddings ? emb : get('lm_head.weight'), V, D);
}

/** softmax in float64. */
export function softmaxF64(logits: Float64Array): Float64Array {
  let m = -Infinity;
  for (const z of logits) m = Math.max(m, z);
  let s = 0;
  const pr = logits.map((z) => Math.exp(z - m));
  for (const e of pr) s += e;
  return pr.map((e) => e / s);
}
