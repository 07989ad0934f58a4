// `tinyseek data …`: build a pretraining corpus from a recipe, write task datasets (train/test
// splits), and train a tokenizer on a corpus.
import type { Command } from 'commander';
import path from 'node:path';
import { CliError } from '../errors.js';
import { DataError, corpusTexts, loadRecipe, manifestPath, renderBare, renderWorked, writeCorpus } from '../../data/index.js';
import { TaskError, allTasks, getTask, splitOf, taskNames, writeTaskDataset, type Split } from '../../tasks/index.js';
import { Tokenizer, TokenizerError, renderR1ZeroCompletion } from '../../tokenizer/index.js';

function int(name: string, min: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new CliError(`--${name}: expected an integer ≥ ${min}; found ${JSON.stringify(v)}`);
    return n;
  };
}

/** Runs fn, turning the data/task/tokenizer layers' errors into one-line CLI errors. */
function run<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DataError || e instanceof TaskError || e instanceof TokenizerError) throw new CliError(e.message);
    throw e;
  }
}

function fmtCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
}

/** Registers `tinyseek data build|tasks|tokenizer|show|lengths`. */
export function register(program: Command): void {
  const data = program.command('data').description('pretraining corpora, verifiable-task datasets and tokenizers');

  data
    .command('build')
    .description('write a pretraining corpus (JSONL + manifest) from a recipe mixture of worked, bare and text documents')
    .requiredOption('--recipe <name>', 'built-in recipe name (recipes/data/NAME.json) or path to a recipe .json')
    .option('--out <file>', 'corpus file (default data/<recipe>.jsonl); the manifest goes beside it')
    .option('--seed <s>', 'seed (overrides the recipe)', int('seed', 0))
    .option('--tokens <n>', 'corpus size in tokens (overrides the recipe)', int('tokens', 1))
    .option('--tokenizer <dir>', 'count tokens with this tokenizer instead of pre-tokens')
    .action((opts: { recipe: string; out?: string; seed?: number; tokens?: number; tokenizer?: string }) => {
      run(() => {
        const recipe = loadRecipe(opts.recipe);
        const out = opts.out ?? path.join('data', `${recipe.name}.jsonl`);
        const tokenizer = opts.tokenizer ? Tokenizer.fromDir(opts.tokenizer) : undefined;
        const t0 = performance.now();
        const m = writeCorpus(out, recipe, { seed: opts.seed, tokens: opts.tokens, tokenizer });
        const secs = (performance.now() - t0) / 1000;
        console.log(`wrote ${out}: ${m.documents} documents, ${fmtCount(m.tokens)} ${m.tokenUnit}, ${fmtCount(m.bytes ?? 0)} bytes in ${secs.toFixed(1)} s`);
        for (const [k, v] of Object.entries(m.byFormat)) {
          console.log(`  ${k.padEnd(7)} ${String(v.documents).padStart(7)} docs ${fmtCount(v.tokens).padStart(8)} ${m.tokenUnit} (${((100 * v.tokens) / m.tokens).toFixed(1)}%)`);
        }
        console.log(`  checks: ${m.checks.problems} problems, ${m.checks.inTestSplit} in the test split, ${m.checks.answersVerified} answers verified${m.checks.proseParagraphsWithHeldoutChat !== undefined ? `, ${m.checks.proseParagraphsWithHeldoutChat} prose paragraphs left out (they contain a held-out chat prompt)` : ''}`);
        console.log(`manifest ${manifestPath(out)}`);
      });
    });

  data
    .command('tasks')
    .description('write a task dataset (JSONL) from the fixed, disjoint train/test splits')
    .requiredOption('--family <name>', `task family (${taskNames().join(', ')})`)
    .requiredOption('--difficulty <d>', 'difficulty level', int('difficulty', 1))
    .option('--split <split>', 'train or test', 'test')
    .option('--n <n>', 'number of problems', int('n', 1), 500)
    .option('--seed <s>', 'dataset seed', int('seed', 0), 0)
    .option('--out <file>', 'output file (default data/tasks/<family>-d<difficulty>-<split>.jsonl)')
    .action((opts: { family: string; difficulty: number; split: string; n: number; seed: number; out?: string }) => {
      run(() => {
        getTask(opts.family);
        if (opts.split !== 'train' && opts.split !== 'test') throw new CliError(`--split: expected train or test; found ${JSON.stringify(opts.split)}`);
        const out = opts.out ?? path.join('data', 'tasks', `${opts.family}-d${opts.difficulty}-${opts.split}.jsonl`);
        const recs = writeTaskDataset(out, { family: opts.family, difficulty: opts.difficulty, split: opts.split as Split, n: opts.n, seed: opts.seed });
        console.log(`wrote ${out}: ${recs.length} ${opts.family} d${opts.difficulty} ${opts.split} problems (seed ${opts.seed})`);
      });
    });

  data
    .command('tokenizer')
    .description('train a byte-level BPE tokenizer on a corpus and save tokenizer.json + tokenizer_config.json')
    .requiredOption('--corpus <file>', 'corpus JSONL written by `data build`')
    .requiredOption('--out <dir>', 'output directory')
    .option('--vocab-size <n>', 'vocabulary size including special and byte tokens', int('vocab-size', 265), 1024)
    .option('--min-frequency <n>', 'never merge pairs seen fewer times', int('min-frequency', 1), 2)
    .action((opts: { corpus: string; out: string; vocabSize: number; minFrequency: number }) => {
      run(() => {
        const t0 = performance.now();
        let bytes = 0;
        const texts: string[] = [];
        for (const t of corpusTexts(opts.corpus)) {
          texts.push(t);
          bytes += Buffer.byteLength(t);
        }
        const tok = Tokenizer.train(texts, { vocabSize: opts.vocabSize, minFrequency: opts.minFrequency });
        tok.save(opts.out);
        const secs = (performance.now() - t0) / 1000;
        const note = tok.vocabSize < opts.vocabSize ? ` (no pair left with frequency ≥ ${opts.minFrequency})` : '';
        console.log(`trained on ${texts.length} documents (${fmtCount(bytes)} bytes) in ${secs.toFixed(2)} s: vocab ${tok.vocabSize}${note}, ${tok.data.merges.length} merges`);
        console.log(`wrote ${path.join(opts.out, 'tokenizer.json')} and tokenizer_config.json`);
      });
    });

  data
    .command('show')
    .description('print one problem of a family as a corpus document, with its split')
    .requiredOption('--family <name>', `task family (${taskNames().join(', ')})`)
    .option('--difficulty <d>', 'difficulty level', int('difficulty', 1), 1)
    .option('--seed <s>', 'problem seed', int('seed', 0), 0)
    .option('--format <f>', 'plain, r1zero or bare', 'plain')
    .action((opts: { family: string; difficulty: number; seed: number; format: string }) => {
      run(() => {
        const task = getTask(opts.family);
        const p = task.generate(opts.seed, opts.difficulty);
        const w = task.work(p);
        if (opts.format !== 'plain' && opts.format !== 'r1zero' && opts.format !== 'bare') {
          throw new CliError(`--format: expected plain, r1zero or bare; found ${JSON.stringify(opts.format)}`);
        }
        console.log(`# ${p.family} d${p.difficulty} seed ${p.seed} (${splitOf(p)} split)`);
        console.log(opts.format === 'bare' ? renderBare(p.prompt, w.answer) : renderWorked(opts.format, p.prompt, w.trace, w.answer));
      });
    });

  data
    .command('lengths')
    .description('token lengths of worked R1-Zero completions per family and difficulty (max and mean over seeds)')
    .requiredOption('--tokenizer <dir>', 'tokenizer directory')
    .option('--seeds <n>', 'problems per family and level', int('seeds', 1), 200)
    .action((opts: { tokenizer: string; seeds: number }) => {
      run(() => {
        const tok = Tokenizer.fromDir(opts.tokenizer);
        console.log(`family     level  max  mean   (tokens of "<think>\\n trace \\n</think> <answer>…</answer>", ${opts.seeds} seeds)`);
        for (const task of allTasks()) {
          for (const d of task.difficulties) {
            let max = 0;
            let sum = 0;
            for (let s = 0; s < opts.seeds; s++) {
              const w = task.work(task.generate(s, d));
              const n = tok.encode(renderR1ZeroCompletion(w.trace, w.answer), { allowSpecial: true }).length;
              max = Math.max(max, n);
              sum += n;
            }
            console.log(`${task.name.padEnd(10)} ${String(d).padStart(5)} ${String(max).padStart(4)} ${(sum / opts.seeds).toFixed(0).padStart(5)}`);
          }
        }
      });
    });
}
