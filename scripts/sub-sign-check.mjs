// Subtraction by the sign of the result: greedy replies of a model (default the shipped one) to
// 40 two-digit a − b with a ≥ b and the same 40 pairs swapped (a < b), in two wordings. Usage:
//   node scripts/sub-sign-check.mjs [MODEL_DIR]      (after npm run build)
import { loadModel } from '../dist/src/model/checkpoint.js';
import { Tokenizer } from '../dist/src/tokenizer/index.js';
import { Generator } from '../dist/src/infer/generator.js';
const dir = process.argv[2] ?? 'models/tinyseek-r1-mini';
const model = loadModel(dir); model.eval();
const tok = Tokenizer.fromDir(dir);
const gen = new Generator(model, { maxBatch: 64, maxLen: 512 });
let seed = 7; const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const cases = [];
for (let i = 0; i < 40; i++) { const a = 10 + Math.floor(rnd() * 90), b = 10 + Math.floor(rnd() * 90); cases.push([Math.max(a, b), Math.min(a, b)], [Math.min(a, b), Math.max(a, b)]); }
const forms = [(a, b) => `Compute ${a} - ${b}`, (a, b) => `What is ${a} - ${b}?`];
for (const [fi, f] of forms.entries()) {
  const reqs = cases.map(([a, b]) => ({ prompt: tok.encode(tok.applyChatTemplate([{ role: 'user', content: f(a, b) }], { addGenerationPrompt: true }), { allowSpecial: true }), maxNewTokens: 160, sampling: { temperature: 0 }, stopTokenIds: [tok.eosId] }));
  const outs = await Promise.all(reqs.map((q) => gen.generate(q)));
  const tally = { pos: [0, 0], neg: [0, 0] };
  outs.forEach((o, i) => { const [a, b] = cases[i]; const text = tok.decode(o.tokens); const m = /The answer is (-?\d+)/.exec(text); const k = a >= b ? 'pos' : 'neg'; tally[k][1]++; if (m && Number(m[1]) === a - b) tally[k][0]++; });
  console.log(f('a', 'b'), 'a ≥ b:', tally.pos.join('/'), ' a < b:', tally.neg.join('/'));
}
