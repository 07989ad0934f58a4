// tinyseek as a library, imported the way an outside project imports it: a temporary project with
// node_modules/tinyseek linked to this repository (what `npm install <path>` does), which runs
// examples/chat-stream.mjs (stream a chat completion from the shipped model, reasoning and answer
// printed separately) and type-checks a TypeScript consumer against the published declarations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let project = '';

before(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-consumer-'));
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(repo, path.join(project, 'node_modules', 'tinyseek'), 'dir');
  fs.copyFileSync(path.join(repo, 'examples', 'chat-stream.mjs'), path.join(project, 'chat-stream.mjs'));
});

after(() => {
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

function node(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('examples/chat-stream.mjs runs from another project: streams reasoning, then the answer, from models/tinyseek-r1-mini', () => {
  const r = node(['chat-stream.mjs']);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.startsWith('reasoning: '), r.out.slice(0, 80));
  const last = JSON.parse(r.out.trimEnd().split('\n').at(-1)!) as { reasoning: string; answer: string; tokens: number; finish_reason: string };
  assert.ok(last.reasoning.length > 0, 'the shipped model reasons first');
  assert.ok(!last.reasoning.includes('<think>') && !last.reasoning.includes('</think>'));
  assert.ok(['stop', 'length'].includes(last.finish_reason));
  if (last.answer) assert.ok(r.out.includes(`\nanswer: ${last.answer}`), 'the answer is printed after the reasoning');
});

test("import { loadModelDir, Generator, Tokenizer, DeepseekV3 } from 'tinyseek' works; deep imports are not exported; a loaded model is in eval mode", () => {
  const script = `
    import { loadModelDir, Generator, Tokenizer, DeepseekV3, getPreset } from 'tinyseek';
    const lm = loadModelDir(process.argv[2]);
    const fresh = new DeepseekV3(getPreset('nano'), 0);
    let deep = 'exported';
    try { await import('tinyseek/dist/src/infer/load.js'); } catch (e) { deep = e.code; }
    console.log(JSON.stringify({
      kinds: [typeof loadModelDir, typeof Generator, typeof Tokenizer, typeof DeepseekV3],
      training: lm.model.training, isModel: lm.model instanceof DeepseekV3, isTokenizer: lm.tokenizer instanceof Tokenizer,
      freshTraining: fresh.training, deep,
    }));`;
  fs.writeFileSync(path.join(project, 'check.mjs'), script);
  const r = node(['check.mjs', path.join(repo, 'models', 'tinyseek-r1-mini')]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  assert.deepEqual(j.kinds, ['function', 'function', 'function', 'function']);
  assert.equal(j.training, false, 'loadModelDir returns the model in eval mode');
  assert.equal(j.isModel, true);
  assert.equal(j.isTokenizer, true);
  assert.equal(j.freshTraining, true, 'a new model starts in training mode, as in PyTorch');
  assert.equal(j.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});

test('a TypeScript project type-checks against tinyseek\'s declarations (exports "types")', () => {
  const ts = `
    import { loadModelDir, createGenerator, chatPrompt, Tokenizer, DeepseekV3, ReasoningSplitter } from 'tinyseek';
    import { isDenseConfig } from 'tinyseek';
    import type { LoadedModel, ChatMessage, GenerateResult, AnyModelConfig } from 'tinyseek';
    export async function ask(dir: string, q: string): Promise<{ reasoning: string; answer: string }> {
      const lm: LoadedModel = loadModelDir(dir);
      const messages: ChatMessage[] = [{ role: 'user', content: q }];
      const p = chatPrompt(lm.tokenizer, messages);
      const split = new ReasoningSplitter(lm.tokenizer, { startInThinking: p.opensThinking });
      const r: GenerateResult = await createGenerator(lm).generate({ prompt: p.ids, maxNewTokens: 8, stopTokenIds: lm.stopTokenIds, onToken: (e) => { split.push(e.token); } });
      split.finish();
      const cfg: AnyModelConfig = lm.model.cfg;
      const heads: number = isDenseConfig(cfg) ? cfg.numKeyValueHeads : cfg.nRoutedExperts; // narrowed per architecture
      const ok: boolean = lm.tokenizer instanceof Tokenizer && lm.model instanceof DeepseekV3 && r.tokens.length >= 0 && cfg.vocabSize > 0 && heads > 0;
      return ok ? { reasoning: split.reasoning, answer: split.content } : { reasoning: '', answer: '' };
    }`;
  fs.writeFileSync(path.join(project, 'consumer.ts'), ts);
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const compilerOptions = { noEmit: true, strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: true, types: [] };
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  const r = node([tsc, '-p', 'tsconfig.json']);
  assert.equal(r.code, 0, r.out + r.err);
});
