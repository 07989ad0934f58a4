// GET /api/model, what the chat page shows on an empty chat: the shipped model's size (3.7M
// parameters, as the README says; 1.4M active per token), its shape, and example prompts worded
// exactly as the task families render problems; --examples chooses the families or turns them off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelDir } from '../src/infer/load.js';
import { ModelHost } from '../src/serve/model-host.js';
import { createApp } from '../src/serve/app.js';
import { examplePrompts, skillsText } from '../src/serve/model-card.js';
import type { ModelCard } from '../src/serve/model-card.js';
import { splitOf } from '../src/tasks/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shippedModel = path.resolve(here, '../../models/tinyseek-r1-mini');
const cli = path.resolve(here, '../src/cli/index.js');

test('/api/model on the shipped model: 3.7M parameters, 1.4M active, 4 layers, 8 experts top-2, and four held-out example prompts in the task wording', async () => {
  const host = new ModelHost(loadModelDir(shippedModel), { maxBatch: 1 });
  const app = createApp({ host, webDir: path.resolve(here, '../../web') });
  const res = await app.request('/api/model');
  assert.equal(res.status, 200);
  const card = (await res.json()) as ModelCard;
  assert.equal(card.id, 'tinyseek-r1-mini');
  assert.equal((card.parameters.total / 1e6).toFixed(1), '3.7');
  assert.equal((card.parameters.activated / 1e6).toFixed(1), '1.4');
  assert.ok(card.parameters.mtp > 0 && card.parameters.mtp < card.parameters.total);
  assert.deepEqual([card.layers, card.routed_experts, card.experts_per_token, card.shared_experts, card.context_length], [4, 8, 2, 1, 512]);
  assert.equal(card.skills, 'small arithmetic, sorting and countdown problems');
  assert.deepEqual(card.examples.map((e) => e.family), ['add', 'sort', 'countdown', 'sub']);
  for (const e of card.examples) {
    assert.equal(splitOf({ family: e.family, prompt: e.prompt }), 'test', `${e.prompt} is held out`);
  }
  assert.match(card.examples[0].prompt, /^Compute \d+ \+ \d+$/);
  assert.match(card.examples[1].prompt, /^Sort in ascending order: [\d, ]+$/);
  assert.match(card.examples[2].prompt, /^Using the numbers [\d, ]+, make \d+\. Use \+ - \* \/ and each number at most once$/);
  assert.match(card.examples[3].prompt, /^Compute \d+ - \d+$/);
  assert.deepEqual(card.examples, examplePrompts(['add', 'sort', 'countdown', 'sub']), 'the same seed gives the same examples');

  const none = (await (await createApp({ host, webDir: path.resolve(here, '../../web'), examples: [] }).request('/api/model')).json()) as ModelCard;
  assert.deepEqual(none.examples, []);
  assert.equal(none.skills, null);
  // Behind --api-key like the rest of /api.
  assert.equal((await createApp({ host, webDir: path.resolve(here, '../../web'), apiKey: 'k' }).request('/api/model')).status, 401);
});

test('the skills sentence and --examples: an unknown family is bad usage (exit 2) naming the known ones', () => {
  assert.equal(skillsText(['mul']), 'small arithmetic problems');
  assert.equal(skillsText(['sort', 'add']), 'small arithmetic and sorting problems');
  assert.throws(() => examplePrompts(['add', 'nope']), /unknown task family "nope"; expected some of: add, sub, mul, countdown, sort, mod, linear/);
  const r = spawnSync(process.execPath, [cli, 'serve', shippedModel, '--examples', 'add,nope'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--examples: unknown task family "nope"/);
});
