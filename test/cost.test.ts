// cost: the DeepSeek-V3 cost table exactly, first-principles FLOPs and MFU, GPU presets, the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getPreset } from '../src/model/presets.js';
import {
  attentionFlopsPerToken,
  attentionShape,
  deepseekV3Cost,
  DEEPSEEK_V3_STAGES,
  formatKHours,
  formatMillionsUsd,
  gpuHoursFor,
  gpuSpec,
  GPUS,
  impliedMfu,
  reportedCost,
  trainingFlops,
} from '../src/analysis/cost.js';

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url));

test('the V3 report table: 2,664K / 119K / 5K / 2,788K H800 GPU-hours = $5.328M / $0.238M / $0.01M / $5.576M at $2', () => {
  const r = reportedCost(DEEPSEEK_V3_STAGES, 2);
  assert.deepEqual(r.stages.map((s) => formatKHours(s.gpuHours)), ['2,664K', '119K', '5K']);
  assert.deepEqual(r.stages.map((s) => formatMillionsUsd(s.usd)), ['$5.328M', '$0.238M', '$0.01M']);
  assert.equal(formatKHours(r.gpuHoursTotal), '2,788K');
  assert.equal(formatMillionsUsd(r.usdTotal), '$5.576M');
  assert.equal(r.gpuHoursTotal, 2_788_000);
  assert.equal(r.usdTotal, 5_576_000);
});

test('GPU presets: dense BF16 / FP8 peaks', () => {
  assert.equal(GPUS.H800.bf16, 989e12);
  assert.equal(GPUS.H800.fp8, 1979e12);
  assert.deepEqual(GPUS.H200, { ...GPUS.H100, name: 'H200' });
  assert.equal(GPUS.A100.bf16, 312e12);
  assert.equal(GPUS.A100.fp8, null);
  assert.equal(gpuSpec('h100').name, 'H100');
  assert.equal(gpuSpec('custom', 500).bf16, 500e12);
  assert.throws(() => gpuSpec('custom'), /--peak-tflops/);
  assert.throws(() => gpuSpec('TPU'), /unknown GPU "TPU"; expected one of: H800, H100, H200, A100, custom/);
});

test('6·N·D, attention FLOPs, and MFU ↔ GPU-hours', () => {
  const f = trainingFlops(37e9, 14.8e12);
  assert.equal(f.dense, 6 * 37e9 * 14.8e12);
  assert.equal(f.attention, 0);
  const shape = attentionShape(getPreset('deepseek-v3'), 4096);
  assert.deepEqual(shape, { layers: 61, heads: 128, qkHeadDim: 192, vHeadDim: 128, seqLen: 4096 });
  // 3 (fwd + 2× bwd) · 2 FLOPs · 61 layers · 128 heads · (192 + 128) · 4097/2 positions ≈ 30.7 GFLOP
  assert.equal(attentionFlopsPerToken(shape), 3 * 2 * 61 * 128 * 320 * 2048.5);
  const hours = gpuHoursFor(1e24, 989e12, 0.4);
  assert.ok(Math.abs(impliedMfu(1e24, hours, 989e12) - 0.4) < 1e-12);
  assert.throws(() => gpuHoursFor(1e24, 989e12, 0), /MFU/);
});

test('V3 first principles: implied MFU on 2,664K H800 hours, and the dense-671B counterfactual', () => {
  const r = deepseekV3Cost(getPreset('deepseek-v3'));
  const n = 36_625_625_600;
  assert.equal(r.flops.activatedParams, n);
  assert.equal(r.flops.dense, 6 * n * 14.8e12);
  const seconds = 2_664_000 * 3600;
  assert.equal(r.mfu.bf16Dense, (6 * n * 14.8e12) / seconds / 989e12);
  // ≈34% of the BF16 peak (17% of FP8) from 6·N·D; ≈39% with attention at 4K
  assert.ok(r.mfu.bf16Dense > 0.34 && r.mfu.bf16Dense < 0.35, String(r.mfu.bf16Dense));
  assert.ok(r.mfu.fp8Dense! > 0.17 && r.mfu.fp8Dense! < 0.175);
  assert.ok(r.mfu.bf16Total > 0.39 && r.mfu.bf16Total < 0.395, String(r.mfu.bf16Total));
  // dense: 670.1B non-embedding parameters → ≈16× the FLOPs and dollars
  assert.equal(r.dense.params, 671_026_419_200 - 129280 * 7168 + 7168);
  assert.ok(r.dense.ratio > 16 && r.dense.ratio < 16.5, String(r.dense.ratio));
  assert.equal(r.dense.usdTotal, 5_576_000 * r.dense.ratio);
});

test('CLI: cost --preset deepseek-v3 prints the table and JSON totals', () => {
  const t = spawnSync(process.execPath, [CLI, 'cost', '--preset', 'deepseek-v3'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  for (const line of [/Pre-training\s+2,664K\s+\$5\.328M/, /Context extension\s+119K\s+\$0\.238M/, /Post-training\s+5K\s+\$0\.01M/, /Total\s+2,788K\s+\$5\.576M/]) {
    assert.match(t.stdout, line);
  }
  const j = JSON.parse(spawnSync(process.execPath, [CLI, 'cost', '--preset', 'deepseek-v3', '--json'], { encoding: 'utf8' }).stdout) as Record<string, number>;
  assert.equal(j.gpu_hours_total, 2_788_000);
  assert.equal(j.usd_total, 5_576_000);
});

test('CLI: reported and predicted modes, and errors', () => {
  const run = (...a: string[]) => spawnSync(process.execPath, [CLI, 'cost', ...a, '--json'], { encoding: 'utf8' });
  const rep = run('--gpus', '2048', '--hours', '100', '--price', '3');
  assert.equal(rep.status, 0, rep.stderr);
  const rj = JSON.parse(rep.stdout) as Record<string, number>;
  assert.equal(rj.gpu_hours_total, 204_800);
  assert.equal(rj.usd_total, 614_400);
  const stages = JSON.parse(run('--gpu-hours', 'a=1000,b=500').stdout) as Record<string, number>;
  assert.equal(stages.gpu_hours_total, 1500);
  const pred = run('--tokens', '1e12', '--activated', '1e9', '--mfu', '0.5', '--gpu', 'A100');
  assert.equal(pred.status, 0, pred.stderr);
  const pj = JSON.parse(pred.stdout) as Record<string, number>;
  assert.ok(Math.abs(pj.gpu_hours_total - 6e21 / (312e12 * 0.5) / 3600) < 1e-6);
  const nothing = spawnSync(process.execPath, [CLI, 'cost'], { encoding: 'utf8' });
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /nothing to compute/);
  const fp8 = spawnSync(process.execPath, [CLI, 'cost', '--gpu', 'A100', '--precision', 'fp8', '--gpus', '8', '--hours', '1'], { encoding: 'utf8' });
  assert.equal(fp8.status, 2);
  assert.match(fp8.stderr, /A100 has no FP8/);
});
