// splitGeneral (src/rl/r1/data.ts): the training general prompts that stage 3's SFT rows use and the
// ones only stage 4's RL asks (rejection.rlOnlyGeneral). The pipeline's use of both halves is checked
// in rl-r1-pipeline-mutants.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitGeneral, generalRows, multiTurnRows } from '../src/rl/r1/data.js';
import { CATEGORIES, TRAIN_GENERAL } from '../src/data/conversations.js';
import { hashSeed } from '../src/tasks/rng.js';
import { parseR1Recipe, loadR1Recipe } from '../src/rl/r1/config.js';

test('splitGeneral(0) is the whole training set on both sides (recipes before the setting are unchanged)', () => {
  const { sft, rl } = splitGeneral(0);
  assert.equal(sft, TRAIN_GENERAL);
  assert.equal(rl, TRAIN_GENERAL);
  // the rows built from it are the rows built without it
  assert.deepEqual(generalRows(50, 9, sft), generalRows(50, 9));
  assert.deepEqual(multiTurnRows(20, ['add'], [1], 9, sft), multiTurnRows(20, ['add'], [1], 9));
});

test('splitGeneral(share): per category a disjoint split of the prompts in their order, the RL side chosen by hash, both sides non-empty, independent of order', () => {
  for (const share of [0.1, 0.25, 0.5, 0.9]) {
    const { sft, rl } = splitGeneral(share);
    let nRl = 0, n = 0;
    for (const c of CATEGORIES) {
      const all = TRAIN_GENERAL[c];
      assert.ok(sft[c].length >= 1 && rl[c].length >= 1, `${c} at ${share}: ${sft[c].length} / ${rl[c].length}`);
      assert.equal(sft[c].length + rl[c].length, all.length);
      const inRl = new Set(rl[c]);
      assert.ok(sft[c].every((t) => !inRl.has(t)));
      // each side keeps the original order
      assert.deepEqual([...sft[c]], all.filter((t) => !inRl.has(t)));
      assert.deepEqual([...rl[c]], all.filter((t) => inRl.has(t)));
      // the RL side is the prompts whose hash is below the share (up to the one-per-side rule)
      const below = all.filter((t) => hashSeed('rl-only-general', t) / 2 ** 32 < share);
      if (below.length >= 1 && below.length < all.length) assert.deepEqual([...rl[c]], below, `${c} at ${share}`);
      nRl += rl[c].length; n += all.length;
    }
    // 562 prompts: the RL share is near the asked share (binomial sd ≤ 2.1 points)
    assert.ok(Math.abs(nRl / n - share) < 0.08, `${nRl}/${n} at ${share}`);
  }
  // the same prompts in another order split the same way
  const reversed = Object.fromEntries(CATEGORIES.map((c) => [c, [...TRAIN_GENERAL[c]].reverse()])) as unknown as typeof TRAIN_GENERAL;
  const a = splitGeneral(0.25), b = splitGeneral(0.25, reversed);
  for (const c of CATEGORIES) assert.deepEqual([...b.rl[c]].sort(), [...a.rl[c]].sort());
  // a two-prompt category gives one to each side whatever the share; a one-prompt category is on both
  const one = Object.fromEntries(CATEGORIES.map((c) => [c, TRAIN_GENERAL[c].slice(0, 1)])) as unknown as typeof TRAIN_GENERAL;
  for (const c of CATEGORIES) assert.deepEqual([splitGeneral(0.5, one).sft[c], splitGeneral(0.5, one).rl[c]], [[TRAIN_GENERAL[c][0]], [TRAIN_GENERAL[c][0]]]);
  const tiny = Object.fromEntries(CATEGORIES.map((c) => [c, TRAIN_GENERAL[c].slice(0, 2)])) as unknown as typeof TRAIN_GENERAL;
  for (const c of CATEGORIES) {
    assert.equal(splitGeneral(0.05, tiny).rl[c].length, 1);
    assert.equal(splitGeneral(0.9, tiny).sft[c].length, 1);
  }
});

test('rows built from the SFT side never hold an RL-only prompt', () => {
  const { sft, rl } = splitGeneral(0.25);
  const rlOnly = new Set(Object.values(rl).flat().flatMap((t) => [t, t.toLowerCase()]));
  const rows = [...generalRows(3000, 5, sft), ...multiTurnRows(1500, ['add', 'sub'], [1, 2], 7, sft)];
  for (const r of rows) for (const m of r.messages) assert.ok(!rlOnly.has(m.content), m.content);
  // and every SFT-side prompt can appear
  const seen = new Set(rows.flatMap((r) => r.messages.map((m) => m.content)));
  const sftAll = Object.values(sft).flat();
  assert.ok(sftAll.filter((t) => seen.has(t) || seen.has(t.toLowerCase())).length > 0.9 * sftAll.length);
});

test('rejection.rlOnlyGeneral: default 0, a share up to 0.9, anything else refused naming the field', () => {
  const nano = loadR1Recipe('nano');
  assert.equal(nano.rejection.rlOnlyGeneral, 0);
  assert.equal(parseR1Recipe({ ...nano, rejection: { ...nano.rejection, rlOnlyGeneral: 0.25 } }).rejection.rlOnlyGeneral, 0.25);
  for (const bad of [-0.1, 0.95, 1, 'a']) assert.throws(() => parseR1Recipe({ ...nano, rejection: { ...nano.rejection, rlOnlyGeneral: bad } }), /rlOnlyGeneral/);
  assert.throws(() => splitGeneral(1), /rlOnlyGeneral: expected a share in \[0, 1\), found 1/);
});
