// Resident 16-bit weights (loadModel(dir, { weights: 'bf16' | 'f16' })): the Linear weights a BF16/F16
// checkpoint stores stay 16-bit (half the bytes) and the linear forward widens them on the fly. The
// same files loaded as float32 must give the same logits (to 1e-4) and greedy tokens, prefill and
// decode, on the native AVX2 path, the scalar fallback and the reference backend; training, saving or
// a gradient-recording forward of such a model is refused naming the option.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tensor, tidy, noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { loadModel, saveModel } from '../src/model/checkpoint.js';
import type { WeightsMode } from '../src/model/checkpoint.js';
import type { CausalLM } from '../src/model/causal-lm.js';
import { Linear } from '../src/nn/layers.js';
import { Generator } from '../src/infer/generator.js';
import { backend, nativeBackendOrNull, referenceBackend, setBackend } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/index.js';

let root = '';
let bf16Dir = '', f16Dir = '';

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-w16-'));
  const model = new DeepseekV3({ ...getPreset('nano'), rmsNormEps: 1e-6 }, 33);
  // Sharpen the random head so greedy choices are not near-ties.
  noGrad(() => { const w = model.headWeight().f32(); for (let i = 0; i < w.length; i++) w[i] *= 8; });
  bf16Dir = path.join(root, 'bf16');
  f16Dir = path.join(root, 'f16');
  saveModel(bf16Dir, model, { layout: 'bf16' }); // DeepSeek's published BF16 layout
  saveModel(f16Dir, model, { dtype: 'F16' });
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const quiet = { onWarning: () => {} };

function linears(m: CausalLM): [string, Linear][] {
  return m.namedModules().filter((e): e is [string, Linear] => e[1] instanceof Linear);
}

/** Logits of one full forward (prefill) over `ids` [1, T]. */
function logits(m: CausalLM, ids: number[]): Float32Array {
  let out: Float32Array = new Float32Array(0);
  noGrad(() => tidy(() => { out = m.forward(Tensor.ints(ids, [1, ids.length])).logits.toFloat32Array(); }));
  return out;
}

const short = [5, 9, 200, 31, 7, 7, 1, 300, 12];
const long = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 500); // ≥ 32 rows: MLP's stacked path in float32

async function greedy(m: CausalLM): Promise<number[][]> {
  const gen = new Generator(m, { maxBatch: 4, maxLen: 96 });
  const res = await gen.generateAll([short, [42], long].map((p) => ({ prompt: p, maxNewTokens: 12, sampling: { temperature: 0 } })));
  return res.map((r) => r.tokens);
}

function assertClose(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length);
  let worst = 0, at = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= 1e-4, `${label}: logit ${at} = ${a[at]} with 16-bit weights, ${b[at]} with float32 (rel ${worst})`);
}

async function sameAsF32(dir: string, mode: WeightsMode, label: string): Promise<void> {
  const f32 = loadModel(dir, quiet).eval();
  const w16 = loadModel(dir, { ...quiet, weights: mode });
  assert.equal(w16.training, false, 'a 16-bit model is loaded in eval mode');
  const kept = linears(w16).filter(([, l]) => l.weight16);
  // every Linear but kv_b_proj (absorbed MLA reads it as a matrix): attention, dense MLP, experts, lm_head
  assert.ok(kept.some(([n]) => n === 'lm_head') && kept.some(([n]) => /experts\.\d+\.down_proj$/.test(n)) && kept.some(([n]) => n.endsWith('q_a_proj')), `${label}: kept ${kept.map(([n]) => n).join(', ')}`);
  assert.ok(linears(w16).every(([n, l]) => (l.weight16 === null) === n.endsWith('kv_b_proj')), `${label}: only kv_b_proj stays float32`);
  for (const [, l] of kept) assert.equal(l.weight16!.dtype, mode);
  for (const ids of [short, long]) assertClose(logits(w16, ids), logits(f32, ids), `${label} prefill T=${ids.length}`);
  assert.deepEqual(await greedy(w16), await greedy(f32), `${label}: greedy tokens`);
}

const native = nativeBackendOrNull();
const nskip = native ? false : 'native addon unavailable';

describe('resident 16-bit weights', () => {
  const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
  const avx512 = ['avx512f', 'avx512bw', 'avx512vl'].every((f) => flags.includes(f));
  for (const path of ['avx512', 'avx2', 'scalar'] as const) {
    const skip = nskip || (path === 'avx512' && !avx512 ? 'this CPU lacks AVX-512 F/BW/VL' : false);
    it(`BF16 checkpoint, weights 'bf16' (native ${path}): same logits and greedy tokens as float32`, { skip }, async () => {
      const prev = backend();
      setBackend(native!);
      native!.setGemm16Path(path);
      try {
        assert.equal(native!.gemm16Path(), path);
        await sameAsF32(bf16Dir, 'bf16', `bf16/${path}`);
      } finally {
        native!.setGemm16Path('auto');
        setBackend(prev);
      }
    });
  }

  it("F16 checkpoint, weights 'f16': same logits and greedy tokens as float32", async () => {
    await sameAsF32(f16Dir, 'f16', `f16/${backend().name}`);
  });

  it("reference backend, weights 'bf16'", async () => {
    const prev: Kernels = backend();
    setBackend(referenceBackend());
    try {
      await sameAsF32(bf16Dir, 'bf16', 'bf16/reference');
    } finally {
      setBackend(prev);
    }
  });

  it('halves the bytes of the Linear weights it keeps', () => {
    const f32 = loadModel(bf16Dir, quiet);
    const w16 = loadModel(bf16Dir, { ...quiet, weights: 'bf16' });
    let kept16 = 0, keptF32 = 0;
    const f32Lin = new Map(linears(f32));
    for (const [n, l] of linears(w16)) {
      if (!l.weight16) continue;
      kept16 += l.weight16.bits.byteLength;
      keptF32 += f32Lin.get(n)!.weight.f32().byteLength;
      assert.equal(l.weight.storage.data.length, 0, `${n}: its float32 storage is freed`);
    }
    assert.ok(kept16 > 0);
    assert.equal(kept16 * 2, keptF32);
  });

  it('refuses training, gradient-recording forwards and saving, naming the option', () => {
    const w16 = loadModel(bf16Dir, { ...quiet, weights: 'bf16' });
    assert.throws(() => w16.train(), /loaded with weights 'bf16' \(--weights bf16\), which is inference-only; load it with weights 'f32'/);
    assert.throws(() => tidy(() => { w16.forward(Tensor.ints(short, [1, short.length])); }), /loaded with weights 'bf16', which is inference-only; load it with weights 'f32' \(--weights f32\) to train/);
    assert.throws(() => saveModel(path.join(root, 'out'), w16), /resident 16-bit.*load it with weights 'f32'/);
    assert.ok(!fs.existsSync(path.join(root, 'out', 'config.json')));
  });

  it('refuses a dtype the checkpoint does not store its Linear weights in, and unknown modes', () => {
    assert.throws(() => loadModel(bf16Dir, { ...quiet, weights: 'f16' }), /weights 'f16' keeps Linear weights stored as F16 16-bit, but this checkpoint stores its \d+ Linear weights as BF16 \(\d+\); use weights 'f32' or 'bf16'/);
    assert.throws(() => loadModel(bf16Dir, { ...quiet, weights: 'int8' as WeightsMode }), /weights must be one of f32, bf16, f16; found "int8"/);
  });
});

describe('--weights on the command line', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const cli = path.resolve(here, '../src/cli/index.js');
  const shipped = path.resolve(here, '../../models/tinyseek-r1-mini'); // stored BF16
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });

  it('generate --weights bf16 (read or --mmap) on the shipped BF16 model prints what --weights f32 prints (greedy)', { skip: fs.existsSync(shipped) ? false : 'no shipped model' }, () => {
    const args = ['generate', shipped, '--prompt', 'Compute 12 + 35.', '--temperature', '0', '--max-tokens', '32'];
    const a = run([...args, '--weights', 'f32']), b = run([...args, '--weights', 'bf16']), c = run([...args, '--weights', 'bf16', '--mmap']);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(c.status, 0, c.stderr);
    assert.ok(a.stdout.trim().length > 0);
    assert.equal(b.stdout, a.stdout);
    assert.equal(c.stdout, a.stdout);
    const bare = run([...args, '--mmap']);
    assert.notEqual(bare.status, 0);
    assert.match(bare.stderr, /--mmap maps 16-bit weights; add --weights bf16 or --weights f16/);
  });

  it('rejects an unknown --weights and a dtype the checkpoint does not hold', { skip: fs.existsSync(shipped) ? false : 'no shipped model' }, () => {
    const bad = run(['generate', shipped, '--prompt', 'x', '--weights', 'int8']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--weights: expected one of f32, bf16, f16, found "int8"/);
    const f16 = run(['generate', shipped, '--prompt', 'x', '--weights', 'f16']);
    assert.notEqual(f16.status, 0);
    assert.match(f16.stderr, /weights 'f16' keeps Linear weights stored as F16 16-bit, but this checkpoint stores its \d+ Linear weights as BF16 \(\d+\); use weights 'f32' or 'bf16'/);
  });
});

describe('memory-mapped 16-bit weights (loadModel mmap)', () => {
  it('same logits and greedy tokens as the read path; the kept weights are views into one mapping per file', { skip: nskip }, async () => {
    const read = loadModel(bf16Dir, { ...quiet, weights: 'bf16' });
    const mapped = loadModel(bf16Dir, { ...quiet, weights: 'bf16', mmap: true });
    const file = path.join(bf16Dir, 'model.safetensors');
    const size = fs.statSync(file).size;
    const kept = linears(mapped).filter(([, l]) => l.weight16);
    assert.ok(kept.length > 10);
    const buffers = new Set(kept.map(([, l]) => l.weight16!.bits.buffer));
    assert.equal(buffers.size, 1, 'every kept weight views the same mapping');
    assert.equal([...buffers][0]!.byteLength, size, 'the mapping is the whole file');
    const byName = new Map(linears(read).map(([n, l]) => [n, l]));
    for (const [n, l] of kept) assert.deepEqual(l.weight16!.bits, byName.get(n)!.weight16!.bits, n);
    for (const ids of [short, long]) assertClose(logits(mapped, ids), logits(read, ids), `mmap prefill T=${ids.length}`);
    assert.deepEqual(await greedy(mapped), await greedy(read));
  });

  it('writing into a mapped view never changes the file (private, copy-on-write)', { skip: nskip }, () => {
    const file = path.join(bf16Dir, 'model.safetensors');
    const before = fs.readFileSync(file);
    const m = loadModel(bf16Dir, { ...quiet, weights: 'bf16', mmap: true });
    const [, l] = linears(m).find(([, x]) => x.weight16)!;
    l.weight16!.bits.fill(0x7fc0);
    assert.ok(fs.readFileSync(file).equals(before));
  });

  it('refuses mmap with float32 weights and names a file it cannot map', { skip: nskip }, async () => {
    assert.throws(() => loadModel(bf16Dir, { ...quiet, mmap: true }), /mmap keeps 16-bit weights in the file's pages; it needs weights 'bf16' or 'f16'/);
    const { mapFile } = await import('../src/backend/mmap.js');
    assert.throws(() => mapFile(path.join(root, 'missing.safetensors')), /cannot open .*missing\.safetensors \(No such file or directory\)/);
    assert.throws(() => mapFile(root), /cannot map .* \(not a regular file\)/);
    assert.equal(mapFile(path.join(bf16Dir, 'config.json')).byteLength, fs.statSync(path.join(bf16Dir, 'config.json')).size);
  });
});
