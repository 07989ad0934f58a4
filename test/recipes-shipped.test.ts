// Every recipe shipped in recipes/ loads with the parser of its kind, so a typo in a recipe is found
// here rather than an hour into a run. Run recipes also resolve their model config (preset plus HF-key
// overrides) and the data recipe they name, and their sequences fit that model's RoPE table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RECIPES_DIR, loadRunRecipe, parseRunRecipe } from '../src/train/recipe.js';
import { droppedKeys } from '../src/train/parse-recipe.js';
import { checkRecipeFitsModel, recipeConfig } from '../src/train/trainer.js';
import { loadRecipe as loadDataRecipe } from '../src/data/recipe.js';
import { loadR1Recipe, parseR1Recipe } from '../src/rl/r1/config.js';
import { checkR1Recipe } from '../src/rl/r1/pipeline.js';
import { loadGrpoRecipe, parseGrpoRecipe } from '../src/rl/config.js';
import { loadDistillRecipe } from '../src/distill/config.js';
import { studentRecipe } from '../src/distill/distill.js';
import { armDistillRecipe, checkStudy } from '../src/distill/study.js';
import { loadStudyRecipe } from '../src/distill/study-config.js';

function recipeFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? recipeFiles(p) : e.name.endsWith('.json') ? [p] : [];
  });
}

const files = recipeFiles(RECIPES_DIR);

test('recipeConfig: an override that is not a key of the preset\'s config.json is an error naming it', () => {
  const r = loadRunRecipe(path.join(RECIPES_DIR, 'pretrain-small-prose.json'));
  r.model.overrides = { ...r.model.overrides, hiden_size: 256 };
  assert.throws(() => recipeConfig(r), /model\.overrides: "hiden_size" is not a key of the "mini" config\.json; expected some of: .*hidden_size/);
});

test('a run recipe with a key its schema does not name is an error naming the key and the expected ones', () => {
  const raw = JSON.parse(fs.readFileSync(path.join(RECIPES_DIR, 'r1-nano.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  raw.sft1 = { ...raw.sft1, train: { ...(raw.sft1!.train as object), stpes: 10 } };
  // the pipeline's sections are parsed by the stage parsers when the pipeline recipe is checked, before any stage runs
  assert.throws(() => checkR1Recipe(parseR1Recipe(raw, 'r1-nano.json')), /r1-nano-stage1 \(recipe section\) is invalid:\n {2}train\.stpes: unknown key; expected one of: .*steps/);
  const g = JSON.parse(fs.readFileSync(path.join(RECIPES_DIR, 'grpo-nano.json'), 'utf8')) as Record<string, unknown>;
  assert.throws(() => parseGrpoRecipe({ ...g, maxMinutse: 5 }), /maxMinutse: unknown key; expected one of: .*maxMinutes/);
  const p = JSON.parse(fs.readFileSync(path.join(RECIPES_DIR, 'pretrain-nano.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.throws(() => parseRunRecipe({ ...p, train: { ...p.train, lr: { ...(p.train.lr as object), peek: 1 } } }), /train\.lr\.peek: unknown key/);
  assert.deepEqual(droppedKeys({ a: [{ b: 1, c: 2 }] }, { a: [{ b: 1 }] }), ['  a[0].c: unknown key; expected one of: b']);
  assert.deepEqual(droppedKeys({ a: 1, b: undefined }, { a: 1 }), [], 'an undefined value is no key');
});

test('recipes/ holds the recipes the README and docs name', () => {
  const names = files.map((f) => path.relative(RECIPES_DIR, f));
  for (const n of ['pretrain-mini.json', 'pretrain-mini-prose.json', 'pretrain-small-prose.json', 'r1-mini.json', 'r1-nano.json', 'data/default.json', 'data/prose.json']) {
    assert.ok(names.includes(n), `recipes/${n} is missing`);
  }
});

for (const file of files) {
  const rel = path.relative(RECIPES_DIR, file);
  test(`recipes/${rel} loads with the parser of its kind`, () => {
    const kind = (JSON.parse(fs.readFileSync(file, 'utf8')) as { kind?: string }).kind;
    switch (kind) {
      case 'pretrain':
      case 'sft': {
        const r = loadRunRecipe(file);
        assert.equal(r.kind, kind);
        if (!r.model.init) {
          const cfg = recipeConfig(r) as unknown as Record<string, unknown>;
          for (const [k, v] of Object.entries(r.model.overrides)) {
            // every override reaches the model config, as a typed field or an extra config.json key
            const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
            assert.deepEqual(camel in cfg ? cfg[camel] : (cfg.extra as Record<string, unknown>)[k], v, `${rel}: override ${k}`);
          }
          checkRecipeFitsModel(r);
        }
        if (r.kind === 'pretrain') loadDataRecipe(r.data.recipe);
        break;
      }
      case 'r1': checkR1Recipe(loadR1Recipe(file)); break;
      case 'grpo': assert.equal(loadGrpoRecipe(file).kind, 'grpo'); break;
      case 'distill': studentRecipe(loadDistillRecipe(file), 'data.jsonl'); break; // the student's SFT recipe is built from its sections
      case 'distill-study': {
        const st = loadStudyRecipe(file);
        checkStudy(st);
        for (const m of ['trace-sft', 'answer-sft', 'logit-kd', 'gkd'] as const) studentRecipe(armDistillRecipe(st, m, st.budget.steps, true), 'data.jsonl');
        break;
      }
      case undefined: assert.ok(rel.startsWith('data/'), `${rel} has no "kind"; only data recipes (recipes/data/) may omit it`); loadDataRecipe(file); break;
      default: assert.fail(`${rel}: unknown kind ${JSON.stringify(kind)}`);
    }
  });
}
