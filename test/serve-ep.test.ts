// `tinyseek serve DIR --ep N` under real Open MPI (`mpirun --oversubscribe`): a random nano MoE
// (8 routed experts, top-2, an MoE layer and an MoE MTP layer) served with its experts spread over 2
// and 4 ranks answers, through the official `openai` client, greedy chat completions token for token
// as the one-process server does — streamed and not, two requests at once (one of them with n = 2,
// whose choices share a prefill and so a copied cache slot), with MTP speculative decoding on 4.
// Each rank reports holding only its own experts. Bad launches (--ep not dividing the experts,
// without mpirun, another -np, a dense model) end the job with one message from rank 0; Ctrl-C
// (SIGINT) on rank 0 stops every rank cleanly; a follower that dies takes the job down with its rank
// and pid named, with no hang.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { getAnyPreset, getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { createModel } from '../src/model/registry.js';
import { saveModel } from '../src/model/checkpoint.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { loadModelDir } from '../src/infer/load.js';
import { startServer } from '../src/serve/server.js';
import type { RunningServer } from '../src/serve/server.js';
import { mpiSkip, mpiEnv } from './helpers/mpi.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const cli = path.join(here, '..', 'src', 'cli', 'index.js');

const skip = mpiSkip;

const env = mpiEnv;
const mpirunArgs = (n: number, args: string[]) => ['--oversubscribe', '-np', String(n), process.execPath, cli, ...args];

let dir = '';
let moeDir = '';
let denseDir = '';
let ref: RunningServer;

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-serve-ep-'));
  const tok = Tokenizer.train(['What is 3 + 4?', 'Hello there, who are you?', 'The answer is 7.', 'Sort 3 1 2.'], { vocabSize: 512 });
  moeDir = path.join(dir, 'moe');
  saveModel(moeDir, new DeepseekV3(getPreset('nano'), 11));
  tok.save(moeDir);
  denseDir = path.join(dir, 'dense');
  saveModel(denseDir, createModel(getAnyPreset('student-nano'), 3));
  tok.save(denseDir);
  // The reference: the same directory served by one process.
  ref = await startServer({ model: loadModelDir(moeDir), port: 0, maxBatch: 8, id: 'nano' });
});

after(async () => {
  await ref?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A running `mpirun … serve --ep N` job. */
interface EpJob {
  proc: ChildProcess;
  url: string;
  /** Per rank: its experts [first, end), bytes of weights held, RSS (MiB) and pid. */
  ranks: { rank: number; first: number; end: number; bytes: number; rssMiB: number; pid: number }[];
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the EP server on a free port and waits for its URL and every rank's report. */
async function startEp(n: number, extra: string[] = []): Promise<EpJob> {
  const proc = spawn('mpirun', mpirunArgs(n, ['serve', moeDir, '--ep', String(n), '--port', '0', '--max-batch', '8', '--name', 'nano', ...extra]), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const end = Date.now() + 60_000;
  const rankRe = /tinyseek serve rank (\d+)\/\d+: routed experts \[(\d+), (\d+)\) of 8 in each MoE layer, (\d+) bytes of weights, RSS ([\d.]+) MiB, pid (\d+)/g;
  for (;;) {
    const m = /API\s+(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out);
    const ranks = [...out.matchAll(rankRe)].map((r) => ({ rank: +r[1], first: +r[2], end: +r[3], bytes: +r[4], rssMiB: +r[5], pid: +r[6] }));
    if (m && ranks.length === n) return { proc, url: m[1], ranks: ranks.sort((a, b) => a.rank - b.rank), out: () => out, exited };
    if (gone) assert.fail(`mpirun -np ${n} serve --ep ${n} exited before serving:\n${out}`);
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      assert.fail(`mpirun -np ${n} serve --ep ${n} did not start within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
const PROMPTS = ['What is 3 + 4?', 'Hello there, who are you?'];
const MAX = 24;

interface Answer { content: string; reasoning: string; finish: string | null; usage: string }

/** Two concurrent greedy requests (the second with n = 2), non-streamed. */
async function plain(url: string): Promise<Answer[][]> {
  const c = client(url);
  return Promise.all(PROMPTS.map(async (p, i) => {
    const r = await c.chat.completions.create({ model: 'nano', messages: [{ role: 'user', content: p }], temperature: 0, max_tokens: MAX, n: i + 1 });
    return r.choices.map((ch) => ({
      content: ch.message.content ?? '',
      reasoning: (ch.message as { reasoning_content?: string | null }).reasoning_content ?? '',
      finish: ch.finish_reason,
      usage: JSON.stringify(r.usage),
    }));
  }));
}

/** The same two requests streamed: every choice's concatenated deltas. */
async function streamed(url: string): Promise<Answer[][]> {
  const c = client(url);
  return Promise.all(PROMPTS.map(async (p, i) => {
    const s = await c.chat.completions.create({ model: 'nano', messages: [{ role: 'user', content: p }], temperature: 0, max_tokens: MAX, n: i + 1, stream: true, stream_options: { include_usage: true } });
    const got: Answer[] = Array.from({ length: i + 1 }, () => ({ content: '', reasoning: '', finish: null, usage: '' }));
    let usage = '';
    for await (const chunk of s) {
      if (chunk.usage) usage = JSON.stringify(chunk.usage);
      for (const ch of chunk.choices) {
        const d = ch.delta as { content?: string | null; reasoning_content?: string | null };
        got[ch.index].content += d.content ?? '';
        got[ch.index].reasoning += d.reasoning_content ?? '';
        if (ch.finish_reason) got[ch.index].finish = ch.finish_reason;
      }
    }
    for (const g of got) g.usage = usage;
    return got;
  }));
}

/** The ranks' expert ranges tile [0, 8) and every rank holds the same, smaller share of the weights. */
function checkRanks(job: EpJob, n: number): void {
  assert.deepEqual(job.ranks.map((r) => [r.first, r.end]), Array.from({ length: n }, (_, i) => [i * (8 / n), (i + 1) * (8 / n)]));
  assert.ok(job.ranks.every((r) => r.bytes === job.ranks[0].bytes), `every rank holds as many bytes: ${JSON.stringify(job.ranks)}`);
}

test('serve --ep 2: greedy chat completions equal the one-process server token for token (streamed and not, two requests at once); a dead follower ends the job naming it', { skip, timeout: 120_000 }, async () => {
  const want = await plain(ref.url);
  const wantStream = await streamed(ref.url);
  assert.deepEqual(wantStream.map((r) => r.map((a) => [a.content, a.reasoning, a.finish])), want.map((r) => r.map((a) => [a.content, a.reasoning, a.finish])), 'reference: streamed = non-streamed');
  assert.ok(want.flat().every((a) => a.content.length + a.reasoning.length > 0), 'the reference generates text');
  const job = await startEp(2);
  try {
    checkRanks(job, 2);
    const one = loadModelDir(moeDir).model.namedTensors().reduce((s, [, t]) => s + t.numel * 4, 0);
    const expertBytes = 2 * 8 * 3 * 64 * 32 * 4; // two MoE layers (main + MTP) × 8 experts × 3 [32, 64] matrices
    assert.equal(job.ranks[0].bytes, one - expertBytes / 2, 'a rank holds everything but the other rank\'s experts');
    assert.deepEqual(await plain(job.url), want, 'non-streamed');
    assert.deepEqual(await streamed(job.url), wantStream, 'streamed');
    assert.deepEqual(await plain(job.url), want, 'again, with the slots reused');

    // A follower that dies: mpirun ends the job, rank 0 names it.
    const follower = job.ranks[1];
    process.kill(follower.pid, 'SIGKILL');
    const res = await Promise.race([job.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    assert.ok(res, `the job ends within 30 s of a follower's death:\n${job.out()}`);
    assert.notEqual(res.code, 0);
    assert.match(job.out(), new RegExp(`tinyseek serve rank 0/2: stopped by mpirun because rank 1 \\(pid ${follower.pid}\\) died`));
  } finally {
    job.proc.kill('SIGKILL');
  }
});

test('serve --ep 4 --speculative (oversubscribed): the same answers (MTP drafts run expert-parallel too); SIGINT on rank 0 stops every rank cleanly', { skip, timeout: 120_000 }, async () => {
  const want = await plain(ref.url);
  // Speculative decoding's greedy output is the plain output (src/infer/generator.ts).
  const job = await startEp(4, ['--speculative']);
  try {
    checkRanks(job, 4);
    assert.deepEqual(await plain(job.url), want, 'non-streamed');
    process.kill(job.ranks[0].pid, 'SIGINT');
    const res = await Promise.race([job.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    assert.ok(res, `the job ends within 30 s of SIGINT:\n${job.out()}`);
    assert.equal(res.code, 0, job.out());
    for (const r of [1, 2, 3]) assert.match(job.out(), new RegExp(`tinyseek serve rank ${r}/4: stopped after \\d+ forward steps \\(rank 0 ended the server\\)`));
  } finally {
    job.proc.kill('SIGKILL');
  }
});

test('serve --ep 2: a follower killed in the middle of a streamed answer ends the job, rank 0 naming it (no hang)', { skip, timeout: 120_000 }, async () => {
  const job = await startEp(2);
  try {
    const s = await client(job.url).chat.completions.create({ model: 'nano', messages: [{ role: 'user', content: PROMPTS[0] }], temperature: 0, max_tokens: 200, stream: true });
    const follower = job.ranks[1];
    let chunks = 0, finished = false;
    try {
      for await (const chunk of s) {
        if (chunk.choices[0]?.finish_reason) finished = true;
        if (++chunks === 3) process.kill(follower.pid, 'SIGKILL');
      }
    } catch {
      // the connection closes with the job
    }
    assert.ok(chunks >= 3, 'the answer was streaming when the follower died');
    const res = await Promise.race([job.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    assert.ok(res, `the job ends within 30 s of a follower's death:\n${job.out()}`);
    assert.notEqual(res.code, 0);
    assert.equal(finished, false, 'the answer was cut off, not finished');
    assert.match(job.out(), new RegExp(`tinyseek serve rank 0/2: stopped by mpirun because rank 1 \\(pid ${follower.pid}\\) died`));
  } finally {
    job.proc.kill('SIGKILL');
  }
});

/** Runs the CLI under mpirun (or alone with n = 0) and expects a usage error printed once, with no stack trace. */
function expectError(n: number, args: string[], message: RegExp): void {
  const r = n === 0
    ? spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 60_000 })
    : spawnSync('mpirun', mpirunArgs(n, args), { env, encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(r.status, 0, `the job fails:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.signal, null, `no timeout:\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => message.test(l));
  assert.equal(lines.length, 1, `one message (from rank 0):\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(r.stdout, /Serving/);
}

test('bad launches end the job with one clear message from rank 0', { skip, timeout: 150_000 }, () => {
  expectError(0, ['serve', moeDir, '--ep', '2'], /--ep 2 needs 2 processes: start it as `mpirun -np 2 tinyseek serve \.\.\. --ep 2`/);
  expectError(3, ['serve', moeDir, '--ep', '3', '--port', '0'], /--ep 3 does not divide the model's 8 routed experts/);
  expectError(2, ['serve', moeDir, '--ep', '4', '--port', '0'], /--ep 4 does not match mpirun's 2 processes; give --ep 2, or start mpirun -np 4/);
  expectError(2, ['serve', moeDir, '--port', '0'], /mpirun started 2 processes, but serve without --ep runs in one; add --ep 2/);
  expectError(2, ['serve', denseDir, '--ep', '2', '--port', '0'], /--ep 2 spreads a model's routed experts over ranks, but .* holds a dense qwen2 model, which has none/);
});
