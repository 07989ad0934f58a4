// The teacher's top-k next-token logits of every training row, computed once (one teacher forward per
// batch of rows) and stored on disk, as KD pipelines store teacher logits instead of keeping the
// teacher resident: <dir>/topk.safetensors with ids int32 [rows, T, k] and logits float32 [rows, T, k],
// its metadata naming the teacher, k, T and a digest of the rows (a stale store is refused).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { Tensor, noGrad, tidy } from '../tensor/index.js';
import { contiguous } from '../ops/shape.js';
import type { CausalLM } from '../model/causal-lm.js';
import { SafetensorsFile, saveSafetensors } from '../io/safetensors.js';
import type { SftDataset } from '../train/sft-data.js';
import { topkLogits } from './kd-loss.js';
import { DistillError } from './vocabulary.js';

/** Rows of top-k teacher logits, read by row index. */
export class TopkStore {
  constructor(readonly k: number, readonly T: number, readonly ids: Int32Array, readonly logits: Float32Array) {}

  /** The top-k of the given rows: ids and logits [rows.length · T, k]. */
  gather(rows: readonly number[]): { ids: Int32Array; logits: Float32Array } {
    const per = this.T * this.k;
    const ids = new Int32Array(rows.length * per), logits = new Float32Array(rows.length * per);
    rows.forEach((r, j) => {
      ids.set(this.ids.subarray(r * per, (r + 1) * per), j * per);
      logits.set(this.logits.subarray(r * per, (r + 1) * per), j * per);
    });
    return { ids, logits };
  }
}

/** A digest of the dataset's rows (ids and weights), so a store built for other rows is not reused. */
function rowsDigest(data: SftDataset): string {
  const h = crypto.createHash('sha256');
  for (const r of data.rows) {
    h.update(Buffer.from(r.ids.buffer, r.ids.byteOffset, r.ids.byteLength));
    h.update(Buffer.from(r.weights.buffer, r.weights.byteOffset, r.weights.byteLength));
  }
  return h.digest('hex');
}

/** Loads the store in `dir`, or computes it with the teacher (batches of `batch` rows) and writes it atomically. */
export function teacherTopk(dir: string, teacher: CausalLM, teacherName: string, data: SftDataset, k: number, batch = 16, say: (m: string) => void = () => {}): TopkStore {
  const file = path.join(dir, 'topk.safetensors');
  const T = data.seqLen, N = data.rows.length, V = teacher.cfg.vocabSize;
  const meta = { teacher: teacherName, k: String(k), seq_len: String(T), rows: String(N), rows_sha256: rowsDigest(data) };
  if (fs.existsSync(file)) {
    const f = SafetensorsFile.open(file);
    try {
      const m = f.metadata ?? {};
      for (const [key, v] of Object.entries(meta)) {
        if (m[key] !== v) throw new DistillError(`${file} was computed for ${key} = ${JSON.stringify(m[key])}, this run needs ${JSON.stringify(v)}; delete it to recompute`);
      }
      return new TopkStore(k, T, f.read('ids').data as Int32Array, f.read('logits').data as Float32Array);
    } finally {
      f.close();
    }
  }
  const t0 = performance.now();
  teacher.eval();
  const ids = new Int32Array(N * T * k), logits = new Float32Array(N * T * k);
  for (let r0 = 0; r0 < N; r0 += batch) {
    const n = Math.min(batch, N - r0);
    const x = new Int32Array(n * T);
    for (let j = 0; j < n; j++) {
      const row = data.rows[r0 + j]!.ids;
      const padded = new Int32Array(T + 1).fill(data.pad);
      padded.set(row.subarray(0, T + 1));
      x.set(padded.subarray(0, T), j * T); // inputs ids[:, :T]
    }
    noGrad(() => tidy(() => {
      // one teacher forward over the batch: [n, T] → logits [n, T, V]
      const z = contiguous(teacher.forward(Tensor.ints(x, [n, T])).logits).f32();
      const top = topkLogits(z, n * T, V, k);
      ids.set(top.ids, r0 * T * k);
      logits.set(top.logits, r0 * T * k);
    }));
  }
  fs.mkdirSync(dir, { recursive: true });
  saveSafetensors(file, [
    { name: 'ids', dtype: 'I32', shape: [N, T, k], data: ids },
    { name: 'logits', dtype: 'F32', shape: [N, T, k], data: logits },
  ], meta);
  say(`distill: stored the teacher's top-${k} logits of ${N} rows × ${T} positions in ${file} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return new TopkStore(k, T, ids, logits);
}
