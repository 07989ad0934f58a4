// The R1 pipeline recipe's schema (src/rl/r1/config.ts): every default a minimal recipe gets, the
// limits it refuses, and the error messages of a bad recipe object, a missing file and invalid JSON.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { filterSchema, loadR1Recipe, parseR1Recipe } from '../src/rl/r1/config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1-config-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The fewest fields a recipe needs. */
const minimal = () => ({
  name: 'r1-test', preset: 'nano', base: 'b', tasks: { families: ['add'], difficulties: [1] }, r1zero: {},
  coldStart: { prompts: 1, samples: 1, maxNewTokens: 8, writtenPerFamily: 1 }, sft1: { train: {} }, rl2: { grpo: {} },
  rejection: { prompts: 1, samples: 1, maxNewTokens: 8, writtenPerFamily: 1, general: 0, multiTurn: 0 }, sft3: { train: {} }, rl4: { grpo: {} },
});

test('a minimal recipe gets every default', () => {
  const r = parseR1Recipe(minimal());
  const filter = { minReadability: 1, maxTokens: 200, maxSummaryChars: 80, checkSteps: true };
  assert.equal(r.kind, 'r1');
  assert.equal(r.seed, 0);
  assert.deepEqual(r.r1zero, { grpo: {} });
  assert.deepEqual(r.coldStart, { prompts: 1, samples: 1, temperature: 1, maxNewTokens: 8, writtenPerFamily: 1, filter });
  assert.deepEqual(r.rejection.filter, filter);
  assert.equal(r.rejection.temperature, 1);
  assert.deepEqual(r.rl2, { grpo: {}, rewards: { accuracy: 1, format: 0.25, readability: 0, preference: 0 }, ablation: false });
  assert.deepEqual(r.rl4, { grpo: {}, rewards: { accuracy: 1, format: 0.25, readability: 0, preference: 0 }, generalShare: 0.5 });
  assert.deepEqual(r.rewardModel, { dim: 2048, steps: 200, lr: 0.05, l2: 1e-4, pairsPerPrompt: 7 });
  assert.deepEqual(r.eval, { n: 20, k: 4, maxNewTokens: 128, phrasingN: 10, seed: 12345 });
  assert.deepEqual(filterSchema.parse({}), filter);
});

test('limits: the run name is one path segment; readability within [0, 1]', () => {
  for (const name of ['a/b', 'b/', '/b', 'a b', '']) assert.throws(() => parseR1Recipe({ ...minimal(), name }), /name/, name);
  for (const name of ['r1-mini', 'A.b_c-1']) assert.equal(parseR1Recipe({ ...minimal(), name }).name, name);
  for (const v of [0, 0.5, 1]) assert.equal(filterSchema.parse({ minReadability: v }).minReadability, v);
  for (const v of [-0.1, 1.5]) assert.throws(() => filterSchema.parse({ minReadability: v }));
  assert.throws(() => parseR1Recipe({ ...minimal(), kind: 'grpo' }), /kind/);
});

test('a bad recipe object lists every problem by path; a non-object is "(root)"', () => {
  const { name: _n, ...noName } = minimal();
  assert.throws(() => parseR1Recipe({ ...noName, seed: -1 }, 'x.json'), (e: Error) => {
    const lines = e.message.split('\n');
    assert.equal(lines[0], 'x.json is invalid:');
    assert.ok(lines.some((l) => /^ {2}name: /.test(l)) && lines.some((l) => /^ {2}seed: /.test(l)), e.message);
    return true;
  });
  assert.throws(() => parseR1Recipe({ ...minimal(), tasks: { families: [], difficulties: [1] } }), (e: Error) => /^recipe is invalid:\n {2}tasks\.families: /.test(e.message));
  assert.throws(() => parseR1Recipe(5), (e: Error) => /^recipe is invalid:\n {2}\(root\): /.test(e.message));
});

test('loading: a preset, a file, a missing one, invalid JSON', () => {
  assert.equal(loadR1Recipe('nano').name, 'r1-nano');
  const file = path.join(dir, 'r.json');
  fs.writeFileSync(file, JSON.stringify(minimal()));
  assert.equal(loadR1Recipe(file).name, 'r1-test');
  assert.throws(() => loadR1Recipe('no-such'), (e: Error) => e.message === 'no R1 recipe no-such (neither a file nor recipes/r1-no-such.json)');
  fs.writeFileSync(file, '{ not json');
  assert.throws(() => loadR1Recipe(file), (e: Error) => e.message.startsWith(`${file}: invalid JSON (`) && e.message.endsWith(')'));
  fs.writeFileSync(file, JSON.stringify({ ...minimal(), seed: 'x' }));
  assert.throws(() => loadR1Recipe(file), (e: Error) => e.message.startsWith(`${file} is invalid:\n  seed: `));
});
