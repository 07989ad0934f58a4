// Loading a model directory with a bad or hostile config: the error arrives quickly, names what was
// expected and what was found, and nothing of the (claimed) model's size is allocated. Each bad load
// runs in a child process (virtual memory capped at 4 GB, killed after 20 s), so a regression that
// allocates for minutes fails instead of hanging or exhausting the machine.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { asDeepseek } from '../src/model/registry.js';
import { saveModel, loadModel, modelRecords } from '../src/model/checkpoint.js';
import { writeModelDir, f32ToBf16Array } from '../src/io/index.js';
import { readGenerationDefaults, LoadError } from '../src/infer/load.js';
import { applyChatTemplate, renderTemplate, SPECIAL, TokenizerError } from '../src/tokenizer/index.js';
import { setTemplateLimits } from '../src/tokenizer/template-sandbox.js';
import { serveFixtureDir } from './helpers/serve-fixture.js';
import { configFromHF, configToHF, ConfigError, type ModelConfig } from '../src/model/config.js';
import { modelTensors, modelElements } from '../src/model/shapes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const checkpointJs = path.resolve(here, '../src/model/checkpoint.js');
const cli = path.resolve(here, '../src/cli/index.js');

let good = '';
before(() => {
  good = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
  saveModel(good, new DeepseekV3(getPreset('nano'), 1));
});

/** A copy of the good nano directory with config.json replaced by `mutate(config)`. */
function withConfig(mutate: (c: Record<string, unknown>) => Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
  for (const f of fs.readdirSync(good)) fs.copyFileSync(path.join(good, f), path.join(dir, f));
  const cfg = JSON.parse(fs.readFileSync(path.join(good, 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(mutate(cfg)));
  return dir;
}

interface ChildLoad {
  loaded: boolean;
  name?: string;
  message?: string;
  /** Peak resident set of the child, in bytes. */
  maxRss: number;
}

/** loadModel(dir) in a child process (≤ 4 GB virtual memory, killed after 20 s). */
function loadInChild(dir: string): ChildLoad {
  const script = `
    const { loadModel } = await import(${JSON.stringify(checkpointJs)});
    let out = { loaded: false };
    try { loadModel(process.argv[1], { onWarning: () => {} }); out.loaded = true; }
    catch (e) { out.name = e.name; out.message = e.message; }
    out.maxRss = process.resourceUsage().maxRSS * 1024;
    console.log(JSON.stringify(out));`;
  const r = spawnSync('/bin/sh', ['-c', 'ulimit -v 4000000; exec "$@"', 'sh', process.execPath, '--input-type=module', '-e', script, dir], {
    encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', env: { ...process.env, TINYSEEK_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  assert.equal(r.signal, null, `the load did not finish within 20 s (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildLoad;
}

/** Asserts a bad directory is refused with an error of class `name` matching every pattern, and no large allocation. */
function refused(dir: string, name: string, ...patterns: RegExp[]): void {
  const r = loadInChild(dir);
  assert.equal(r.loaded, false, 'the directory was loaded');
  assert.equal(r.name, name, r.message);
  for (const p of patterns) assert.match(r.message!, p);
  assert.doesNotMatch(r.message!, /Invalid typed array length|allocation failed/);
  assert.ok(r.maxRss < 600 * 2 ** 20, `peak RSS ${(r.maxRss / 2 ** 20).toFixed(0)} MiB: something large was allocated`);
}

test('the tensor list computed from a config matches the model the config builds', () => {
  const nano = getPreset('nano');
  const variants: [string, Partial<ModelConfig>, Record<string, unknown>?][] = [
    ['nano', {}],
    ['mini', getPreset('mini')],
    ['no q-LoRA, tied, no MTP, greedy', { qLoraRank: null, tieWordEmbeddings: true, numNextnPredictLayers: 0, topkMethod: 'greedy', scoringFunc: 'softmax', nGroup: 1, topkGroup: 1 }],
    ['no shared experts, all MoE, 2 MTP', { nSharedExperts: 0, firstKDenseReplace: 0, numNextnPredictLayers: 2 }],
    ['moe_layer_freq 2', { numHiddenLayers: 4, firstKDenseReplace: 1 }, { moe_layer_freq: 2 }],
  ];
  for (const [label, over, extra] of variants) {
    const cfg: ModelConfig = { ...nano, ...over, extra: { ...nano.extra, ...(extra ?? {}) } };
    const model = new DeepseekV3(cfg, 0);
    const own = model.namedTensors().map(([n, t]) => ({ name: n, shape: [...t.shape] }));
    assert.deepEqual([...modelTensors(cfg)], own, label);
    assert.equal(modelElements(cfg), own.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0), label);
  }
});

test('config.json {} is refused: no silent fallback to the 671B DeepSeek-V3', { timeout: 60_000 }, () => {
  refused(withConfig(() => ({})), 'ConfigError', /config\.json: missing 17 keys "model_type", "vocab_size", "hidden_size"/, /must state every key that sets a tensor shape/);
  // One key missing: named alone, with the file.
  const dir = withConfig((c) => { delete c.hidden_size; return c; });
  assert.throws(() => loadModel(dir), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.key, 'hidden_size');
    assert.match(e.message, new RegExp(`^${path.join(dir, 'config.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: missing key "hidden_size"`));
    return true;
  });
  // A partial config.json outside a model directory still gets the HF defaults.
  assert.equal(configFromHF({ model_type: 'deepseek_v3', hidden_size: 256 }).vocabSize, 129280);
});

test('configs far larger than their weights are refused before allocating (vocab 5e6, hidden 1e6, 1e5 layers, 1e6 experts)', { timeout: 120_000 }, () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ vocab_size: 5_000_000 }, /vocab_size 5000000/],
    [{ hidden_size: 1_000_000 }, /hidden_size 1000000/],
    [{ num_hidden_layers: 100_000 }, /num_hidden_layers 100000/],
    [{ n_routed_experts: 1_000_000 }, /n_routed_experts 1000000/],
    [{ q_lora_rank: 2_000_000_000 }, /parameters/],
    [{ moe_intermediate_size: 3_000_000_000, intermediate_size: 3_000_000_000 }, /parameters/],
  ];
  for (const [over, keyPattern] of cases) {
    refused(withConfig((c) => ({ ...c, ...over })), 'CheckpointError', /config\.json describes a model of [\d,]+ parameters/, keyPattern, /the weights hold only [\d,]+ values/);
  }
});

test('a huge max_position_embeddings (RoPE tables) is refused for lack of memory, naming what was needed and available', { timeout: 60_000 }, () => {
  refused(withConfig((c) => ({ ...c, max_position_embeddings: 4_000_000_000 })), 'ConfigError', /RoPE tables [\d.]+ GiB/, /but only [\d.]+ \w+ of memory is available/);
  assert.throws(() => loadModel(good, { memoryLimit: 100_000 }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /the model needs [\d.]+ KiB \([\d,]+ float32 parameters/);
    assert.match(e.message, /only 97\.7 KiB of memory is available/);
    return true;
  });
});

test('shapes are checked against the safetensors headers before the model is built', { timeout: 60_000 }, () => {
  // Fewer parameters than stored (so the count check passes) but every dense/expert MLP mis-shaped.
  const dir = withConfig((c) => ({ ...c, intermediate_size: 96, moe_intermediate_size: 16 }));
  refused(dir, 'CheckpointError', /tensors do not match the model: .*with the wrong shape/, /model\.layers\.0\.mlp\.gate_proj\.weight: expected \[96, 64\], found \[128, 64\]/);
  const back = loadModel(good);
  assert.deepEqual(configToHF(asDeepseek(back).cfg), JSON.parse(fs.readFileSync(path.join(good, 'config.json'), 'utf8')));
});

test('non-finite weights and BF16 data labelled F16 load with a warning naming the tensors', () => {
  const model = new DeepseekV3(getPreset('nano'), 2);
  const recs = modelRecords(model).map((r) => (r.name === 'model.norm.weight' || r.name === 'model.layers.1.self_attn.o_proj.weight'
    ? { ...r, data: new Float32Array((r.data as Float32Array).length).fill(NaN) } : r));
  const nanDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
  writeModelDir(nanDir, { config: configToHF(model.cfg), tensors: recs });
  const warnings: string[] = [];
  loadModel(nanDir, { onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /2 tensor\(s\) hold NaN or infinite values/);
  assert.match(warnings[0], /model\.layers\.1\.self_attn\.o_proj\.weight \(4096 of 4096\)/);
  assert.match(warnings[0], /model\.norm\.weight \(64 of 64\)/);

  // BF16 bits under an F16 label (what a mislabelled conversion writes).
  const mislabelled = modelRecords(model).map((r) => ({ name: r.name, dtype: 'F16' as const, shape: r.shape, data: f32ToBf16Array(r.data as Float32Array) }));
  const bfDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
  writeModelDir(bfDir, { config: configToHF(model.cfg), tensors: mislabelled });
  warnings.length = 0;
  loadModel(bfDir, { onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /stored as F16 .*the signature of BF16 data labelled F16: model\.embed_tokens\.weight/);

  // Real F16 and BF16 saves load silently.
  for (const dtype of ['F16', 'BF16'] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
    saveModel(dir, model, { dtype });
    warnings.length = 0;
    loadModel(dir, { onWarning: (m) => warnings.push(m) });
    assert.deepEqual(warnings, [], dtype);
  }
});

test('generation_config.json values outside the request ranges are refused, naming file, key, range and value', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
  const file = path.join(dir, 'generation_config.json');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ temperature: -5 }, /key "temperature": expected a number in \[0, 2\], found -5$/],
    [{ top_p: 7 }, /key "top_p": expected a number in \(0, 1\], found 7$/],
    [{ top_p: 0 }, /key "top_p": expected a number in \(0, 1\], found 0$/],
    [{ top_k: -3 }, /key "top_k": expected an integer ≥ 0, found -3$/],
    [{ top_k: 2.5 }, /key "top_k": expected an integer ≥ 0, found 2\.5$/],
    [{ temperature: '0.7' }, /key "temperature": expected a number in \[0, 2\], found "0\.7"$/],
    [{ do_sample: 'yes' }, /key "do_sample": expected true or false, found "yes"$/],
    [{ min_p: 1.5 }, /key "min_p": expected a number in \[0, 1\], found 1\.5$/],
  ];
  for (const [g, re] of cases) {
    fs.writeFileSync(file, JSON.stringify(g));
    assert.throws(() => readGenerationDefaults(dir), (e: unknown) => {
      assert.ok(e instanceof LoadError, String(e));
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.match(e.message, re);
      return true;
    }, JSON.stringify(g));
  }
  fs.writeFileSync(file, JSON.stringify({ temperature: 0.7, top_p: 0.9, top_k: null, do_sample: true, bos_token_id: 0 }));
  assert.deepEqual(readGenerationDefaults(dir), { temperature: 0.7, topP: 0.9, topK: 0, minP: 0 });
  fs.writeFileSync(file, JSON.stringify({ min_p: 0.05 }));
  assert.equal(readGenerationDefaults(dir).minP, 0.05);
  fs.writeFileSync(file, JSON.stringify({ temperature: 0.7, do_sample: false }));
  assert.equal(readGenerationDefaults(dir).temperature, 0);
});

test('a chat template from a file renders in a bounded sandbox: same text, but loops, huge output and errors are refused', { timeout: 60_000 }, () => {
  const msgs = [{ role: 'user' as const, content: 'hi <b>' }, { role: 'assistant' as const, content: 'ok' }];
  const custom = "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{% if add_generation_prompt %}>{% endif %}";
  assert.equal(applyChatTemplate(msgs, { template: custom, addGenerationPrompt: true }), renderTemplate(custom, { messages: msgs, add_generation_prompt: true, bos_token: SPECIAL.bos }));
  const prev = setTemplateLimits({ timeMs: 1000, maxChars: 1000 });
  try {
    for (const loop of ['{% for i in range(100000000) %}x{% endfor %}', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}']) {
      assert.throws(() => applyChatTemplate(msgs, { template: loop }), (e: unknown) => {
        assert.ok(e instanceof TokenizerError, String(e));
        assert.match(e.message, /chat template did not finish rendering within the 1 s limit/);
        return true;
      });
    }
    assert.throws(() => applyChatTemplate(msgs, { template: '{% for i in range(5000) %}x{% endfor %}' }), /chat template rendered 5000 characters; expected at most 1,000/);
    assert.throws(() => applyChatTemplate(msgs, { template: '{% if %}' }), /chat template does not parse/);
    // After a terminated render the next one gets a fresh worker.
    assert.equal(applyChatTemplate(msgs, { template: custom }), `${SPECIAL.bos}[user:hi <b>][assistant:ok]`);
  } finally {
    setTemplateLimits(prev);
  }
});

test('generate --chat with a looping chat_template in tokenizer_config.json fails with one line instead of hanging', { timeout: 120_000 }, () => {
  const src = serveFixtureDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
  for (const f of fs.readdirSync(src)) if (fs.statSync(path.join(src, f)).isFile()) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  const tc = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  tc.chat_template = '{% for i in range(100000000) %}{{ i }}{% endfor %}';
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tc));
  const r = spawnSync(process.execPath, [cli, 'generate', dir, '--prompt', 'hi', '--chat', '--max-tokens', '2'], { encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, 'generate --chat hung');
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^tinyseek: chat template did not finish rendering within the 5 s limit/);
});

test('generate on a directory whose config.json is {} fails at once with the missing keys', { timeout: 60_000 }, () => {
  const src = serveFixtureDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-limits-'));
  for (const f of fs.readdirSync(src)) if (fs.statSync(path.join(src, f)).isFile()) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  const r = spawnSync(process.execPath, [cli, 'generate', dir, '--prompt', 'hi'], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, 'generate hung on config.json {}');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /config\.json: missing 17 keys "model_type", "vocab_size"/);
  assert.equal(r.stderr.split(dir).length - 1, 1, `the directory is named once: ${r.stderr}`);
});
