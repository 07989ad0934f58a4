// A small trained reasoning model for the serving tests: a `nano` DeepseekV3 plus a byte-level BPE
// tokenizer trained on a tiny corpus of R1-style chats ("<think>\n…\n</think>\n\nanswer"), given a
// few hundred AdamW steps so that it opens with reasoning, closes </think> and then answers.
// Built once per machine into the OS temp dir (keyed by a version string) and reused.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, Rng, tidy } from '../../src/tensor/index.js';
import { getPreset } from '../../src/model/presets.js';
import { DeepseekV3 } from '../../src/model/model.js';
import { asDeepseek } from '../../src/model/registry.js';
import { saveModel, isModelDir } from '../../src/model/checkpoint.js';
import { AdamW, clipGradNorm } from '../../src/nn/optim.js';
import { warmupCosine } from '../../src/nn/schedule.js';
import { Tokenizer, SPECIAL } from '../../src/tokenizer/index.js';
import { loadModelDir } from '../../src/infer/load.js';
import type { LoadedModel } from '../../src/infer/load.js';
import { Generator } from '../../src/infer/generator.js';

const FIXTURE_VERSION = 'v2';

/** One training chat: a question, its reasoning and its answer. */
export interface FixtureChat {
  question: string;
  reasoning: string;
  answer: string;
}

const GREETINGS: FixtureChat[] = [
  { question: 'Hello!', reasoning: 'The user greets me. I should greet them back.', answer: 'Hello! How can I help you today?' },
  { question: 'Hi there', reasoning: 'The user greets me. I should greet them back.', answer: 'Hi! How can I help you today?' },
  { question: 'Who are you?', reasoning: 'The user asks who I am. I am tinyseek, a small reasoning model.', answer: 'I am **tinyseek**, a small reasoning model.' },
];

/** The fixture's chats: additions with a worked line of reasoning, plus a few greetings. */
export function fixtureChats(n = 240, seed = 1): FixtureChat[] {
  const rng = new Rng(seed);
  const out: FixtureChat[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 8 === 7) {
      out.push(GREETINGS[(i >> 3) % GREETINGS.length]);
      continue;
    }
    const a = Math.floor(rng.uniform() * 20), b = Math.floor(rng.uniform() * 20);
    out.push({
      question: `What is ${a} + ${b}?`,
      reasoning: `I add ${a} and ${b}. ${a} + ${b} = ${a + b}.`,
      answer: `The answer is **${a + b}**.`,
    });
  }
  return out;
}

/** The text a chat trains on: the templated prompt (which opens "<think>\n") + completion + EOS. */
export function chatText(tok: Tokenizer, c: FixtureChat): { prompt: string; completion: string } {
  const prompt = tok.applyChatTemplate([{ role: 'user', content: c.question }], { addGenerationPrompt: true });
  return { prompt, completion: `${c.reasoning}\n${SPECIAL.thinkClose}\n\n${c.answer}${SPECIAL.eos}` };
}

/** Trains the fixture model and writes it (with its tokenizer) to `dir`. Returns the final loss. */
export function trainFixture(dir: string, opts: { steps?: number; seed?: number } = {}): number {
  const steps = opts.steps ?? 300;
  const chats = fixtureChats();
  const cfg = getPreset('nano');
  const corpus = chats.flatMap((c) => [c.question, c.reasoning, c.answer]);
  // The corpus runs out of merges below the model's 512 ids; the ids above are never trained on.
  const tok = Tokenizer.train(corpus, { vocabSize: cfg.vocabSize });
  const seqs = chats.map((c) => {
    const { prompt, completion } = chatText(tok, c);
    const p = tok.encode(prompt, { allowSpecial: true }), q = tok.encode(completion, { allowSpecial: true });
    return { ids: [...p, ...q], promptLen: p.length };
  });
  const T1 = Math.max(...seqs.map((s) => s.ids.length));
  const model = new DeepseekV3(cfg, opts.seed ?? 7);
  const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0.01 });
  const rng = new Rng(opts.seed ?? 7);
  const B = 8;
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    opt.lr = warmupCosine(step, { peak: 3e-3, min: 3e-4, warmup: 20, total: steps });
    const ids = new Int32Array(B * T1).fill(tok.padId);
    const w = new Float32Array(B * (T1 - 1));
    for (let b = 0; b < B; b++) {
      const s = seqs[Math.floor(rng.uniform() * seqs.length)];
      ids.set(s.ids, b * T1);
      // Train on the completion only (targets after the prompt), like SFT.
      for (let t = s.promptLen - 1; t < s.ids.length - 1; t++) w[b * (T1 - 1) + t] = 1;
    }
    last = tidy(() => {
      opt.zeroGrad();
      const r = model.loss(Tensor.ints(ids, [B, T1]), { weights: Tensor.from(w, [B, T1 - 1]) });
      r.loss.backward();
      clipGradNorm(model.parameters(), 1.0);
      opt.step();
      return r.ce;
    });
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  saveModel(tmp, model);
  tok.save(tmp);
  fs.writeFileSync(path.join(tmp, 'fixture.json'), JSON.stringify({ version: FIXTURE_VERSION, steps, loss: last }) + '\n');
  try {
    fs.renameSync(tmp, dir);
  } catch {
    // Another process built it first: keep theirs.
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return last;
}

/** Whether dir holds a usable fixture of this version (a stale or half-written one is rebuilt). */
function usable(dir: string): boolean {
  if (!isModelDir(dir) || !fs.existsSync(path.join(dir, 'tokenizer.json'))) return false;
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as { version?: string };
    if (meta.version !== FIXTURE_VERSION) return false;
    loadModelDir(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * The fixture model directory, built on first use (about 10–60 s) and cached in the OS temp dir.
 * It is trained in a child process with OpenBLAS's kernel pinned to its AVX2 one (Haswell) and one
 * thread, so that the same weights come out on every x86-64-v3 machine: left to choose, OpenBLAS
 * runs its AVX-512 kernels on an AVX-512 CPU, which sum in another order, and after 300 steps the
 * model trained there answered the chat's first example prompt without opening its reasoning (the
 * web test failed on such a CI machine and passed on an AVX2 one).
 */
export function serveFixtureDir(): string {
  const dir = process.env.TINYSEEK_SERVE_FIXTURE ?? path.join(os.tmpdir(), `tinyseek-serve-fixture-${FIXTURE_VERSION}`);
  if (!usable(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
    const main = fileURLToPath(new URL('./serve-fixture-main.js', import.meta.url));
    const env = { ...process.env, OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_NUM_THREADS: '1', TINYSEEK_NUM_THREADS: '1' };
    const r = spawnSync(process.execPath, [main, dir], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`training the serving fixture into ${dir} failed (exit ${r.status}):\n${r.stderr}`);
  }
  return dir;
}

/**
 * An untrained model with the fixture's config and tokenizer whose greedy reply to `prompt` runs to
 * `tokens` without a stop token (for tests that must interrupt a generation in flight).
 */
export async function longRunningModel(lm: LoadedModel, prompt: number[], tokens = 200): Promise<LoadedModel> {
  const stops = [lm.tokenizer.eosId, lm.tokenizer.idOf(SPECIAL.user)];
  // A longer context than nano's 256 so the reply takes a while even on a fast machine.
  const cfg = { ...asDeepseek(lm.model).cfg, maxPositionEmbeddings: Math.max(lm.model.cfg.maxPositionEmbeddings, prompt.length + tokens + 8) };
  for (let seed = 1; seed < 30; seed++) {
    const m = new DeepseekV3(cfg, seed);
    const r = await new Generator(m, { maxBatch: 1 }).generate({ prompt, maxNewTokens: tokens, sampling: { temperature: 0 }, stopTokenIds: stops });
    if (r.finishReason === 'length') return { ...lm, model: m, name: 'random' };
  }
  throw new Error('no random model ran to max_tokens');
}
