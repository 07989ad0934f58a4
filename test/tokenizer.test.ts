// Byte-level BPE: the byte alphabet, the Digits + ByteLevel pre-tokenizer, training (determinism,
// special tokens never merged, incremental counts agree with a naive trainer), round trips
// decode(encode(s)) = s as a property over arbitrary Unicode, and save/load of tokenizer.json.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import {
  BYTE_TO_UNICODE,
  DEFAULT_SPECIAL_TOKENS,
  SPECIAL,
  SpecialTokenMatcher,
  Tokenizer,
  TokenizerError,
  fromTokenizerJSON,
  preTokenize,
  toByteLevel,
  trainBPE,
} from '../src/tokenizer/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tok-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const CORPUS = [
  'Problem: Compute 123 + 456\nSolution:\ncolumn 1: 3 + 6 = 9\nAnswer: 579',
  'A conversation between User and Assistant. User: Sort in ascending order: 5, 3, 9. Assistant: <think>\nsmallest 3\n</think> <answer>3, 5, 9</answer>',
  "The quick brown fox's tail jumps over the lazy dog's back; it isn't tired.",
  '日本語のテキストと中文文本 😀🚀 emoji ｜ fullwidth bars <｜User｜>hi<｜Assistant｜>',
  '   indented\n\n\ttabs and  double  spaces\r\nwindows line',
];
const texts: string[] = [];
for (let i = 0; i < 300; i++) texts.push(CORPUS[i % CORPUS.length] as string, `Compute ${i * 7919} - ${i * 31} = ${i * 7919 - i * 31}`);
const tok = Tokenizer.train(texts, { vocabSize: 600 });

test('byte-level alphabet is a bijection of 256 printable characters (GPT-2 table)', () => {
  assert.equal(new Set(BYTE_TO_UNICODE).size, 256);
  assert.equal(BYTE_TO_UNICODE[0x20], 'Ġ');
  assert.equal(BYTE_TO_UNICODE[0x0a], 'Ċ');
  assert.equal(BYTE_TO_UNICODE[0x41], 'A');
  assert.equal(toByteLevel('a b\n'), 'aĠbĊ');
});

test('pre-tokenizer splits every digit and applies the GPT-2 regex without a prefix space', () => {
  assert.deepEqual(preTokenize('Compute 12345 + 6'), ['Compute', ' ', '1', '2', '3', '4', '5', ' +', ' ', '6']);
  assert.deepEqual(preTokenize("it's x1y"), ['it', "'s", ' x', '1', 'y']);
  assert.deepEqual(preTokenize('a  b\n\nc'), ['a', ' ', ' b', '\n', '\n', 'c'], 'GPT-2: \\s+(?!\\S) leaves the last space for the next word');
  assert.deepEqual(preTokenize('a\n\n'), ['a', '\n\n']);
  assert.deepEqual(preTokenize(''), []);
  assert.deepEqual(preTokenize('٣٤'), ['٣٤'], 'non-ASCII digits are not split by Digits (as in @huggingface/tokenizers)');
});

test('special tokens take ids 0..8 in R1 order; bytes follow; vocab respects vocabSize', () => {
  assert.equal(tok.bosId, 0);
  assert.equal(tok.eosId, 1);
  assert.equal(tok.tokenOf(0), '<｜begin▁of▁sentence｜>');
  assert.equal(tok.tokenOf(1), '<｜end▁of▁sentence｜>');
  assert.deepEqual([...tok.specialTokens], [...DEFAULT_SPECIAL_TOKENS]);
  for (const s of DEFAULT_SPECIAL_TOKENS) assert.ok(tok.isSpecial(tok.idOf(s)));
  assert.equal(tok.idOf(SPECIAL.pad), tok.padId);
  assert.equal(tok.idOf('<think>'), 5);
  assert.equal(tok.idOf(BYTE_TO_UNICODE[0] as string), 9);
  assert.ok(tok.vocabSize <= 600 && tok.vocabSize > 300, `vocab ${tok.vocabSize}`);
});

test('digits are always single tokens, even after training on numbers', () => {
  const ids = tok.encode('Compute 1234567890');
  const pieces = ids.map((i) => tok.decode([i]));
  assert.deepEqual(pieces.slice(-10), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0']);
  for (const t of tok.bpe.idToToken) if (/\d/.test(t)) assert.equal(t.length, 1, `token ${JSON.stringify(t)} merges a digit`);
});

test('special tokens are matched only when allowed, and never produced by merges', () => {
  const text = '<｜User｜>hi<｜Assistant｜><think>\nx</think> <answer>1</answer>';
  const withSpecial = tok.encode(text, { allowSpecial: true });
  assert.deepEqual(withSpecial.slice(0, 1), [tok.idOf(SPECIAL.user)]);
  assert.ok(withSpecial.includes(tok.idOf('<think>')));
  const plain = tok.encode(text);
  assert.ok(plain.every((i) => !tok.isSpecial(i)), 'allowSpecial false encodes specials as ordinary bytes');
  assert.equal(tok.decode(plain), text);
  assert.equal(tok.decode(withSpecial), text);
  assert.equal(tok.decode(withSpecial, { skipSpecial: true }), 'hi\nx 1');
  for (const [a, b] of tok.data.merges) {
    for (const s of DEFAULT_SPECIAL_TOKENS) assert.notEqual(a + b, s);
  }
});

test('longest special wins at a position (as the HF splitter does)', () => {
  const t = Tokenizer.train(['ab'], { vocabSize: 300, specialTokens: ['<a>', '<a><b>', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜▁pad▁｜>'] });
  assert.deepEqual(t.encode('<a><b><a>', { allowSpecial: true }), [1, 0]);
});

test('training is deterministic and stops at vocabSize or when no pair reaches minFrequency', () => {
  const a = trainBPE(texts, { vocabSize: 450 });
  const b = trainBPE(texts, { vocabSize: 450 });
  assert.deepEqual(a.merges, b.merges);
  assert.equal(a.vocab.size, 450);
  const rare = trainBPE(['abcdef'], { vocabSize: 1000, minFrequency: 2 });
  assert.equal(rare.merges.length, 0);
  const once = trainBPE(['abcdef'], { vocabSize: 1000, minFrequency: 1 });
  assert.equal(once.merges.length, 5);
});

/** Reference trainer: recounts every pair after every merge (slow, obviously right). */
function naiveTrain(corpus: string[], vocabSize: number): Array<[string, string]> {
  const counts = new Map<string, number>();
  const matcher = new SpecialTokenMatcher(DEFAULT_SPECIAL_TOKENS);
  for (const t of corpus) {
    for (const piece of matcher.split(t)) {
      if (!piece.special) for (const w of preTokenize(piece.text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  const ids = new Map<string, number>(); // token → id, in creation order like trainBPE (specials first)
  DEFAULT_SPECIAL_TOKENS.forEach((s, i) => ids.set(s, i));
  BYTE_TO_UNICODE.forEach((c, b) => ids.set(c, DEFAULT_SPECIAL_TOKENS.length + b));
  let words = [...counts].map(([w, c]) => ({ syms: [...toByteLevel(w)], c }));
  const merges: Array<[string, string]> = [];
  while (ids.size < vocabSize) {
    const pc = new Map<string, { a: string; b: string; n: number }>();
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]} ${syms[i + 1]}`;
        const e = pc.get(k) ?? { a: syms[i] as string, b: syms[i + 1] as string, n: 0 };
        e.n += c;
        pc.set(k, e);
      }
    }
    let best: { a: string; b: string; n: number } | null = null;
    for (const e of pc.values()) {
      const better =
        best === null ||
        e.n > best.n ||
        (e.n === best.n && ((ids.get(e.a) as number) < (ids.get(best.a) as number) || (e.a === best.a && (ids.get(e.b) as number) < (ids.get(best.b) as number))));
      if (better) best = e;
    }
    if (!best || best.n < 2) break;
    merges.push([best.a, best.b]);
    if (!ids.has(best.a + best.b)) ids.set(best.a + best.b, ids.size);
    const { a, b } = best;
    words = words.map(({ syms, c }) => {
      const out: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (syms[i] === a && syms[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(syms[i] as string);
      }
      return { syms: out, c };
    });
  }
  return merges;
}

test('incremental pair counting gives exactly the merges of a naive recount-every-merge trainer', () => {
  const small = [...texts.slice(0, 40), 'aaaa aaa aa a', 'abababab abab', 'mississippi missus'];
  assert.deepEqual(trainBPE(small, { vocabSize: 420 }).merges, naiveTrain(small, 420));
});

test('bad training options are rejected with what was expected', () => {
  assert.throws(() => trainBPE(['x'], { vocabSize: 100 }), /vocabSize must be an integer ≥ 265/);
  assert.throws(() => trainBPE(['x'], { vocabSize: 300, specialTokens: ['<a>', '<a>'] }), /distinct/);
});

const unicodeText = fc.string({ unit: 'binary', maxLength: 60 });
const mixedText = fc
  .array(
    fc.oneof(
      fc.constantFrom(...DEFAULT_SPECIAL_TOKENS, '｜', '▁', '\n', '\n\n', ' ', '  ', '\r\n', '\t', '😀', '👩‍👩‍👧', '日本語', '中文', '12', '٣', "'s", 'ß'),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

test('decode(encode(s)) === s for arbitrary Unicode strings (property)', () => {
  fc.assert(
    fc.property(unicodeText, (s) => tok.decode(tok.encode(s)) === s && tok.decode(tok.encode(s, { allowSpecial: true })) === s),
    { numRuns: 1500 },
  );
  fc.assert(
    fc.property(mixedText, (s) => tok.decode(tok.encode(s)) === s && tok.decode(tok.encode(s, { allowSpecial: true })) === s),
    { numRuns: 1500 },
  );
  for (const s of ['', '\n', ' ', '\n\n\n', '｜', '<｜', '😀', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '\u0000\u0001', 'é vs é']) {
    assert.equal(tok.decode(tok.encode(s, { allowSpecial: true })), s);
  }
});

test('save writes tokenizer.json + tokenizer_config.json atomically; fromDir loads the same tokenizer', () => {
  const dir = path.join(root, 'saved');
  tok.save(dir);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['tokenizer.json', 'tokenizer_config.json'], 'no temporary files left');
  const back = Tokenizer.fromDir(dir);
  assert.equal(back.vocabSize, tok.vocabSize);
  assert.deepEqual(back.data.merges, tok.data.merges);
  fc.assert(fc.property(mixedText, (s) => JSON.stringify(back.encode(s, { allowSpecial: true })) === JSON.stringify(tok.encode(s, { allowSpecial: true }))), { numRuns: 300 });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  assert.equal(json.model.type, 'BPE');
  assert.equal(json.pre_tokenizer.type, 'Sequence');
  assert.deepEqual(json.pre_tokenizer.pretokenizers[0], { type: 'Digits', individual_digits: true });
  assert.equal(json.pre_tokenizer.pretokenizers[1].type, 'ByteLevel');
  assert.equal(json.pre_tokenizer.pretokenizers[1].add_prefix_space, false);
  assert.equal(json.decoder.type, 'ByteLevel');
  assert.equal(json.added_tokens.length, DEFAULT_SPECIAL_TOKENS.length);
  assert.ok(json.added_tokens.every((t: { special: boolean }) => t.special === true));
  const raw = fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8');
  const idsInFileOrder = [...raw.slice(raw.indexOf('"vocab"')).matchAll(/": (\d+)/g)].map((m) => Number(m[1])).slice(0, 300);
  assert.deepEqual(idsInFileOrder, Array.from({ length: 300 }, (_, i) => i), 'vocab written in id order');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  assert.equal(cfg.bos_token, SPECIAL.bos);
  assert.equal(cfg.eos_token, SPECIAL.eos);
  assert.equal(cfg.pad_token, SPECIAL.pad);
  assert.deepEqual(cfg.chat_template.map((t: { name: string }) => t.name), ['default', 'r1zero']);
});

test('a failed save leaves the previous files intact', () => {
  const dir = path.join(root, 'atomic');
  tok.save(dir);
  const before = fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8');
  const broken = new Tokenizer({ ...tok.data, specialTokens: [...tok.data.specialTokens, 'not-in-vocab'] }, tok.config);
  assert.throws(() => broken.save(dir), TokenizerError);
  assert.equal(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), before);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['tokenizer.json', 'tokenizer_config.json']);
});

test('malformed tokenizer.json files are rejected with what was expected and found', () => {
  const good = JSON.parse(fs.readFileSync(path.join(root, 'saved', 'tokenizer.json'), 'utf8'));
  const variant = (f: (j: typeof good) => void): string => {
    const j = structuredClone(good);
    f(j);
    return JSON.stringify(j);
  };
  assert.throws(() => fromTokenizerJSON('{not json'), /expected JSON/);
  assert.throws(() => fromTokenizerJSON(variant((j) => (j.model.type = 'WordPiece'))), /expected model.type "BPE"; found "WordPiece"/);
  assert.throws(() => fromTokenizerJSON(variant((j) => (j.pre_tokenizer = { type: 'Whitespace' }))), /pre_tokenizer/);
  assert.throws(() => fromTokenizerJSON(variant((j) => j.model.merges.push('a b c'))), /exactly one space/);
  assert.throws(() => fromTokenizerJSON(variant((j) => (j.post_processor = { type: 'BertProcessing' }))), /post_processor.*not supported/);
  assert.throws(() => fromTokenizerJSON(variant((j) => (j.added_tokens[0].id = 5))), /has id 5 but model.vocab gives it 0/);
  assert.throws(() => new Tokenizer(fromTokenizerJSON(variant((j) => j.model.merges.push('Q Z')))), /missing "QZ"/);
  assert.throws(() => new Tokenizer(fromTokenizerJSON(variant((j) => delete j.model.vocab['Ġ']))), /all 256 byte-level tokens/);
  assert.throws(() => Tokenizer.fromDir(path.join(root, 'nope')), /expected .*tokenizer.json to exist/);
  assert.throws(() => tok.tokenOf(1e6), /out of range/);
});
