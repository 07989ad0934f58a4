// `tinyseek bench train-step` compares like with like: the model it trains has the parameter count
// `tinyseek params` computes for the config.json it hands the PyTorch peer, and (when PyTorch is
// importable) the peer builds a model of the same count from that file and runs its training step.
// No timings are asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMoeLayer } from '../src/model/config.js';
import { makeTrainStep, runPeer, tinyseekParams, trainStepCases, writeConfig } from '../bench/train-step.js';
import { pythonHas } from '../bench/_util.js';

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url));
const cases = trainStepCases();

test('the trained model has the parameters `tinyseek params` counts for the config.json given to the peer', () => {
  for (const c of cases) {
    const file = writeConfig(c.cfg);
    try {
      const r = spawnSync(process.execPath, [CLI, 'params', '--config', file, '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const p = JSON.parse(r.stdout) as { total: number; mtp_total: number };
      // `params` counts each gate's e_score_correction_bias (a buffer, not trained): one per MoE layer, the MTP layers' included
      const layers = c.cfg.numHiddenLayers + c.cfg.numNextnPredictLayers;
      let moe = 0;
      for (let l = 0; l < layers; l++) if (isMoeLayer(c.cfg, l)) moe++;
      assert.ok(moe > 0 && c.cfg.numNextnPredictLayers > 0, `${c.name}: the benchmark exercises MoE layers and MTP`);
      assert.equal(tinyseekParams(c.cfg), p.total + p.mtp_total - moe * c.cfg.nRoutedExperts, c.name);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  }
});

const noTorch = pythonHas('torch');

test('the PyTorch peer builds the same parameter count from the config.json and runs a training step', { skip: noTorch ? `PyTorch not importable (${noTorch}); apt-get install -y python3-torch` : false, timeout: 120_000 }, () => {
  for (const c of cases) assert.equal(runPeer(c.cfg, 1, 8, 0, 1, true).params, tinyseekParams(c.cfg), `${c.name}: PyTorch vs tinyseek parameter count`);
  // a whole (tiny) step on both sides: 2 warm-up + 3 timed steps on the peer's side
  const mini = cases[cases.length - 1];
  const peer = runPeer(mini.cfg, 1, 8, 0, 1);
  const ts = makeTrainStep(mini.cfg, 1, 8);
  const loss = ts.step();
  assert.equal(peer.params, ts.params);
  assert.ok(peer.steps! >= 3 && Number.isFinite(peer.ms));
  // both start near ln V (random init, random ids) plus the MTP term; different weights, so only loosely
  for (const l of [peer.first_loss!, loss]) assert.ok(Number.isFinite(l) && Math.abs(l - 1.1 * Math.log(mini.cfg.vocabSize)) < 2, `first loss ${l}`);
});
