// What the thinking does during RL: GRPO's completions log (TRL's log_completions) — written per
// step, truncated on resume like metrics.jsonl — and the counts the "thinking that grows" report
// reads from it (column steps, tried and rejected candidates, R1's re-check words).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getTask, sampleProblem } from '../src/tasks/index.js';
import { behaviourCurves, thinkingCounts, thinkingOf } from '../src/rl/behaviour.js';
import { grpo } from '../src/rl/grpo.js';
import { parseGrpoRecipe, loadGrpoRecipe } from '../src/rl/config.js';
import { nanoModel } from './helpers/nano-model.js';

test('thinking counts on real worked solutions: column steps of a 4-digit addition, tries and dead ends of a countdown search, re-check words', () => {
  const add = sampleProblem('add', 3, 'train', 5);
  const w = getTask('add').work(add);
  const digits = Math.max(...add.prompt.match(/\d+/g)!.map((x) => x.length));
  const c = thinkingCounts(` <think> ${w.trace} </think> <answer> ${w.answer} </answer>`);
  assert.equal(c.columnSteps, digits, w.trace);
  assert.equal(c.tries, 0);
  assert.equal(c.recheckWords, 0, 'no training document uses R1\'s re-check words');

  const cd = sampleProblem('countdown', 3, 'train', 5); // "make 72 from 9, 9, 1": three dead ends, then a hit
  const t = getTask('countdown').work(cd).trace;
  const k = thinkingCounts(`<think>${t}</think><answer>x</answer>`);
  assert.equal(k.tries, (t.match(/^try /gm) ?? []).length);
  assert.ok(k.tries >= 2 && k.deadEnds >= 1 && k.deadEnds < k.tries, t);

  const r = thinkingCounts('<think>2 + 3 = 6. Wait, let me check: 2 + 3 = 5. Verify: yes</think><answer>5</answer>');
  assert.equal(r.recheckWords, 3);
  assert.equal(thinkingOf('<think>half a thought'), 'half a thought', 'an unclosed think block runs to the end');
  assert.equal(thinkingOf('bare 12 <answer>12</answer>'), 'bare 12 ', 'no think block: everything before the answer');
  assert.equal(thinkingCounts('<think> x </think> <answer> wait check </answer>').recheckWords, 0, 'the answer is not thinking');
});

test('behaviour curves: per-step means over the logged completions; a torn last line is skipped', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-behaviour-'));
  try {
    const file = path.join(dir, 'completions.jsonl');
    const lines = [
      { step: 1, family: 'add', completion: '<think>column 1: 1 + 2 = 3, write 3</think><answer>3</answer>', tokens: 10, rewards: { accuracy: 1 } },
      { step: 1, family: 'add', completion: '<think></think><answer>4</answer>', tokens: 4, rewards: { accuracy: 0 } },
      { step: 2, family: 'countdown', completion: '<think>try 2 * 3 = 6: dead end\ntry 2 + 3 = 5: reached 5. wait</think><answer>2 + 3</answer>', tokens: 30, rewards: { accuracy: 1 } },
    ];
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"step": 3, "compl');
    const b = behaviourCurves(file);
    assert.deepEqual(b.step, [1, 2]);
    assert.deepEqual(b.n, [2, 1]);
    assert.deepEqual(b.tokens, [7, 30]);
    assert.deepEqual(b.accuracy, [0.5, 1]);
    assert.deepEqual(b.column_steps, [0.5, 0]);
    assert.deepEqual(b.tries, [0, 2]);
    assert.deepEqual(b.dead_end_rate, [0, 1]);
    assert.deepEqual(b.recheck_rate, [0, 1]);
    assert.deepEqual(behaviourCurves(file, ['countdown']).step, [2], 'filtered by family');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('GRPO logs the first logCompletions completions of every step; a resumed run rewrites the steps after its checkpoint', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-grpo-complog-'));
  try {
    const init = nanoModel(root);
    const recipe = parseGrpoRecipe({
      name: 'grpo-complog', seed: 4, init, tasks: { families: ['add', 'countdown'], difficulties: [1] },
      steps: 4, promptsPerStep: 2, numGenerations: 3, maxCompletionLength: 6, lr: 1e-3, microBatch: 6, checkpoint: { every: 2 }, logCompletions: 4,
    });
    const a = path.join(root, 'a'), b = path.join(root, 'b');
    await grpo({ recipe, out: a, quiet: true });
    const read = (dir: string) => fs.readFileSync(path.join(dir, 'completions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const la = read(a);
    assert.deepEqual(la.map((x) => x.step), [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]);
    // In group order: all 3 completions of group 0, then the first of group 1.
    assert.deepEqual(la.slice(0, 4).map((x) => x.group), [0, 0, 0, 1]);
    for (const x of la) {
      for (const k of ['family', 'difficulty', 'answer', 'prompt', 'completion', 'tokens', 'finish_reason', 'reward', 'rewards']) assert.ok(k in x, `field ${k}`);
      assert.ok(typeof x.completion === 'string' && (x.tokens as number) <= 6);
    }
    // Stopped after step 3 (stopAfter saves a checkpoint there).
    await grpo({ recipe, out: b, quiet: true, stopAfter: 3 });
    // A torn tail from a crash after step 3's checkpoint: a resume must not keep it or duplicate steps.
    fs.appendFileSync(path.join(b, 'completions.jsonl'), JSON.stringify({ step: 4, completion: 'from the lost part of the run', tokens: 1 }) + '\n');
    await grpo({ recipe, out: b, quiet: true, resume: true });
    assert.deepEqual(read(b), la, 'the resumed run logs exactly what the uninterrupted one did');
    assert.equal(loadGrpoRecipe('grow-mini').logCompletions, 32, 'the thinking-that-grows experiment logs completions');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
