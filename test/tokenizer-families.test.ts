// Real Hugging Face tokenizer.json files of the DeepSeek-V3, Qwen3 and Llama-3 families load in
// tinyseek's Tokenizer and give the ids @huggingface/tokenizers gives, over a varied text set;
// decode round-trips and agrees with its decode. Also: the post-processor's BOS, Split behaviours,
// tokenizer_config tokens (Qwen's null BOS), and save writing the file back unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { Tokenizer } from '../src/tokenizer/index.js';
import { splitWithBehavior } from '../src/tokenizer/pipeline.js';
import { FAMILIES, TEXTS, familyDir, familyJSON } from './helpers/hf-tokenizers.js';

for (const fam of FAMILIES) {
  test(`${fam}: the real tokenizer.json gives @huggingface/tokenizers' ids on the varied text set, and decode round-trips`, () => {
    const { tokenizer, config } = familyJSON(fam);
    const hf = new HFTokenizer(tokenizer, config);
    const tok = Tokenizer.fromDir(familyDir(fam));
    assert.ok(tok.isForeign);
    for (const text of TEXTS) {
      const want = hf.encode(text, { add_special_tokens: false }).ids;
      const got = tok.encode(text, { allowSpecial: true });
      assert.deepEqual(got, want, `${fam}: ids of ${JSON.stringify(text).slice(0, 60)}`);
      // Qwen's normalizer is NFC: decoding gives the text in NFC.
      assert.equal(tok.decode(got), fam === 'qwen3' ? text.normalize('NFC') : text, `${fam}: decode round-trips ${JSON.stringify(text).slice(0, 60)}`);
      if (want.length > 0) {
        assert.equal(tok.decode(got), hf.decode(want, { clean_up_tokenization_spaces: false }), `${fam}: decode agrees`);
        assert.equal(tok.decode(got, { skipSpecial: true }), hf.decode(want, { skip_special_tokens: true, clean_up_tokenization_spaces: false }), `${fam}: decode skipping specials agrees`);
      }
    }
    // Without allowSpecial, special-token text is plain text (several ids, none of them special).
    const plain = tok.encode('<｜User｜><|im_start|><|begin_of_text|>');
    assert.ok(plain.every((id) => !tok.isSpecial(id)));
    assert.equal(tok.decode(plain), '<｜User｜><|im_start|><|begin_of_text|>');
  });
}

test('tokenizer_config: DeepSeek-V3 adds a BOS with addSpecialTokens (add_bos_token); Qwen3 has no BOS; Llama-3 pads with EOS', () => {
  const ds = Tokenizer.fromDir(familyDir('deepseek_v3'));
  assert.equal(ds.bosId, 0);
  assert.equal(ds.eosId, 1);
  assert.deepEqual(ds.encode('Hi', { addSpecialTokens: true }), [0, ...ds.encode('Hi')]);
  const qw = Tokenizer.fromDir(familyDir('qwen3'));
  assert.equal(qw.config.bos_token, null);
  assert.equal(qw.bosIdOrUndefined, undefined);
  assert.throws(() => qw.bosId, /no bos_token/);
  assert.equal(qw.tokenOf(qw.eosId), '<|im_end|>');
  assert.deepEqual(qw.encode('Hi', { addSpecialTokens: true }), qw.encode('Hi'));
  const ll = Tokenizer.fromDir(familyDir('llama3'));
  assert.equal(ll.config.pad_token, null);
  assert.equal(ll.padId, ll.eosId);
});

test('a TemplateProcessing post-processor (as in Meta\'s Llama-3 file) adds its BOS as @huggingface/tokenizers does', () => {
  const { tokenizer, config } = familyJSON('llama3');
  const single = [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }];
  tokenizer.post_processor = {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      { type: 'TemplateProcessing', single, pair: single, special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } } },
    ],
  };
  const hf = new HFTokenizer(tokenizer, config);
  const tok = Tokenizer.fromJSON(JSON.stringify(tokenizer), JSON.stringify(config));
  for (const text of ['Hello world', 'x <|eot_id|> y']) {
    assert.deepEqual(tok.encode(text, { allowSpecial: true, addSpecialTokens: true }), hf.encode(text, { add_special_tokens: true }).ids);
  }
  assert.equal(tok.encode('Hello', { addSpecialTokens: true })[0], 128000);
});

test('Split behaviours follow the Rust crate: Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous, invert', () => {
  const re = /-/gu;
  const t = 'the-final--countdown';
  assert.deepEqual(splitWithBehavior(t, re, 'Isolated'), ['the', '-', 'final', '-', '-', 'countdown']);
  assert.deepEqual(splitWithBehavior(t, re, 'Removed'), ['the', 'final', 'countdown']);
  assert.deepEqual(splitWithBehavior(t, re, 'MergedWithPrevious'), ['the-', 'final-', '-', 'countdown']);
  assert.deepEqual(splitWithBehavior(t, re, 'MergedWithNext'), ['the', '-final', '-', '-countdown']);
  assert.deepEqual(splitWithBehavior(t, re, 'Contiguous'), ['the', '-', 'final', '--', 'countdown']);
  assert.deepEqual(splitWithBehavior('Hello, world', /\w+/gu, 'Removed', true), ['Hello', 'world']);
});

test('an added token with lstrip/rstrip takes the whitespace around it (as @huggingface/tokenizers does)', () => {
  const { tokenizer, config } = familyJSON('qwen3');
  const added = tokenizer.added_tokens as Array<Record<string, unknown>>;
  const t = added.find((a) => a.content === '<tool_call>')!;
  t.lstrip = true;
  t.rstrip = true;
  const hf = new HFTokenizer(tokenizer, config);
  const tok = Tokenizer.fromJSON(JSON.stringify(tokenizer), JSON.stringify(config));
  for (const text of ['a  <tool_call>  b', 'x<tool_call>\n y', '<tool_call> z']) {
    assert.deepEqual(tok.encode(text, { allowSpecial: true }), hf.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text));
  }
});

test('save writes a foreign tokenizer.json back unchanged, and it loads again', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tok-'));
  try {
    const tok = Tokenizer.fromDir(familyDir('deepseek_v3'));
    tok.save(dir);
    assert.equal(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), fs.readFileSync(path.join(familyDir('deepseek_v3'), 'tokenizer.json'), 'utf8'));
    const again = Tokenizer.fromDir(dir);
    assert.deepEqual(again.encode('你好 world 123', { allowSpecial: true }), tok.encode('你好 world 123', { allowSpecial: true }));
    assert.equal(again.eosId, tok.eosId);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('GGUF export names each family\'s pre-tokenizer as llama.cpp does (deepseek-v3, qwen2, llama-bpe); tinyseek\'s own keeps its name', async () => {
  const { ggufPreTokenizer, GGUF_PRE_TOKENIZER } = await import('../src/model/gguf-export.js');
  assert.equal(ggufPreTokenizer(Tokenizer.fromDir(familyDir('deepseek_v3'))), 'deepseek-v3');
  assert.equal(ggufPreTokenizer(Tokenizer.fromDir(familyDir('qwen3'))), 'qwen2');
  assert.equal(ggufPreTokenizer(Tokenizer.fromDir(familyDir('llama3'))), 'llama-bpe');
  const own = Tokenizer.train(['hello world 123'], { vocabSize: 300 });
  assert.equal(ggufPreTokenizer(own), GGUF_PRE_TOKENIZER);
});

test('an added token with single_word: true is refused by name (not silently matched differently)', () => {
  const { tokenizer, config } = familyJSON('qwen3');
  (tokenizer.added_tokens as Array<Record<string, unknown>>)[20].single_word = true;
  assert.throws(() => Tokenizer.fromJSON(JSON.stringify(tokenizer), JSON.stringify(config)), /added token ".*" has single_word: true, which is not supported/);
});
