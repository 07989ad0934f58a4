// Trains the R1 pipeline's reward model again from a pipeline recipe, exactly as its `rm` stage does
// (the same preference pairs and settings; training is deterministic), and writes it where asked,
// checking the held-out pair accuracy against a number the pipeline reported, when given.
// Usage: node scripts/rebuild-reward-model.mjs recipes/r1-mini.json models/tinyseek-r1-mini/reward-model.json [--expect-heldout 0.962]
import { loadR1Recipe } from '../dist/src/rl/r1/config.js';
import { generalPrompts, preferencePairs, TRAIN_GENERAL, HELDOUT_GENERAL } from '../dist/src/data/conversations.js';
import { trainRewardModel } from '../dist/src/rl/r1/reward-model.js';

const args = process.argv.slice(2);
const [recipeFile, out] = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--expect-heldout');
const e = args.indexOf('--expect-heldout');
const expect = e >= 0 ? Number(args[e + 1]) : null;
if (!recipeFile || !out) {
  console.error('usage: node scripts/rebuild-reward-model.mjs RECIPE OUT_FILE [--expect-heldout ACCURACY]');
  process.exit(2);
}
const r = loadR1Recipe(recipeFile);
const rc = r.rewardModel;
const trainPairs = preferencePairs(generalPrompts(TRAIN_GENERAL), rc.pairsPerPrompt, r.seed + 11);
const heldPairs = preferencePairs(generalPrompts(HELDOUT_GENERAL), rc.pairsPerPrompt, r.seed + 13);
const { model } = trainRewardModel(trainPairs, { dim: rc.dim, steps: rc.steps, lr: rc.lr, l2: rc.l2 });
const held = model.pairAccuracy(heldPairs);
console.log(`${trainPairs.length} training pairs, train accuracy ${(100 * model.pairAccuracy(trainPairs)).toFixed(1)}%; held-out ${(100 * held).toFixed(1)}% on ${heldPairs.length} pairs`);
if (expect !== null && Math.abs(held - expect) > 0.0005) {
  console.error(`held-out accuracy ${held.toFixed(4)} is not the expected ${expect}: the data or the training changed since that run`);
  process.exit(1);
}
model.save(out);
console.log(`wrote ${out}`);
