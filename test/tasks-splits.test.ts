// Train/test splits: disjoint by construction (a hash of family + prompt), stable, about 10% test,
// and task datasets written as JSONL with their generation parameters, atomically.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  TEST_BUCKETS,
  allTasks,
  generateTaskSet,
  getTask,
  problemKey,
  readTaskDataset,
  sampleProblem,
  splitOf,
  writeTaskDataset,
} from '../src/tasks/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-splits-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('about 1 in TEST_BUCKETS problems is in the test split, for every family', () => {
  for (const t of allTasks()) {
    let test = 0;
    const n = 2000;
    for (let s = 0; s < n; s++) if (splitOf(t.generate(s, 3)) === 'test') test++;
    const frac = test / n;
    assert.ok(Math.abs(frac - 1 / TEST_BUCKETS) < 0.03, `${t.name}: test fraction ${frac}`);
  }
});

test('train and test datasets are disjoint, for every family and level, across dataset seeds', () => {
  for (const t of allTasks()) {
    for (const d of t.difficulties) {
      const testKeys = new Set(generateTaskSet({ family: t.name, difficulty: d, split: 'test', n: 60, seed: 0 }).map(problemKey));
      for (const seed of [0, 1, 2]) {
        for (const r of generateTaskSet({ family: t.name, difficulty: d, split: 'train', n: 200, seed, unique: false })) {
          assert.equal(splitOf(r), 'train');
          assert.ok(!testKeys.has(problemKey(r)), `${t.name} d${d}: train problem ${r.prompt} is in the test set`);
        }
      }
    }
  }
});

test('split membership ignores difficulty: the same prompt is the same problem', () => {
  const p = getTask('add').generate(5, 1);
  const sameAtLevel5: typeof p = { ...p, difficulty: 5 };
  assert.equal(splitOf(p), splitOf(sameAtLevel5));
  assert.notEqual(problemKey(p), problemKey({ ...p, family: 'sub' }));
});

test('sampleProblem returns a problem of the asked split that its seed regenerates', () => {
  for (const split of ['train', 'test'] as const) {
    for (let s = 0; s < 50; s++) {
      const p = sampleProblem('mul', 3, split, s);
      assert.equal(splitOf(p), split);
      assert.deepEqual(getTask('mul').generate(p.seed, 3), p);
    }
  }
});

test('datasets are deterministic, unique by prompt, and differ across seeds', () => {
  const a = generateTaskSet({ family: 'sort', difficulty: 2, split: 'test', n: 100, seed: 7 });
  const b = generateTaskSet({ family: 'sort', difficulty: 2, split: 'test', n: 100, seed: 7 });
  const c = generateTaskSet({ family: 'sort', difficulty: 2, split: 'test', n: 100, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((r) => r.prompt), c.map((r) => r.prompt));
  assert.equal(new Set(a.map(problemKey)).size, 100);
  assert.deepEqual(a.map((r) => r.index), [...Array(100).keys()]);
});

test('asking for more distinct problems than the space holds fails with a clear message', () => {
  assert.throws(
    () => generateTaskSet({ family: 'mul', difficulty: 1, split: 'test', n: 5000, seed: 0 }),
    /mul d1 test: expected 5000 distinct problems; found only \d+ \(5000 draws in a row were repeats/,
  );
});

test('writeTaskDataset writes JSONL with generation parameters atomically; readTaskDataset checks it', () => {
  const file = path.join(root, 'sub', 'linear-d3-test.jsonl');
  const recs = writeTaskDataset(file, { family: 'linear', difficulty: 3, split: 'test', n: 50, seed: 3 });
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['linear-d3-test.jsonl'], 'no temporary file left behind');
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 50);
  const first = JSON.parse(lines[0] as string);
  for (const k of ['family', 'difficulty', 'split', 'datasetSeed', 'index', 'seed', 'prompt', 'answer', 'meta', 'generator']) assert.ok(k in first, k);
  assert.deepEqual(readTaskDataset(file), recs);
  for (const r of recs) assert.ok(getTask(r.family).check(r, r.answer));

  const bad = path.join(root, 'bad.jsonl');
  fs.writeFileSync(bad, JSON.stringify({ ...first, split: 'train' }) + '\n');
  assert.throws(() => readTaskDataset(bad), /labelled train but its prompt belongs to the test split/);
  fs.writeFileSync(bad, '{"family": "add"}\n');
  assert.throws(() => readTaskDataset(bad), /bad.jsonl:1: expected a task record/);
  fs.writeFileSync(bad, 'nope\n');
  assert.throws(() => readTaskDataset(bad), /bad.jsonl:1: expected a JSON object/);
  assert.throws(() => writeTaskDataset(path.join(root, 'x.jsonl'), { family: 'add', difficulty: 9, split: 'test', n: 1, seed: 0 }), /expected difficulty in 1, 2, 3, 4, 5; found 9/);
  assert.ok(!fs.existsSync(path.join(root, 'x.jsonl')));
});
