// Ctrl-C (a real SIGINT) during GRPO and during a stage of the R1 pipeline: the run stops at the
// next step with a checkpoint, `--resume` continues it, and the pipeline does not mark the stage
// complete (a half-trained model must never pass as the stage's result on the next run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { grpo } from '../src/rl/grpo.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import { nanoModel } from './helpers/nano-model.js';
import { readMetrics } from '../src/train/metrics.js';
import { finished, RunInterrupted } from '../src/train/interrupted.js';
import { loadR1Recipe, parseR1Recipe } from '../src/rl/r1/config.js';
import { runR1Pipeline } from '../src/rl/r1/pipeline.js';
import { pooledBufferBytes } from '../src/tensor/index.js';

/** Runs `fn` with the harness's own SIGINT handlers set aside (Stryker's tap hook exits on SIGINT), as the CLI's process owns Ctrl-C. */
async function owningCtrlC<T>(fn: () => Promise<T>): Promise<T> {
  const harness = process.listeners('SIGINT');
  for (const h of harness) process.off('SIGINT', h);
  try {
    return await fn();
  } finally {
    for (const h of harness) process.on('SIGINT', h);
  }
}

test('finished: passes a completed result through; an interrupted one becomes RunInterrupted naming the step and checkpoint', () => {
  const done = { interrupted: false, lastStep: 10, finalDir: 'runs/x/final' };
  assert.equal(finished(done, 'stage'), done);
  assert.throws(() => finished({ interrupted: true, lastStep: 3, finalDir: 'runs/x/checkpoints/step-000003' }, 'r1: stage 2 RL'), (e: unknown) => {
    assert.ok(e instanceof RunInterrupted);
    assert.equal(e.message, 'r1: stage 2 RL: interrupted at step 3 (checkpoint runs/x/checkpoints/step-000003); run the same command again to resume');
    return true;
  });
});

test('Ctrl-C during GRPO stops at the next step with a checkpoint; --resume finishes the run', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-grpo-sigint-'));
  try {
    const init = nanoModel(root);
    const recipe = parseGrpoRecipe({
      name: 'grpo-sigint', seed: 1, init, tasks: { families: ['add'], difficulties: [1] },
      steps: 30, promptsPerStep: 2, numGenerations: 2, maxCompletionLength: 6, lr: 1e-3, microBatch: 4, checkpoint: { every: 0 },
    });
    const out = path.join(root, 'run');
    let sentAt = -1;
    const res = await owningCtrlC(() => grpo({
      recipe, out, quiet: true,
      onStep: (m) => { if (m.step === 2) { sentAt = m.step; process.kill(process.pid, 'SIGINT'); } },
    }));
    assert.equal(process.listenerCount('SIGINT'), 0, 'the handler is removed when the run returns');
    assert.equal(sentAt, 2);
    assert.equal(res.interrupted, true, `the run went on to step ${res.lastStep} of 30 after SIGINT`);
    assert.ok(res.lastStep >= 2 && res.lastStep < 30, `stopped at ${res.lastStep}`);
    assert.equal(res.finalDir, path.join(out, 'checkpoints', `step-${String(res.lastStep).padStart(6, '0')}`));
    assert.ok(fs.existsSync(path.join(res.finalDir, 'COMPLETE')), 'the checkpoint is complete');
    assert.ok(!fs.existsSync(path.join(out, 'final')), 'no final model from an interrupted run');
    const again = await grpo({ recipe, out, quiet: true, resume: true });
    assert.equal(again.interrupted, false);
    assert.equal(again.lastStep, 30);
    assert.equal(pooledBufferBytes(), 0, 'the run empties the buffer pool when it ends');
    assert.deepEqual(readMetrics(path.join(out, 'metrics.jsonl')).map((m) => m.step), Array.from({ length: 30 }, (_, i) => i + 1));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('Ctrl-C during a pipeline stage: runR1Pipeline rejects with RunInterrupted and the stage is not marked complete', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1-sigint-'));
  try {
    const base = nanoModel(root);
    const nano = loadR1Recipe('nano');
    const recipe = parseR1Recipe({ ...nano, base, r1zero: { grpo: { ...nano.r1zero.grpo, steps: 200, maxMinutes: 0, checkpoint: { every: 0 } } } });
    const out = path.join(root, 'r1');
    const metrics = path.join(out, 'r1zero', 'run', 'metrics.jsonl');
    // Ctrl-C once R1-Zero's GRPO has logged a step.
    const timer = setInterval(() => {
      if (fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').trim().length > 0) {
        clearInterval(timer);
        process.kill(process.pid, 'SIGINT');
      }
    }, 20);
    let err: unknown;
    try {
      await owningCtrlC(() => runR1Pipeline({ recipe, out, reportDir: path.join(root, 'report'), quiet: true }));
    } catch (e) {
      err = e;
    } finally {
      clearInterval(timer);
    }
    assert.ok(err instanceof RunInterrupted, `expected RunInterrupted; got ${String(err)}`);
    assert.match(err.message, /^r1: R1-Zero: interrupted at step \d+ \(checkpoint .*step-\d{6}\); run the same command again to resume$/);
    assert.ok(err.lastStep < 200);
    assert.ok(fs.existsSync(path.join(out, 'base', 'STAGE.json')), 'the base stage before it is complete');
    assert.ok(!fs.existsSync(path.join(out, 'r1zero', 'STAGE.json')), 'the interrupted stage has no completion marker');
    assert.ok(!fs.existsSync(path.join(out, 'stage1-data')), 'no later stage started');
    assert.ok(fs.existsSync(path.join(err.checkpoint, 'COMPLETE')), 'its checkpoint is complete, for the resume');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
