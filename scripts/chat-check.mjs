#!/usr/bin/env node
// Asks a served model what a newcomer asks, through the official `openai` client, at temperature 0:
//   - two-digit addition and subtraction (held-out test problems) under phrasings never used in
//     training (src/rl/r1/phrasings-heldout.ts), as the first turn of a conversation;
//   - the same questions as the second turn, after another such question and the model's own reply;
//   - greetings, "what can you do?" and out-of-scope questions held out of training
//     (src/data/conversations.ts HELDOUT_GENERAL), plus the issue's own prompts.
// A first- or second-turn answer is correct when the last number in the reply (content, not
// reasoning) is the answer. A general reply is sensible when it is in words: non-empty, at least two
// words, no numbers (none of these prompts asks for one: "The answer is 2." to "Hello" is not a
// reply; a digit inside a name such as DeepSeek-R1 does not count), at most 300 characters, no leaked
// template tags, and every word one the model was taught (the general replies' and the worked
// solutions' words: "You're welco!" is a garbled reply, not a sensible one); a greeting, who-are-you,
// what-can-you-do or thanks must not be declined ("I can't answer that; …" to "Hiya" is no answer), and
// only thanks may be answered with "You're welcome!". The targets (issue #13): first turn ≥ 60%,
// second turn ≥ 4/5 of the first, every general reply sensible.
//
//   npm run build && node scripts/chat-check.mjs [MODEL_DIR] [--n 15] [--out docs/results/chat-check]
//
// It starts the server the way a newcomer does (`npm start`, on a free port), and stops it after.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { heldOutProblems } from '../dist/src/infer/evaluate.js';
import { fillPhrasing, phrasingsFor } from '../dist/src/rl/r1/phrasings.js';
import { HELDOUT_PHRASINGS } from '../dist/src/rl/r1/phrasings-heldout.js';
import { CATEGORIES, HELDOUT_GENERAL, REPLIES, replyVocabulary } from '../dist/src/data/conversations.js';
import { targetVocabulary } from '../dist/src/rl/r1/readability.js';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { n: { type: 'string', default: '15' }, out: { type: 'string' }, seed: { type: 'string', default: '7' }, url: { type: 'string' } },
});
const n = Number(opt.n), seed = Number(opt.seed);
if (!Number.isInteger(n) || n < 1) throw new Error(`--n: expected a positive integer; found ${opt.n}`);
const modelDir = positionals[0];

/** Starts `npm start` on a free port; resolves with its URL and a stop function. */
function startServer() {
  const args = ['start', '--', '--port', '0', ...(modelDir ? [modelDir] : [])];
  const child = spawn('npm', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BROWSER: 'none' } });
  const stop = () => { try { process.kill(-child.pid, 'SIGINT'); } catch { /* already gone */ } };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { stop(); reject(new Error(`npm start printed no chat URL in 120 s:\n${out}`)); }, 120_000);
    const onData = (d) => {
      out += d;
      const m = /chat\s+(http:\/\/\S+?)\/?\s/.exec(out);
      if (m) { clearTimeout(timer); resolve({ url: m[1], banner: out.split('\n')[0], stop }); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`npm start exited with ${code}:\n${out}`)); });
  });
}

const lastNumber = (s) => { const m = s.match(/-?\d+/g); return m ? m[m.length - 1] : null; };
const TAUGHT = new Set([...replyVocabulary(), ...targetVocabulary()]);
const TAGS = /<\/?(think|answer)>|<｜|\|>/;
/** A reply that declines (both out-of-scope replies are such sentences). */
const REFUSAL = /\b(?:can't|cannot|can not|unable to)\b|^sorry\b/i;
const isRefusal = (reply) => REFUSAL.test(reply.trim());
function sensible(reply, category) {
  const words = reply.match(/[A-Za-z']+/g) ?? [];
  if (!reply.trim()) return 'empty';
  // A greeting, who-are-you, what-can-you-do or thanks is in the model's scope: declining it is no answer.
  if (category !== 'out_of_scope' && isRefusal(reply)) return 'refuses a prompt it can answer';
  // "You're welcome!" answers thanks and nothing else (attempt 12 said it to "Hey, what's your name?").
  if (category !== 'thanks' && REPLIES.thanks.includes(reply.trim())) return "thanks a prompt that wasn't thanks";
  if (TAGS.test(reply)) return 'leaked tags';
  if (/(?<![A-Za-z])\d/.test(reply)) return 'a number'; // a digit inside a name (DeepSeek-R1, V3) is not a number
  if (words.length < 2) return 'fewer than two words';
  if (reply.length > 300) return 'longer than 300 characters';
  const unknown = words.filter((w) => !TAUGHT.has(w.toLowerCase()));
  if (unknown.length) return `untaught words: ${unknown.join(', ')}`;
  return null;
}

const server = opt.url ? { url: opt.url, banner: `(server at ${opt.url})`, stop: () => {} } : await startServer();
try {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: process.env.TINYSEEK_API_KEY ?? 'none' });
  const model = (await client.models.list()).data[0].id;
  const ask = async (messages) => {
    const r = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 256 });
    return r.choices[0].message.content ?? '';
  };

  // First and second turns on held-out two-digit add/sub problems, every held-out phrasing.
  const items = [];
  for (const family of ['add', 'sub']) {
    for (const p of heldOutProblems(family, 1, n, seed)) {
      for (const t of phrasingsFor(HELDOUT_PHRASINGS, p)) items.push({ p, text: fillPhrasing(t, p), template: t });
    }
  }
  const first = [];
  for (const it of items) {
    const reply = await ask([{ role: 'user', content: it.text }]);
    first.push({ question: it.text, answer: it.p.answer, reply, correct: lastNumber(reply) === it.p.answer });
  }
  // Second turn: the previous item's question and the model's own reply come first.
  const second = [];
  for (let i = 0; i < items.length; i++) {
    const prev = first[(i + items.length - 1) % items.length];
    const reply = await ask([{ role: 'user', content: prev.question }, { role: 'assistant', content: prev.reply }, { role: 'user', content: items[i].text }]);
    second.push({ previous: prev.question, question: items[i].text, answer: items[i].p.answer, reply, correct: lastNumber(reply) === items[i].p.answer });
  }
  const general = [];
  const prompts = [...CATEGORIES.flatMap((c) => HELDOUT_GENERAL[c].map((text) => ({ category: c, text }))),
    { category: 'issue', text: 'Hello, who are you?' }, { category: 'issue', text: 'what can you do?' }];
  for (const g of prompts) {
    const reply = await ask([{ role: 'user', content: g.text }]);
    general.push({ ...g, reply, problem: sensible(reply, g.category) });
  }
  const issuePrompts = ['Compute 23 + 58', 'What is 23 + 58?', '23 + 58 = ?', 'What is 23 plus 58?'];
  const examples = [];
  for (const q of issuePrompts) examples.push({ question: q, reply: await ask([{ role: 'user', content: q }]) });

  const rate = (xs) => xs.filter((x) => x.correct).length / xs.length;
  const res = {
    model, server: server.banner, date: new Date().toISOString(), n_per_family: n, seed,
    first_turn: { prompts: first.length, accuracy: rate(first) },
    second_turn: { prompts: second.length, accuracy: rate(second) },
    general: { prompts: general.length, sensible: general.filter((g) => !g.problem).length / general.length },
    targets: {
      first_turn_at_least_60pct: rate(first) >= 0.6,
      second_turn_at_least_four_fifths_of_first: rate(second) >= 0.8 * rate(first),
      every_general_reply_sensible: general.every((g) => !g.problem),
    },
    by_template: Object.fromEntries([...new Set(items.map((x) => x.template))].map((t) => [t, rate(first.filter((_, i) => items[i].template === t))])),
    first_replies: first, second_replies: second, general_replies: general, examples,
  };
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  console.log(`${model}: first turn ${pct(res.first_turn.accuracy)} of ${first.length}; second turn ${pct(res.second_turn.accuracy)} of ${second.length}; general replies sensible ${pct(res.general.sensible)} of ${general.length}`);
  for (const [k, v] of Object.entries(res.targets)) console.log(`  ${v ? 'met    ' : 'NOT met'}  ${k}`);
  if (opt.out) {
    const md = [
      `# What a newcomer asks: ${model}`, '',
      `Measured by \`node scripts/chat-check.mjs${modelDir ? ` ${modelDir}` : ''} --n ${n}\` on ${res.date.slice(0, 10)}: the official \`openai\` client against \`npm start\`, temperature 0.`,
      `Questions: ${n} held-out two-digit problems per family (add, sub) × every held-out phrasing (never used in training).`, '',
      '| Measure | Result | Target |', '|---|---:|---|',
      `| First turn, held-out phrasings | ${pct(res.first_turn.accuracy)} (${first.filter((x) => x.correct).length}/${first.length}) | ≥ 60% ${res.targets.first_turn_at_least_60pct ? '(met)' : '(not met)'} |`,
      `| Second turn | ${pct(res.second_turn.accuracy)} (${second.filter((x) => x.correct).length}/${second.length}) | ≥ ${pct(0.8 * res.first_turn.accuracy)} ${res.targets.second_turn_at_least_four_fifths_of_first ? '(met)' : '(not met)'} |`,
      `| General replies sensible | ${pct(res.general.sensible)} (${general.filter((g) => !g.problem).length}/${general.length}) | all ${res.targets.every_general_reply_sensible ? '(met)' : '(not met)'} |`, '',
      '## First turn by phrasing', '', '| Phrasing | Accuracy |', '|---|---:|',
      ...Object.entries(res.by_template).map(([t, a]) => `| ${t.replace(/\|/g, '\\|')} | ${pct(a)} |`), '',
      '## General prompts', '', '| Prompt | Reply | Problem |', '|---|---|---|',
      ...general.map((g) => `| ${g.text} | ${g.reply.replace(/\n/g, ' ').replace(/\|/g, '\\|').slice(0, 160)} | ${g.problem ?? ''} |`), '',
      '## The issue\'s prompts', '', '| Prompt | Reply |', '|---|---|',
      ...examples.map((e) => `| ${e.question} | ${e.reply.replace(/\n/g, ' ').replace(/\|/g, '\\|').slice(0, 160)} |`), '',
    ].join('\n');
    fs.mkdirSync(path.dirname(opt.out), { recursive: true });
    for (const [ext, body] of [['json', JSON.stringify(res, null, 2) + '\n'], ['md', md]]) {
      const file = `${opt.out}.${ext}`, tmp = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, body);
      fs.renameSync(tmp, file);
    }
    console.log(`wrote ${opt.out}.md and ${opt.out}.json`);
  }
} finally {
  server.stop();
}
