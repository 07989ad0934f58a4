// kv: the V2-paper cache formulas for DeepSeek-V3 (§4), scaling with context, batch and dtype.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getPreset } from '../src/model/presets.js';
import { humanBytes, kvReport, kvRow } from '../src/analysis/kv.js';

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url));

test('DeepSeek-V3: MLA 576 × 61 = 35,136 elements per token (68.6 KiB BF16) vs MHA 1,998,848 (1.76%)', () => {
  const r = kvReport(getPreset('deepseek-v3'));
  const mla = kvRow(r, 'MLA');
  const mha = kvRow(r, 'MHA');
  assert.equal(mla.elementsPerTokenPerLayer, 576);
  assert.equal(mla.elementsPerToken, 35_136);
  assert.equal(mla.bytesPerToken, 70_272);
  assert.equal(humanBytes(mla.bytesPerToken), '68.6 KiB');
  assert.equal(mha.elementsPerToken, 1_998_848);
  assert.equal(humanBytes(mha.bytesPerToken), '3.81 MiB');
  assert.equal((mla.ratioToMha * 100).toFixed(2), '1.76');
  assert.equal(kvRow(r, 'GQA').elementsPerToken, 124_928);
  assert.equal(kvRow(r, 'MQA').elementsPerToken, 2 * 128 * 61);
  assert.equal(r.mlaEquivalentGroups, 2.25);
  // naive MLA: keys 192 + values 128 per head
  assert.equal(kvRow(r, 'MLA-naive').elementsPerToken, 128 * 320 * 61);
});

test('context × batch, group count and dtype scale the totals', () => {
  const c = getPreset('deepseek-v3');
  const r = kvReport(c, { context: 1000, batch: 3, groups: 4, dtype: 'fp8' });
  assert.equal(kvRow(r, 'MLA').elementsTotal, 35_136 * 3000);
  assert.equal(kvRow(r, 'MLA').bytesTotal, 35_136 * 3000);
  assert.equal(kvRow(r, 'GQA').elementsPerTokenPerLayer, 2 * 4 * 128);
  assert.equal(kvRow(kvReport(c, { dtype: 'f32' }), 'MLA').bytesPerToken, 35_136 * 4);
  assert.throws(() => kvReport(c, { context: 0 }), /context/);
});

test('DeepSeek-V2-Lite: 27 layers, 16 heads', () => {
  const r = kvReport(getPreset('deepseek-v2-lite'));
  assert.equal(kvRow(r, 'MLA').elementsPerToken, 576 * 27);
  assert.equal(kvRow(r, 'MHA').elementsPerToken, 2 * 16 * 128 * 27);
});

test('CLI: tinyseek kv --preset deepseek-v3 --json, and a bad --dtype', () => {
  const r = spawnSync(process.execPath, [CLI, 'kv', '--preset', 'deepseek-v3', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, number>;
  assert.equal(j.mla_elements_per_token, 35_136);
  assert.equal(j.mha_elements_per_token, 1_998_848);
  const t = spawnSync(process.execPath, [CLI, 'kv', '--preset', 'deepseek-v3', '--context', '163840'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /35,136 elements per token \(68\.6 KiB bf16\)/);
  const bad = spawnSync(process.execPath, [CLI, 'kv', '--preset', 'deepseek-v3', '--dtype', 'int3'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--dtype: expected one of bf16, f16, f32, fp8/);
  const badCtx = spawnSync(process.execPath, [CLI, 'kv', '--preset', 'nano', '--context', '-5'], { encoding: 'utf8' });
  assert.notEqual(badCtx.status, 0);
  assert.match(badCtx.stderr, /--context/);
});
