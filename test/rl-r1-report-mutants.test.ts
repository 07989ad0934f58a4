// The R1 pipeline's report card (src/rl/r1/report.ts) line by line (found by mutation testing,
// docs/mutation.md): the committed reports re-rendered from their JSON, a hand-built report with
// every stage kind the renderer knows, "–" for missing values, the noise sentence's numbers, the
// RL curves' first/last-quarter means, the wall-time sentence, and writeR1Report's two files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { r1ReportMarkdown, writeR1Report } from '../src/rl/r1/report.js';
import type { R1Report, StageRecord } from '../src/rl/r1/report.js';
import type { R1Eval, R1FamilyEval } from '../src/rl/r1/evaluate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const results = path.join(root, 'docs/results');
const readReport = (name: string) => JSON.parse(fs.readFileSync(path.join(results, `${name}.json`), 'utf8')) as R1Report;
const readMd = (name: string) => fs.readFileSync(path.join(results, `${name}.md`), 'utf8');

test('the committed r1 reports are exactly what r1ReportMarkdown renders from their JSON (NaN stored as null renders as before)', () => {
  for (const name of ['r1-nano', 'r1-mini-attempt2', 'r1-mini-attempt3', 'r1-mini-attempt4', 'r1-mini-attempt14']) {
    assert.equal(r1ReportMarkdown(readReport(name)), readMd(name), name);
  }
});

test('docs/results/r1-mini.md, r1-mini-attempt8.md, r1-mini-attempt7.md, r1-mini-attempt6.md, r1-mini-attempt5.md and r1-mini-session6.md are the rendering plus one hand-written "Recipe:" paragraph after the command line', () => {
  // Each report was committed as rendered, then the paragraph on the capped RL stages added by hand.
  const three = (caps: string) => `Recipe: \`recipes/r1-mini.json\` with the three RL stages capped at ${caps} minutes`;
  for (const [name, wall, recipeLine] of [
    ['r1-mini', /Wall time of all stages: \*\*55\.3 min\*\* .*; this invocation, which found some stages complete, took 36\.6 min\.$/, 'Recipe: `recipes/r1-mini.json` with the two RL stages it ran capped at 10 / 12 minutes (stage 2 / stage 4'],
    ['r1-mini-attempt7', /Wall time of all stages: \*\*71\.7 min\*\* on this 2-core machine \(shared with other jobs\)\.$/, 'Recipe: `recipes/r1-mini.json` with the two RL stages it ran capped at 10 / 12 minutes (stage 2 / stage 4'],
    ['r1-mini-attempt8', /Wall time of all stages: \*\*74\.2 min\*\* on this 2-core machine \(shared with other jobs\)\.$/, 'Recipe: `recipes/r1-mini.json` with the two RL stages it ran capped at 10 / 12 minutes (stage 2 / stage 4'],
    ['r1-mini-attempt6', /Wall time of all stages: \*\*80\.6 min\*\* on this 2-core machine \(shared with other jobs\)\.$/, three('8 / 10 / 12')],
    ['r1-mini-attempt5', /Wall time of all stages: \*\*258\.1 min\*\* .*; this invocation, which found some stages complete, took 78\.3 min\.$/, three('15 / 20 / 20')],
    ['r1-mini-session6', /Wall time of all stages: \*\*256\.4 min\*\* .*; this invocation, which found some stages complete, took 66\.3 min\.$/, three('15 / 20 / 20')]] as const) {
    const rendered = r1ReportMarkdown(readReport(name)).split('\n');
    const committed = readMd(name).split('\n');
    assert.equal(committed.length, rendered.length + 2, name);
    assert.ok(committed[4]!.startsWith(recipeLine), `${name}: ${committed[4]}`);
    assert.equal(committed[5], '', name);
    assert.deepEqual([...committed.slice(0, 4), ...committed.slice(6)], rendered, name);
    assert.match(rendered[2]!, wall, name);
  }
});

// ---------------------------------------------------------------------------------------------
// A hand-built report

const fam = (family: string, problems: number, pass1: number, lenient_pass1: number): R1FamilyEval => ({
  family, problems, pass1, lenient_pass1, cons: 0.01, lenient_cons: 0.02, greedy: 0.03, well_formed: 0.04, readability: 0.05, readable_rate: 0.06, mean_thinking_tokens: 7,
});
type Mean = R1Eval['mean'];
const U = undefined as unknown as number; // a value missing from the JSON

function ev(families: R1FamilyEval[], mean: Mean, ph: [number, number], st: [number, number], general: [number, number, number], examples: R1Eval['examples'] = []): R1Eval {
  return {
    families, mean, phrasings: { prompts: 16, strict: ph[0], lenient: ph[1] }, second_turn: { prompts: 4, strict: st[0], lenient: st[1] },
    general: { prompts: 15, rm_score: general[0], clean_reply: general[1], empty_reply: general[2] }, examples, seconds: 1,
  };
}

const C10 = {
  reward: [0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9],
  accuracy: [NaN, 0.5, 0, 0, 0, 0, 0, 0, 1, NaN],
  format: Array.from({ length: 10 }, () => NaN),
  readability: [1, 1, 0, 0, 0, 0, 0, 0, 0.25, 0.75],
  mean_length: [40, 44, 0, 0, 0, 0, 0, 0, 30, 31],
  step: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
};
const C3 = { reward: [0.2, 0.4, 0.9], accuracy: [NaN, NaN, NaN], preference: [1.5, NaN, -0.25] };

function stage(stage: string, seconds: number, info: Record<string, unknown>, skipped?: boolean): StageRecord {
  return { stage, dir: `runs/r1-test/${stage}`, seconds, ...(skipped ? { skipped } : {}), info };
}

function fullReport(): R1Report {
  return {
    preset: 'test', name: 'tinyseek-test', out: 'runs/r1-test', recipe: { any: 1 }, total_seconds: 186,
    stages: [
      stage('base', 12.4, { model: 'runs/r1-test/base/final' }),
      stage('r1zero', 600.6, { trained: true, steps: 40, model: 'unused', curve: { reward: [] } }),
      stage('r1zero', 30, { trained: false, model: 'models/r1zero' }, true),
      stage('stage1-data', 45, { sampled: 64, verified_correct: 40, from_r1zero: 30, filter: { incorrect: 24, overlong: 10 }, written: 20, rows: 50 }),
      stage('stage1-sft', 120, { steps: 100, first_ce: 2.34567, last_ce: 0.5 }),
      stage('stage2-rl', 200, { steps: 10, curve: C10 }),
      stage('stage2-rl-no-readability', 100, { steps: 5 }),
      stage('stage3-data', 50, { sampled: 32, from_stage2: 20, filter: { unreadable: 12 }, rows: 60, by_source: { stage2: 20, written: 40 } }),
      stage('stage3-sft', 60, { steps: 0, first_ce: NaN }),
      stage('rm', 20, { train_pairs: 200, train_accuracy: 0.95, heldout_accuracy: 0.8, heldout_pairs: 48, heldout_accuracy_by_kind: { garbled: 1, wrong: 0.5, empty: NaN }, first_loss: 0.693147, last_loss: 0.2 }),
      stage('stage3-eval', 12, {}),
      stage('stage4-rl', 80, { steps: 3, curve: C3 }),
      stage('distill', 8, { steps: 1 }),
    ],
    evals: {
      'stage1-sft': ev([fam('add', 30, 0.125, 0.25), fam('sort', 20, 0.5, 0.6)],
        { pass1: 0.3125, lenient_pass1: 0.425, cons: 0.4, lenient_cons: 0.5, greedy: 1 / 3, well_formed: 0.9, readability: 0.9, readable_rate: 0.75, mean_thinking_tokens: 41.2 },
        [0.375, 0.75], [0.5, 0.75], [NaN, 11 / 15, 0.2], [{ prompt: 'first', reply: 'not shown' }]),
      'stage2-rl': ev([fam('add', 99, 0.2, 0.3), fam('sort', 99, 0.4, 0.5)],
        { pass1: 0.3, lenient_pass1: 0.4, cons: 0.35, lenient_cons: 0.45, greedy: 0.25, well_formed: 0.95, readability: 0.97, readable_rate: 0.8, mean_thinking_tokens: 50 },
        [0.5, 0.625], [0.25, 1], [NaN, 0.6, 0]),
      'stage2-rl-no-readability': ev([fam('add', 99, 0.25, 0.35), fam('sort', 99, 0.45, 0.55)],
        { pass1: 0.35, lenient_pass1: 0.45, cons: NaN, lenient_cons: U, greedy: 0.3, well_formed: 0.7, readability: 0.55, readable_rate: 0.1, mean_thinking_tokens: NaN },
        [NaN, 0.5], [0, 0], [NaN, 0.2, 0.4]),
      'stage4-rl': ev([fam('add', 99, 0.5, 0.55), fam('sort', 99, 0.7, 0.8)],
        { pass1: 0.6, lenient_pass1: 0.675, cons: 0.65, lenient_cons: 0.7, greedy: U, well_formed: 1, readability: 1, readable_rate: 1, mean_thinking_tokens: 38.46 },
        [0.5, 0.8], [0.75, 0.75], [4.56789, 14 / 15, 0],
        [{ prompt: 'user: Compute 23 + 58', reply: 'The answer is 81.' }, { prompt: 'user: Hello / assistant: Hi. / user: Who?', reply: 'I am "tinyseek".\nBye' }]),
    },
  };
}

const FULL_MD = [
  "# DeepSeek-R1's four-stage pipeline on tinyseek-test",
  '',
  // 12.4 + 600.6 + 30 + 45 + 120 + 200 + 100 + 50 + 60 + 20 + 12 + 80 + 8 = 1338 s = 22.3 min; 186 s = 3.1 min
  'Command: `npx tinyseek r1 --preset test` (run folder `runs/r1-test`; every stage is skipped on a rerun once complete). Wall time of all stages: **22.3 min** on this 2-core machine (shared with other jobs); this invocation, which found some stages complete, took 3.1 min.',
  '',
  '## Stages',
  '',
  '| stage | wall time | what it produced |',
  '|---|---|---|',
  '| base | 12 s | base model `runs/r1-test/base/final` |',
  '| r1zero | 601 s | R1-Zero GRPO, 40 steps |',
  '| r1zero | 30 s (earlier run) | existing R1-Zero model `models/r1zero` |',
  '| stage1-data | 45 s | 64 R1-Zero samples → 40 verified correct → 30 kept after filters {"incorrect":24,"overlong":10}; + 20 written worked solutions = 50 rows |',
  '| stage1-sft | 120 s | SFT 100 steps, CE 2.346 → 0.500 |',
  '| stage2-rl | 200 s | GRPO 10 steps |',
  '| stage2-rl-no-readability | 100 s | GRPO 5 steps |',
  '| stage3-data | 50 s | 32 stage-2 samples → 20 kept {"unreadable":12}; mixture 60 rows by source {"stage2":20,"written":40} |',
  '| stage3-sft | 60 s | SFT 0 steps, CE – → – |',
  '| rm | 20 s | Bradley–Terry RM on 200 pairs: train pair accuracy 95.0%, **held-out pair accuracy 80.0%** (48 pairs on held-out prompts; by kind garbled 100.0, wrong 50.0, empty –); loss 0.693 → 0.200 |',
  '| stage3-eval | 12 s | evaluation of the stage-3 model (needs the RM) |',
  '| stage4-rl | 80 s | GRPO 3 steps |',
  '| distill | 8 s |  |',
  '',
  'GRPO rewards during each RL stage:',
  '',
  // 10 steps: q = 2; accuracy's NaNs ignored; format (all NaN) and preference (absent) left out
  '- stage2-rl (10 steps; mean of the first 2 steps → the last 2): reward 0.150 → 0.850; accuracy 0.500 → 1.000; readability 1.000 → 0.500; mean_length 42.000 → 30.500',
  // 3 steps: q = max(1, 0) = 1; accuracy (all NaN) left out
  '- stage4-rl (3 steps; mean of the first 1 steps → the last 1): reward 0.200 → 0.900; preference 1.500 → -0.250',
  '',
  '## Held-out evaluation per stage model',
  '',
  'Test-split problems (30 per family) in the training wording: pass@1 and cons@k from k samples at T = 0.6, top-p 0.95; "strict" = R1 format (reasoning, `</think>`, "The answer is X.") and the verifier; "lenient" = the last number anywhere. Held-out phrasings use templates never used in training (src/rl/r1/phrasings-heldout.ts); second turn = a test problem asked after another problem and its answer; general = held-out general prompts, scored by the stage-4 reward model on the final answer only.',
  '',
  '| model | add pass@1 strict / lenient | sort pass@1 strict / lenient | cons@k strict / lenient (mean) | greedy | well-formed | readability (mean / fully readable) | thinking tokens | held-out phrasings strict / lenient | second turn strict / lenient | general: RM score / clean reply / empty |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  '| stage1-sft | 12.5 / 25.0 | 50.0 / 60.0 | 40.0 / 50.0 | 33.3 | 90.0 | 0.90 / 75.0% | 41.2 | 37.5 / 75.0 (16) | 50.0 / 75.0 (4) | – / 73.3 / 20.0 |',
  '| stage2-rl | 20.0 / 30.0 | 40.0 / 50.0 | 35.0 / 45.0 | 25.0 | 95.0 | 0.97 / 80.0% | 50.0 | 50.0 / 62.5 (16) | 25.0 / 100.0 (4) | – / 60.0 / 0.0 |',
  '| stage2-rl-no-readability | 25.0 / 35.0 | 45.0 / 55.0 | – / – | 30.0 | 70.0 | 0.55 / 10.0% | – | – / 50.0 (16) | 0.0 / 0.0 (4) | – / 20.0 / 40.0 |',
  '| stage4-rl | 50.0 / 55.0 | 70.0 / 80.0 | 65.0 / 70.0 | – | 100.0 | 1.00 / 100.0% | 38.5 | 50.0 / 80.0 (16) | 75.0 / 75.0 (4) | 4.57 / 93.3 / 0.0 |',
  '',
  'What the readability reward costs (stage 2 with it vs the same RL without it): pass@1 strict 30.0 vs 35.0, lenient 40.0 vs 45.0, greedy 25.0 vs 30.0; readability 0.97 vs 0.55 (fully readable 80.0% vs 10.0%); well-formed 95.0% vs 70.0%.',
  '',
  // N = 30 (the first eval's first family): 100/30 = 3.3 points; 200·√(0.25/30) = 18.26 → ±18
  'Percentages. The RM score is only measured once the reward model exists (stage 3 on); "–" before. Noise: with 30 test problems per family one problem moves a family\'s cons@k and greedy score by 3.3 points, and a 95% interval on a pass@1 near p is about ±2·√(p(1−p)/30) (±18 points at p = 0.5); the phrasing and second-turn rows are greedy over the prompt counts in parentheses. The RL curves\' accuracy is a mean over all rollouts, including general prompts (stage 4), which score 0 on it.',
  '',
  "## Greedy replies of the final model to the issue's prompts",
  '',
  '- `user: Compute 23 + 58` → `"The answer is 81."`',
  '- `user: Hello / assistant: Hi. / user: Who?` → `"I am \\"tinyseek\\".\\nBye"`',
  '',
];

test('r1ReportMarkdown: every stage kind, the curves, the per-model table, the readability cost, the noise sentence and the examples, line by line', () => {
  const got = r1ReportMarkdown(fullReport()).split('\n');
  for (let i = 0; i < Math.max(got.length, FULL_MD.length); i++) assert.equal(got[i], FULL_MD[i], `line ${i + 1}`);
  assert.equal(r1ReportMarkdown(fullReport()), FULL_MD.join('\n'));
});

test('r1ReportMarkdown: without skipped stages no "this invocation" clause; one eval, no families, no curves, no examples', () => {
  const rep: R1Report = {
    preset: 'nano', name: 'tinyseek-nano', out: 'runs/r1-nano', recipe: null, total_seconds: 5000,
    stages: [
      stage('base', 90, { model: 'm' }),
      stage('stage2-rl', 20, { steps: 2, curve: { accuracy: [1, 1] } }), // no reward curve: no line
      stage('rm', 10, { train_pairs: 10, heldout_pairs: 4, heldout_accuracy: NaN }),
    ],
    evals: {
      'stage2-rl': ev([], { pass1: 0.3, lenient_pass1: 0.4, cons: 0.35, lenient_cons: 0.45, greedy: 0.25, well_formed: 0.95, readability: 0.97, readable_rate: 0.8, mean_thinking_tokens: 50 },
        [0.5, 0.625], [0.25, 1], [NaN, 0.6, 0]),
    },
  };
  assert.equal(r1ReportMarkdown(rep), [
    "# DeepSeek-R1's four-stage pipeline on tinyseek-nano",
    '',
    'Command: `npx tinyseek r1 --preset nano` (run folder `runs/r1-nano`; every stage is skipped on a rerun once complete). Wall time of all stages: **2.0 min** on this 2-core machine (shared with other jobs).',
    '',
    '## Stages',
    '',
    '| stage | wall time | what it produced |',
    '|---|---|---|',
    '| base | 90 s | base model `m` |',
    '| stage2-rl | 20 s | GRPO 2 steps |',
    '| rm | 10 s | Bradley–Terry RM on 10 pairs: train pair accuracy –%, **held-out pair accuracy –%** (4 pairs on held-out prompts; by kind ); loss – → – |',
    '',
    '## Held-out evaluation per stage model',
    '',
    FULL_MD.find((l) => l.startsWith('Test-split problems'))!.replace('(30 per family)', '(0 per family)'),
    '',
    '| model |  | cons@k strict / lenient (mean) | greedy | well-formed | readability (mean / fully readable) | thinking tokens | held-out phrasings strict / lenient | second turn strict / lenient | general: RM score / clean reply / empty |',
    '|---|---|---|---|---|---|---|---|---|',
    '| stage2-rl |  | 35.0 / 45.0 | 25.0 | 95.0 | 0.97 / 80.0% | 50.0 | 50.0 / 62.5 (16) | 25.0 / 100.0 (4) | – / 60.0 / 0.0 |',
    '',
    'Percentages. The RM score is only measured once the reward model exists (stage 3 on); "–" before. Noise: with 0 test problems per family one problem moves a family\'s cons@k and greedy score by – points, and a 95% interval on a pass@1 near p is about ±2·√(p(1−p)/0) (±– points at p = 0.5); the phrasing and second-turn rows are greedy over the prompt counts in parentheses. The RL curves\' accuracy is a mean over all rollouts, including general prompts (stage 4), which score 0 on it.',
    '',
    "## Greedy replies of the final model to the issue's prompts",
    '',
    '',
  ].join('\n'));
});

test('r1ReportMarkdown: the readability-cost sentence needs both stage2-rl and its ablation; other noise numbers; no evals, no stages', () => {
  const base = fullReport();
  const only = (names: string[]): R1Report => ({ ...base, evals: Object.fromEntries(names.map((n) => [n, base.evals[n]!])) });
  assert.doesNotMatch(r1ReportMarkdown(only(['stage1-sft', 'stage2-rl'])), /readability reward costs/);
  assert.doesNotMatch(r1ReportMarkdown(only(['stage1-sft', 'stage2-rl-no-readability'])), /readability reward costs/);
  assert.match(r1ReportMarkdown(only(['stage2-rl-no-readability', 'stage2-rl'])), /\nWhat the readability reward costs \(stage 2 with it vs the same RL without it\): pass@1 strict 30\.0 vs 35\.0,/);
  // N = 99 (the first eval's first family): 100/99 = 1.0 points, 200·√(0.25/99) = 10.05 → ±10
  const md = r1ReportMarkdown(only(['stage2-rl', 'stage1-sft']));
  assert.match(md, /Test-split problems \(99 per family\)/);
  assert.match(md, /with 99 test problems per family one problem moves a family's cons@k and greedy score by 1\.0 points, and a 95% interval on a pass@1 near p is about ±2·√\(p\(1−p\)\/99\) \(±10 points at p = 0\.5\)/);
  // the examples are the LAST eval's
  assert.match(md, /prompts\n\n- `first` → `"not shown"`\n$/);
  // N = 4: 25.0 points, ±50
  const four: R1Report = { ...base, evals: { x: { ...base.evals['stage1-sft']!, families: [fam('mod', 4, 0, 0)] } } };
  assert.match(r1ReportMarkdown(four), /by 25\.0 points, .*\/4\) \(±50 points at p = 0\.5\)/);
  const empty: R1Report = { preset: 'e', name: 'e', out: 'o', recipe: null, stages: [], evals: {}, total_seconds: 0 };
  assert.equal(r1ReportMarkdown(empty), [
    "# DeepSeek-R1's four-stage pipeline on tinyseek-e",
    '',
    'Command: `npx tinyseek r1 --preset e` (run folder `o`; every stage is skipped on a rerun once complete). Wall time of all stages: **0.0 min** on this 2-core machine (shared with other jobs).',
    '',
    '## Stages',
    '',
    '| stage | wall time | what it produced |',
    '|---|---|---|',
    '',
  ].join('\n'));
});

test('writeR1Report: r1-<preset>.json (non-finite numbers as null, 2-space indent, final newline) and .md, atomically, into a created folder; returns the .md path', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r1-report-'));
  try {
    const dir = path.join(tmp, 'a', 'b');
    const rep: R1Report = {
      preset: 'x', name: 'tinyseek-x', out: 'runs/x', recipe: { lr: 1e-4, limit: Infinity },
      stages: [stage('rm', 61, { train_pairs: 2, heldout_accuracy: NaN, heldout_pairs: 0, first_loss: -Infinity, last_loss: 0.25 })],
      evals: {}, total_seconds: 61,
    };
    const md = writeR1Report(rep, dir);
    assert.equal(md, path.join(dir, 'r1-x.md'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['r1-x.json', 'r1-x.md']);
    assert.equal(fs.readFileSync(md, 'utf8'), r1ReportMarkdown(rep));
    assert.match(fs.readFileSync(md, 'utf8'), /\*\*1\.0 min\*\*.*\n[^]*\| rm \| 61 s \| Bradley–Terry RM on 2 pairs: train pair accuracy –%, \*\*held-out pair accuracy –%\*\* \(0 pairs on held-out prompts; by kind \); loss – → 0\.250 \|\n$/);
    const json = fs.readFileSync(path.join(dir, 'r1-x.json'), 'utf8');
    assert.equal(json, [
      '{',
      '  "preset": "x",',
      '  "name": "tinyseek-x",',
      '  "out": "runs/x",',
      '  "recipe": {',
      '    "lr": 0.0001,',
      '    "limit": null',
      '  },',
      '  "stages": [',
      '    {',
      '      "stage": "rm",',
      '      "dir": "runs/r1-test/rm",',
      '      "seconds": 61,',
      '      "info": {',
      '        "train_pairs": 2,',
      '        "heldout_accuracy": null,',
      '        "heldout_pairs": 0,',
      '        "first_loss": null,',
      '        "last_loss": 0.25',
      '      }',
      '    }',
      '  ],',
      '  "evals": {},',
      '  "total_seconds": 61',
      '}',
      '',
    ].join('\n'));
    // re-rendered from its JSON (where NaN is null), the report reads as the original: "–", not "0.0"
    assert.equal(r1ReportMarkdown(JSON.parse(json) as R1Report), fs.readFileSync(md, 'utf8'));
    // a second write replaces both files and leaves no temporary file behind
    const again = writeR1Report({ ...rep, total_seconds: 1, stages: [] }, dir);
    assert.equal(again, md);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['r1-x.json', 'r1-x.md']);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'r1-x.json'), 'utf8')).total_seconds, 1);
    assert.match(fs.readFileSync(md, 'utf8'), /\*\*0\.0 min\*\*/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a recipe named otherwise than its model preset (r1 --preset small-prose, a mini model) writes r1-<recipe name>, so it never overwrites r1-<preset>, and its command names what was passed', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r1-report-'));
  try {
    const base: R1Report = { preset: 'mini', name: 'r1-small-prose', out: 'runs/r1-small-prose', recipe: null, stages: [], evals: {}, total_seconds: 0 };
    const rep: R1Report = { ...base, recipe_arg: 'small-prose' };
    const md = writeR1Report(rep, tmp);
    assert.equal(md, path.join(tmp, 'r1-small-prose.md'));
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['r1-small-prose.json', 'r1-small-prose.md']);
    const text = fs.readFileSync(md, 'utf8');
    assert.match(text, /^# DeepSeek-R1's four-stage pipeline: r1-small-prose \(a tinyseek-mini model\)\n\nCommand: `npx tinyseek r1 --preset small-prose` \(run folder `runs\/r1-small-prose`;/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, 'r1-small-prose.json'), 'utf8')).recipe_arg, 'small-prose');
    // a recipe file whose name lacks the r1- prefix gets it
    assert.equal(writeR1Report({ ...base, name: 'mine', recipe_arg: 'my/recipe.json' }, tmp), path.join(tmp, 'r1-mine.md'));
    assert.match(fs.readFileSync(path.join(tmp, 'r1-mine.md'), 'utf8'), /Command: `npx tinyseek r1 --preset my\/recipe\.json`/);
    // the preset's own recipe (no recipe_arg, or recipe_arg equal to the preset) keeps r1-<preset> and its title
    assert.equal(writeR1Report({ ...base, name: 'r1-mini' }, tmp), path.join(tmp, 'r1-mini.md'));
    assert.equal(writeR1Report({ ...base, name: 'r1-mini', recipe_arg: 'mini' }, tmp), path.join(tmp, 'r1-mini.md'));
    assert.match(fs.readFileSync(path.join(tmp, 'r1-mini.md'), 'utf8'), /^# DeepSeek-R1's four-stage pipeline on tinyseek-mini\n\nCommand: `npx tinyseek r1 --preset mini`/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
