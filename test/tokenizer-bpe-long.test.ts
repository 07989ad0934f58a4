// BPE on long words (a run of letters without a space is one pre-tokenized word, kilobytes long in
// a pasted document): the heap merge gives exactly the scan's ids, and its work grows as n log n —
// counted in pair look-ups, not timed — so one long word cannot stall the server for seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/tensor/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { BYTE_TO_UNICODE } from '../src/tokenizer/byte-level.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shipped = Tokenizer.fromDir(path.join(root, 'models', 'tinyseek-r1-mini'));
const trained = Tokenizer.train(['aaaa aaaaaaaa abababab', 'the answer is four; the answer is five', 'mississippi banana bandana'].flatMap((t) => Array(20).fill(t)), { vocabSize: 400 });

function symbols(tok: Tokenizer, word: string): number[] {
  return [...new TextEncoder().encode(word)].map((b) => tok.idOf(BYTE_TO_UNICODE[b]));
}

test('the heap merge gives exactly the scan\'s ids (random and repetitive words)', () => {
  const rng = new Rng(11);
  for (const tok of [shipped, trained]) {
    const words: string[] = ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'ab'.repeat(200), 'theansweris'.repeat(40), 'mississippi'.repeat(30), 'bandanabanana'.repeat(25)];
    for (let k = 0; k < 200; k++) {
      const alphabet = k % 2 ? 'abnst' : 'abcdefghijklmnopqrstuvwxyz';
      words.push(Array.from({ length: 1 + Math.floor(rng.uniform() * 300) }, () => alphabet[Math.floor(rng.uniform() * alphabet.length)]).join(''));
    }
    for (const w of words) {
      const syms = symbols(tok, w);
      assert.deepEqual(tok.bpe.merge(syms, true), tok.bpe.merge(syms, false), JSON.stringify(w.slice(0, 40)));
    }
  }
});

test('a 15 KB word is merged with O(n log n) pair look-ups (not n²) and gives the same ids', () => {
  const word = 'additionsubtraction'.repeat(800).slice(0, 15_000);
  const bpe = shipped.bpe as unknown as { ranks: Map<number, unknown> };
  const orig = bpe.ranks.get;
  let lookups = 0;
  bpe.ranks.get = function (this: Map<number, unknown>, k: number) {
    lookups++;
    return orig.call(this, k);
  };
  let ids: number[];
  try {
    ids = shipped.encode(word);
  } finally {
    bpe.ranks.get = orig;
  }
  assert.ok(lookups < 20 * word.length, `${lookups} pair look-ups for ${word.length} symbols`);
  assert.deepEqual(ids, shipped.bpe.merge(symbols(shipped, word), false));
});
