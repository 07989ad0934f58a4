// What the CLI tells a user when something is off: one exit status per kind of error (2 bad usage
// or input, 1 a failure while running), TINYSEEK_BACKEND checked, the trainer's terminal number
// named as in metrics.jsonl, --speculative's acceptance rate without --json, and the r1-zero
// report's title naming the base model actually used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveFixtureDir } from './helpers/serve-fixture.js';
import { Progress } from '../src/train/progress.js';
import { train } from '../src/train/trainer.js';
import { readMetrics } from '../src/train/metrics.js';
import { parseRunRecipe } from '../src/train/recipe.js';
import { reportMarkdown } from '../src/rl/r1zero-report.js';
import type { R1ZeroReport } from '../src/rl/r1zero-report.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/index.js');
const shippedModel = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/tinyseek-r1-mini');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-cli-msg-'));

/** Like run, without blocking the event loop (for tests that keep a server of their own). */
function runAsync(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill(), 120_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, out, err }); });
  });
}

function run(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('exit status: 2 for every kind of bad usage or input, commander\'s own errors included', () => {
  const cases: [string, string[]][] = [
    ['unknown option', ['--bogus']],
    ['unknown option of a command', ['cost', '--bogus']],
    ['unknown command', ['nope']],
    ['missing required option', ['generate', shippedModel]],
    ['bad option value', ['kv', '--preset', 'deepseek-v3', '--dtype', 'int3']],
    ['unknown preset', ['cost', '--preset', 'nope']],
    ['missing model directory', ['generate', '/nonexistent-model-dir', '--prompt', 'hi']],
    ['missing report to render', ['r1-zero', '--render', '--report', tmp()]],
  ];
  for (const [what, args] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${what} (tinyseek ${args.join(' ')}): exit ${r.code}, stderr ${r.err}`);
    assert.ok(r.err.trim().length > 0, `${what}: says why on stderr`);
    assert.ok(!/^\s+at /m.test(r.err), `${what}: no stack trace`);
  }
});

test('exit status: 0 for help and version (the help lists the statuses); a missing output directory is bad input (2), as in export', () => {
  assert.equal(run(['--help']).code, 0);
  assert.equal(run(['cost', '--help']).code, 0);
  assert.equal(run(['--version']).code, 0);
  assert.match(run(['--help']).out, /Exit status: 0 success, 2 bad usage or input, 1 failure while running/);
  // An output directory that is not there is bad input, as in `export` (2).
  const missing = run(['bubble', '--no-timeline', '--svg', '/nonexistent-dir/x.svg']);
  assert.equal(missing.code, 2, missing.err);
  assert.match(missing.err, /^tinyseek: cannot write \/nonexistent-dir\/x\.svg: directory \/nonexistent-dir does not exist/);
});

test('exit status 1 when a well-formed command fails while running: the port is taken (was 2, like bad input)', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runAsync(['serve', shippedModel, '--port', String(port)]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, new RegExp(`^tinyseek: port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    blocker.close();
  }
});

test('TINYSEEK_BACKEND with an unknown value is an error naming the valid values, even for commands without tensors', () => {
  const r = run(['cost', '--preset', 'deepseek-v3'], { TINYSEEK_BACKEND: 'bogus' });
  assert.equal(r.code, 2, r.out);
  assert.match(r.err, /TINYSEEK_BACKEND="bogus" is not a backend; expected one of native, reference/);
  assert.equal(r.out, '');
  for (const ok of ['reference', '']) assert.equal(run(['cost', '--preset', 'deepseek-v3'], { TINYSEEK_BACKEND: ok }).code, 0, `TINYSEEK_BACKEND=${ok}`);
});

test('the trainer\'s terminal shows `ce`, the number metrics.jsonl (and so the /runs page) calls ce, not its total `loss`', async () => {
  const out = tmp();
  const recipe = parseRunRecipe({
    kind: 'pretrain', name: 'msg-nano', seed: 3, model: { preset: 'nano' }, tokenizer: { vocabSize: 300 },
    data: { recipe: 'default', tokens: 8000 },
    train: { steps: 3, batchSize: 2, seqLen: 32, lr: { peak: 0.01, warmup: 1 }, mtpWeight: 0.3 },
    eval: { every: 0, final: false }, checkpoint: { every: 0 },
  });
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    await train({ recipe, out, quiet: false });
  } finally {
    console.error = orig;
  }
  const steps = lines.filter((l) => l.startsWith('step '));
  assert.equal(steps.length, 3, lines.join('\n'));
  const rows = readMetrics(path.join(out, 'metrics.jsonl'));
  steps.forEach((l, i) => {
    const m = /^step (\d+)\/3 {2}ce (\S+) /.exec(l);
    assert.ok(m, `headline is ce: ${l}`);
    assert.ok(!/\bloss\b/.test(l), `no unqualified "loss" on the line: ${l}`);
    assert.equal(Number(m[1]), rows[i].step);
    assert.equal(Number(m[2]), Number((rows[i].ce as number).toFixed(4)));
    assert.notEqual(rows[i].loss, rows[i].ce, 'metrics.jsonl\'s loss is the total, a different number');
  });
});

test('GRPO\'s terminal headline is its reward, named reward', () => {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    new Progress(1, 0, false, 'grpo', 'reward').update(1, { reward: 0.75, tokS: 120, len: 33.5 });
  } finally {
    console.error = orig;
  }
  assert.match(lines.join('\n'), /^step 1\/1 {2}reward 0\.7500 {2}120 tok\/s len 33\.500/);
});

test('a progress note ends its line, and a step whose note is new is logged at once (not only every 5% of the run)', () => {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    const p = new Progress(100, 0, false, 'grpo', 'reward');
    const note = 'no signal: all 8 groups had equal rewards (every reward 0)';
    p.update(1, { reward: 0, tokS: 100 }, note); // new note: logged although not due (every 5 steps)
    p.update(2, { reward: 0, tokS: 100 }, note); // the same note again: not due, not logged
    p.update(3, { reward: 0.5, tokS: 100 }); // signal again: not due
    p.update(4, { reward: 0, tokS: 100 }, note); // a new stretch without signal: logged
    for (let step = 5; step <= 9; step++) p.update(step, { reward: 0, tokS: 100 }, note); // step 9 is due (5 steps after 4): logged, with the note
  } finally {
    console.error = orig;
  }
  assert.deepEqual(lines.map((l) => /^step (\d+)\//.exec(l)?.[1]), ['1', '4', '9'], lines.join('\n'));
  for (const l of lines) assert.match(l, / {2}— no signal: all 8 groups had equal rewards \(every reward 0\)$/);
});

test('generate --speculative prints the MTP acceptance rate without --json too (on stderr; stdout stays the text)', () => {
  const dir = serveFixtureDir();
  const args = ['generate', dir, '--prompt', 'What is 7 + 11?', '--chat', '--temperature', '0', '--max-tokens', '24'];
  const plain = run(args);
  const spec = run([...args, '--speculative']);
  assert.equal(spec.code, 0, spec.err);
  assert.equal(spec.out, plain.out, 'the same greedy text');
  assert.match(spec.err, /speculative decoding: (\d+) of (\d+) MTP draft tokens accepted \(acceptance rate (\d+\.\d|n\/a)/);
  assert.doesNotMatch(plain.err, /speculative/);
});

test('the r1-zero report\'s title names the base model used, not only the preset', () => {
  const rep: R1ZeroReport = {
    preset: 'mini', base: 'runs/pretrain-mini-long/final', rl_run: 'runs/r1-zero-mini', rl_minutes: 1, rl_steps: 2,
    recipe: { tasks: { families: ['add'], difficulties: [2] }, eval: {} },
    families: { add: { base: { pass1: 0, cons: 0, lenient_pass1: 0, greedy: 0, format: 0, mean_length: 1 }, rl: { pass1: 0, cons: 0, lenient_pass1: 0, greedy: 0, format: 0, mean_length: 1 } } },
    curves: { step: [1, 2], reward: [0, 0], accuracy: [0, 0], mean_length: [1, 1] },
  };
  const title = reportMarkdown(rep).split('\n')[0];
  assert.equal(title, '# R1-Zero on base model `runs/pretrain-mini-long/final` (recipe grpo-mini)');
});

test('generate, chat and ttc without a model directory use the shipped model, from any working directory', () => {
  const cwd = tmp();
  const exec = (args: string[], input?: string) => spawnSync(process.execPath, [cli, ...args], { cwd, input, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
  const explicit = exec(['generate', shippedModel, '--prompt', 'hello', '--temperature', '0', '--max-tokens', '40']);
  const implicit = exec(['generate', '--prompt', 'hello', '--temperature', '0', '--max-tokens', '40']);
  assert.equal(implicit.status, 0, implicit.stderr);
  assert.ok(implicit.stdout.trim().length > 0);
  assert.equal(implicit.stdout, explicit.stdout, 'the same greedy reply as with the directory given');
  const chat = exec(['chat', '--temperature', '0', '--max-tokens', '40', '--show-thinking=false'], 'hello\n');
  assert.equal(chat.status, 0, chat.stderr);
  assert.ok(chat.stdout.includes(explicit.stdout.trim()), `chat's reply ${JSON.stringify(chat.stdout)} contains generate's ${JSON.stringify(explicit.stdout.trim())}`);
  assert.match(exec(['ttc', '--help']).stdout, /default: the\s+shipped\s+models\/tinyseek-r1-mini/);
});
