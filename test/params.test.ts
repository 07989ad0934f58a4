// params: per-component counts against hand arithmetic, DeepSeek's published figures, the R1 checkpoint's element count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getPreset } from '../src/model/presets.js';
import { attentionParams, checkpointElements, countParams, DEEPSEEK_V3_MODEL_CARD } from '../src/analysis/params.js';

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url));

function within(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / expected;
  assert.ok(err <= rel, `${what}: ${actual} vs ${expected} (${(err * 100).toFixed(2)}% > ${rel * 100}%)`);
}

test('MLA block parameters match the tensor shapes of §1.9', () => {
  // q_a_proj [1536,7168], q_a_layernorm [1536], q_b_proj [24576,1536], kv_a_proj_with_mqa [576,7168],
  // kv_a_layernorm [512], kv_b_proj [32768,512], o_proj [7168,16384]
  const v3 = 1536 * 7168 + 1536 + 24576 * 1536 + 576 * 7168 + 512 + 32768 * 512 + 7168 * 16384;
  assert.equal(attentionParams(getPreset('deepseek-v3')), v3);
  assert.equal(v3, 187_107_328);
  // V2-Lite: q_proj [16·192, 2048] instead of the low-rank pair
  const lite = 3072 * 2048 + 576 * 2048 + 512 + 16 * 256 * 512 + 2048 * 16 * 128;
  assert.equal(attentionParams(getPreset('deepseek-v2-lite')), lite);
});

test('DeepSeek-V3: 671B total, ≈36.7B activated, MTP 11.5B unique — within 1% of the weight card', () => {
  const p = countParams(getPreset('deepseek-v3'));
  within(p.total, DEEPSEEK_V3_MODEL_CARD.total, 0.01, 'total');
  within(p.activated, DEEPSEEK_V3_MODEL_CARD.activated, 0.01, 'activated');
  within(p.mtpTotal, DEEPSEEK_V3_MODEL_CARD.mtpTotal, 0.01, 'mtp_total');
  // Exact values (hand arithmetic in docs/checking-the-claims.md):
  assert.equal(p.total, 671_026_419_200);
  assert.equal(p.activated, 36_625_625_600);
  assert.equal(p.activatedWithEmbeddingTable, 37_552_297_472);
  assert.equal(p.mtpTotal, 11_610_068_224);
  // MTP activated per token: its own layer (attention + 8 routed + 1 shared expert + router) + eh_proj
  // + norms + the shared head's matmul + one embedding row.
  const expert = 3 * 7168 * 2048;
  const own = 187_107_328 + 9 * expert + (256 * 7168 + 256) + 2 * 7168 * 7168 + 5 * 7168;
  assert.equal(p.mtpActivated, own + 129280 * 7168 + 7168);
  // The card's 2.4B counts both shared tables whole; it is reproduced to +6% (to +1.6% without eh_proj).
  within(p.mtpActivatedWithEmbeddingTable, DEEPSEEK_V3_MODEL_CARD.mtpActivated, 0.06, 'mtp_activated (with tables)');
  within(p.mtpActivatedWithEmbeddingTable - 2 * 7168 * 7168, DEEPSEEK_V3_MODEL_CARD.mtpActivated, 0.017, 'mtp activated without eh_proj');
});

test('DeepSeek-V3 per-component totals', () => {
  const p = countParams(getPreset('deepseek-v3'));
  const by = Object.fromEntries(p.components.map((c) => [c.name, c]));
  const expert = 3 * 7168 * 2048;
  assert.equal(by.embedding.total, 129280 * 7168);
  assert.equal(by.head.total, 129280 * 7168);
  assert.equal(by.attention.total, 61 * 187_107_328);
  assert.equal(by.dense_mlp.total, 3 * 3 * 7168 * 18432);
  assert.equal(by.routed_experts.total, 58 * 256 * expert);
  assert.equal(by.routed_experts.activated, 58 * 8 * expert);
  assert.equal(by.shared_experts.total, 58 * expert);
  assert.equal(by.gate.total, 58 * (256 * 7168 + 256));
  assert.equal(by.norms.total, 61 * 2 * 7168 + 7168);
});

test('the R1/V3 checkpoint stores 684,531,386,000 elements (params + MTP copies + FP8 block scales)', () => {
  // The published DeepSeek-R1 safetensors total (163 shards, 91,991 tensors) — pins the per-tensor count.
  assert.equal(checkpointElements(getPreset('deepseek-v3')), 684_531_386_000);
  // Without scales: 671.03B main + 11.61B MTP + two 0.93B copies.
  assert.equal(checkpointElements(getPreset('deepseek-v3'), null), 671_026_419_200 + 11_610_068_224 + 2 * 129280 * 7168);
});

test('DeepSeek-V2 (236B / 21B) and V2-Lite (15.7B / 2.4B)', () => {
  const v2 = countParams(getPreset('deepseek-v2'));
  within(v2.total, 236e9, 0.01, 'V2 total');
  within(v2.activated, 21e9, 0.01, 'V2 activated');
  assert.equal(v2.mtpTotal, 0);
  const lite = countParams(getPreset('deepseek-v2-lite'));
  within(lite.total, 15.7e9, 0.01, 'V2-Lite total');
  within(lite.activated, 2.4e9, 0.03, 'V2-Lite activated');
});

test('a tied head adds no parameters but is still computed; activated ≤ total', () => {
  const c = getPreset('nano');
  const untied = countParams(c);
  c.tieWordEmbeddings = true;
  const tied = countParams(c);
  assert.equal(untied.total - tied.total, 512 * 64);
  assert.equal(tied.activated, untied.activated);
  for (const name of ['nano', 'mini', 'deepseek-v3', 'deepseek-v2-lite', 'deepseek-v2']) {
    const p = countParams(getPreset(name));
    for (const r of [...p.components, ...p.mtpComponents]) assert.ok(r.activated <= r.total || r.name === 'head', `${name} ${r.name}`);
  }
});

test('CLI: tinyseek params --preset deepseek-v3 --json', () => {
  const r = spawnSync(process.execPath, [CLI, 'params', '--preset', 'deepseek-v3', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, number>;
  assert.equal(j.total, 671_026_419_200);
  assert.equal(j.activated, 36_625_625_600);
  assert.equal(j.mtp_total, 11_610_068_224);
  assert.ok(j.mtp_activated > 0);
  // The card's pair at its own precision (one decimal, in billions): 11.5B unique, 2.4B activated.
  const card = j.mtp_card_convention as unknown as { total: number; activated: number };
  assert.equal((card.total / 1e9).toFixed(1), '11.5');
  assert.equal((card.activated / 1e9).toFixed(1), '2.4');
  assert.equal(card.total, 11_610_068_224 - 2 * 7168 * 7168);
  const text = spawnSync(process.execPath, [CLI, 'params', '--preset', 'nano'], { encoding: 'utf8' });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /routed_experts/);
  const bad = spawnSync(process.execPath, [CLI, 'params', '--preset', 'nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^tinyseek: "nope" is neither a model preset/);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
});
