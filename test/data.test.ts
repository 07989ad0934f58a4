// Corpus building: the default recipe's design (worked solutions only at easy levels, bare answers
// at hard ones, some R1-Zero-format documents), determinism, NO test-split problem anywhere (checked
// against the documents' text, not just their labels), answers that verify, documents that fit the
// context, atomic output with a manifest, and the `tinyseek data` CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { buildCorpus, extractPlainAnswer, loadRecipe, renderPrompt, manifestPath, parseRecipe, readCorpus, writeCorpus, type CorpusDocument } from '../src/data/index.js';
import { allTasks, generateTaskSet, getTask, problemKey, splitOf } from '../src/tasks/index.js';
import { R1ZERO_PREAMBLE, Tokenizer } from '../src/tokenizer/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-data-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/index.js');

const recipe = loadRecipe('default');
const { documents, manifest } = buildCorpus(recipe, { tokens: 120_000 });

/** The prompts a document's TEXT contains, read back by format (independent of its labels). */
function promptsInText(d: CorpusDocument): string[] {
  if (d.format === 'text') return d.text.split('\n');
  if (d.format === 'r1zero') return [...d.text.matchAll(/ User: (.*?)\. Assistant:/g)].map((m) => m[1] as string);
  return [(/^Problem: (.*)$/m.exec(d.text) as RegExpExecArray)[1] as string];
}

test('the default recipe: worked solutions only at levels 1-2, bare answers only at 3-5, text at all levels', () => {
  const byKind = Object.fromEntries(recipe.components.map((c) => [c.kind, c]));
  for (const [name, mix] of Object.entries(byKind.worked?.families ?? {})) assert.deepEqual(mix.difficulty, [1, 2], name);
  for (const [name, mix] of Object.entries(byKind.bare?.families ?? {})) assert.deepEqual(mix.difficulty, [3, 5], name);
  for (const [name, mix] of Object.entries(byKind.text?.families ?? {})) assert.deepEqual(mix.difficulty, [1, 5], name);
  for (const kind of ['worked', 'bare', 'text']) assert.deepEqual(Object.keys(byKind[kind]?.families ?? {}).sort(), allTasks().map((t) => t.name).sort());
  for (const d of documents) {
    for (const p of d.problems) {
      if (d.component === 'worked') assert.ok(p.difficulty <= 2, `worked doc at level ${p.difficulty}`);
      if (d.component === 'bare') assert.ok(p.difficulty >= 3, `bare doc at level ${p.difficulty}`);
    }
  }
  assert.ok(manifest.byFormat.r1zero && manifest.byFormat.plain && manifest.byFormat.bare && manifest.byFormat.text);
  const share = (k: string) => (manifest.byComponent[k]?.tokens ?? 0) / manifest.tokens;
  assert.ok(Math.abs(share('worked') - 0.5) < 0.02 && Math.abs(share('bare') - 0.35) < 0.02 && Math.abs(share('text') - 0.15) < 0.02);
  assert.ok(manifest.tokens >= 120_000 && manifest.tokens < 121_000);
});

test('the corpus never contains a test-split problem (read from the text, and checked against real test sets)', () => {
  const inCorpus = new Set<string>();
  for (const d of documents) {
    const fromText = promptsInText(d);
    assert.deepEqual(fromText, d.problems.map((p) => p.prompt), 'labels match the text');
    d.problems.forEach((p, i) => {
      const key = problemKey({ family: p.family, prompt: fromText[i] as string });
      assert.equal(splitOf({ family: p.family, prompt: fromText[i] as string }), 'train');
      inCorpus.add(key);
    });
  }
  for (const t of allTasks()) {
    for (const d of t.difficulties) {
      for (const r of generateTaskSet({ family: t.name, difficulty: d, split: 'test', n: 50, seed: 0 })) {
        assert.ok(!inCorpus.has(problemKey(r)), `test problem in corpus: ${r.prompt}`);
      }
    }
  }
  assert.equal(manifest.checks.inTestSplit, 0);
  assert.equal(manifest.checks.answersWrong, 0);
});

test('R1-Zero documents use the verbatim template, and their completions pass the verifier', () => {
  const r1 = documents.filter((d) => d.format === 'r1zero');
  assert.ok(r1.length > 20);
  for (const d of r1) {
    assert.ok(d.text.startsWith(R1ZERO_PREAMBLE + ' User: '));
    const p = d.problems[0] as CorpusDocument['problems'][number];
    const problem = getTask(p.family).generate(p.seed, p.difficulty);
    const completion = d.text.slice(d.text.indexOf('. Assistant:') + '. Assistant:'.length);
    assert.deepEqual(getTask(p.family).verify(problem, completion).correct, true, d.text);
    assert.equal(getTask(p.family).verify(problem, completion).formatOk, true, d.text);
    assert.ok(!d.text.includes('<｜begin▁of▁sentence｜>') && !d.text.includes('<｜end▁of▁sentence｜>'), 'bos/eos are left to the packer');
  }
  const plain = documents.find((d) => d.format === 'plain') as CorpusDocument;
  assert.match(plain.text, /^Problem: .*\nSolution:\n[\s\S]*\nAnswer: .+$/);
  const bare = documents.find((d) => d.format === 'bare') as CorpusDocument;
  assert.match(bare.text, /^Problem: .*\nAnswer: .+$/);
});

test('evaluation prompts are prefixes of the corpus documents, and plain answers extract back', () => {
  for (const d of documents.slice(0, 300)) {
    if (d.format === 'text') continue;
    const p = d.problems[0] as CorpusDocument['problems'][number];
    const promptFormat = d.format === 'r1zero' ? 'r1zero' : d.format === 'bare' ? 'bare' : 'plain';
    const prompt = renderPrompt(promptFormat, p.prompt);
    assert.ok(d.text.startsWith(prompt), `${JSON.stringify(prompt)} does not start ${JSON.stringify(d.text.slice(0, 80))}`);
    if (d.format !== 'r1zero') {
      const answer = extractPlainAnswer(d.text.slice(prompt.length - (d.format === 'bare' ? 'Answer:'.length : 0)));
      const problem = getTask(p.family).generate(p.seed, p.difficulty);
      assert.ok(answer !== null && getTask(p.family).check(problem, answer), `${d.text}`);
    }
  }
  assert.equal(extractPlainAnswer('step\nAnswer: 42\nProblem: next'), '42');
  assert.equal(extractPlainAnswer('no answer here'), null);
});

test('building is deterministic in (recipe, seed, tokens); another seed gives another corpus', () => {
  const again = buildCorpus(recipe, { tokens: 120_000 });
  assert.deepEqual(again.documents, documents);
  const other = buildCorpus(recipe, { tokens: 120_000, seed: 1 });
  assert.notDeepEqual(other.documents.slice(0, 20).map((d) => d.text), documents.slice(0, 20).map((d) => d.text));
});

test('with a ~1K BPE vocab every document fits a 512-token context; hardest worked solutions stay under 300 tokens', () => {
  const tok = Tokenizer.train(documents.map((d) => d.text), { vocabSize: 1024 });
  let max = 0;
  for (const d of documents) max = Math.max(max, tok.encode(d.text, { allowSpecial: true }).length);
  assert.ok(max <= 512, `longest document ${max} tokens`);
  for (const t of allTasks()) {
    const hardest = t.difficulties[t.difficulties.length - 1] as number;
    for (let s = 0; s < 100; s++) {
      const p = t.generate(s, hardest);
      const w = t.work(p);
      const n = tok.encode(`<think>\n${w.trace}\n</think> <answer>${w.answer}</answer>`, { allowSpecial: true }).length;
      assert.ok(n < 300, `${t.name} d${hardest}: worked solution of ${n} tokens`);
    }
  }
  // counting with the tokenizer gives exact token totals
  const exact = buildCorpus(recipe, { tokens: 20_000, tokenizer: tok });
  assert.equal(exact.manifest.tokenUnit, 'tokens');
  assert.equal(exact.manifest.tokens, exact.documents.reduce((s, d) => s + tok.encode(d.text, { allowSpecial: true }).length, 0));
});

test('writeCorpus writes the JSONL and a manifest atomically; the manifest describes the file', () => {
  const out = path.join(root, 'c', 'corpus.jsonl');
  const m = writeCorpus(out, recipe, { tokens: 30_000, seed: 3 });
  assert.deepEqual(fs.readdirSync(path.dirname(out)).sort(), ['corpus.jsonl', 'corpus.manifest.json']);
  const bytes = fs.readFileSync(out);
  assert.equal(m.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(m.bytes, bytes.byteLength);
  const onDisk = JSON.parse(fs.readFileSync(manifestPath(out), 'utf8'));
  assert.deepEqual(onDisk, JSON.parse(JSON.stringify(m)));
  assert.equal(onDisk.recipe.name, 'default');
  assert.equal(onDisk.seed, 3);
  assert.equal(readCorpus(out).length, m.documents);
});

test('bad recipes are rejected with what was expected and what was found', () => {
  const base = { name: 'x', tokens: 100, components: [{ kind: 'bare', weight: 1, families: { add: { difficulty: [1, 2] } } }] };
  assert.doesNotThrow(() => parseRecipe(base));
  const variant = (f: (r: any) => void) => {
    const r = structuredClone(base);
    f(r);
    return () => parseRecipe(r, 'r.json');
  };
  assert.throws(variant((r) => (r.components[0].families = { division: { difficulty: [1, 2] } })), /unknown family "division"; expected one of add, sub/);
  assert.throws(variant((r) => (r.components[0].families.add.difficulty = [2, 9])), /expected a difficulty range \[lo, hi\] within 1..5; found \[2, 9\]/);
  assert.throws(variant((r) => (r.components[0].families.add.difficulty = [3, 1])), /found \[3, 1\]/);
  assert.throws(variant((r) => (r.components[0].kind = 'poetry')), /components.0.kind/);
  assert.throws(variant((r) => (r.components[0].formats = { plain: 1 })), /"formats" applies to worked components only/);
  assert.throws(variant((r) => (r.components = [])), /components/);
  assert.throws(variant((r) => (r.tokens = -1)), /tokens/);
  assert.throws(variant((r) => (r.extra = 1)), /Unrecognized key/);
  assert.throws(variant((r) => Object.assign(r.components[0], { kind: 'worked', formats: { plain: 0, r1zero: 0 } })), /expected a positive share/);
  assert.throws(() => loadRecipe('no-such-recipe'), /expected a built-in name \(default, prose, worked-all\) or a path to a \.json file/);
});

test('`tinyseek data build|tasks|tokenizer` write their outputs; bad input exits 2 with one line', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'data', ...args], { cwd: root, encoding: 'utf8' });
  const b = run('build', '--recipe', 'default', '--tokens', '20000', '--seed', '5', '--out', 'out/c.jsonl');
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /wrote out\/c.jsonl: \d+ documents, 20\.\dK pre-tokens/);
  assert.match(b.stdout, /0 in the test split/);
  assert.doesNotMatch(b.stdout, /prose/);
  assert.ok(fs.existsSync(path.join(root, 'out', 'c.manifest.json')));
  const p = run('build', '--recipe', 'prose', '--tokens', '20000', '--out', 'out/p.jsonl');
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /prose +\d+ docs +4\.0K pre-tokens \(20\.0%\)/);
  assert.match(p.stdout, /\d+ prose paragraphs left out \(they contain a held-out chat prompt\)/);
  const k = run('tokenizer', '--corpus', 'out/c.jsonl', '--out', 'out/tok', '--vocab-size', '700');
  assert.equal(k.status, 0, k.stderr);
  const tok = Tokenizer.fromDir(path.join(root, 'out', 'tok'));
  assert.ok(tok.vocabSize <= 700);
  const t = run('tasks', '--family', 'mod', '--difficulty', '2', '--split', 'test', '--n', '30', '--out', 'out/mod.jsonl');
  assert.equal(t.status, 0, t.stderr);
  assert.equal(fs.readFileSync(path.join(root, 'out', 'mod.jsonl'), 'utf8').trim().split('\n').length, 30);
  for (const [args, msg] of [
    [['build', '--recipe', 'nope'], /recipe "nope": expected a built-in name/],
    [['build', '--recipe', 'default', '--tokens', 'lots'], /--tokens: expected an integer ≥ 1; found "lots"/],
    [['tasks', '--family', 'add', '--difficulty', '1', '--split', 'dev'], /--split: expected train or test; found "dev"/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  }
});
