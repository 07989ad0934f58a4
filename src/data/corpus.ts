// Building a pretraining corpus from a recipe: documents are drawn per component until the
// component's share of the token budget is filled, then shuffled together (seeded). Every problem
// is drawn from the TRAIN split and the corpus is checked before it is written: no problem may
// belong to the test split, and every worked or bare answer must pass its family's verifier.

import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { withAtomicFile, writeFileAtomic } from '../io/atomic.js';
import { GENERATOR_VERSION, Rng, extractAnswer, getTask, hashSeed, sampleProblem, splitOf, type Problem } from '../tasks/index.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { DataError } from './errors.js';
import { renderBare, renderText, renderWorked, type DocFormat } from './formats.js';
import type { Recipe, RecipeComponent } from './recipe.js';
import { tokenCounter } from './token-count.js';
import { brownParagraphs } from './prose.js';

/** A problem referenced by a document (enough to regenerate and re-check it). */
export interface DocProblem {
  family: string;
  difficulty: number;
  seed: number;
  prompt: string;
}

/** One corpus document (one JSONL line). */
export interface CorpusDocument {
  text: string;
  component: RecipeComponent['kind'];
  format: DocFormat;
  problems: DocProblem[];
  tokens: number;
}

/** Options of buildCorpus / writeCorpus. */
export interface BuildCorpusOptions {
  /** Overrides recipe.seed. */
  seed?: number;
  /** Overrides recipe.tokens. */
  tokens?: number;
  /** Count tokens with this tokenizer instead of pre-tokens. */
  tokenizer?: Tokenizer;
}

/** Documents and tokens of one slice of the corpus. */
export interface Tally {
  documents: number;
  tokens: number;
}

/** What a corpus contains; written beside it as the manifest. */
export interface CorpusManifest {
  recipe: Recipe;
  seed: number;
  tokensTarget: number;
  tokenUnit: 'pre-tokens' | 'tokens';
  documents: number;
  tokens: number;
  maxDocumentTokens: number;
  byComponent: Record<string, Tally>;
  byFormat: Record<string, Tally>;
  byFamily: Record<string, Tally & { difficulties: Record<string, number> }>;
  checks: { problems: number; inTestSplit: number; answersVerified: number; answersWrong: number; proseParagraphsWithHeldoutChat?: number };
  generator: string;
  corpusFile?: string;
  sha256?: string;
  bytes?: number;
}

function pickWeighted<T>(rng: Rng, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return (items[items.length - 1] as readonly [T, number])[0];
}

function docProblem(p: Problem): DocProblem {
  return { family: p.family, difficulty: p.difficulty, seed: p.seed, prompt: p.prompt };
}

/** Builds the documents of a corpus (deterministic in recipe, seed and token budget) and its manifest. */
export function buildCorpus(recipe: Recipe, options: BuildCorpusOptions = {}): { documents: CorpusDocument[]; manifest: CorpusManifest } {
  const seed = options.seed ?? recipe.seed;
  const target = options.tokens ?? recipe.tokens;
  if (!Number.isInteger(target) || target <= 0) throw new DataError(`expected a positive integer token budget; found ${target}`);
  const count = tokenCounter(options.tokenizer);
  const totalWeight = recipe.components.reduce((s, c) => s + c.weight, 0);
  const documents: CorpusDocument[] = [];

  let proseLeftOut: number | undefined;
  recipe.components.forEach((c, ci) => {
    const budget = (target * c.weight) / totalWeight;
    const rng = new Rng(hashSeed('corpus', seed, ci));
    if (c.kind === 'prose') {
      // Paragraphs in a seeded order, each used once per pass over the source.
      const { paragraphs, decontaminated } = brownParagraphs();
      proseLeftOut = decontaminated;
      let order: number[] = [];
      let used = 0;
      for (let docIndex = 0; used < budget; docIndex++) {
        const parts: string[] = [];
        for (let j = 0; j < (c.perDocument ?? 1); j++) {
          if (order.length === 0) order = rng.shuffle(Array.from({ length: paragraphs.length }, (_, i) => i));
          parts.push(paragraphs[order.pop()!]!);
        }
        const text = parts.join('\n\n');
        const tokens = count(text);
        used += tokens;
        documents.push({ text, component: 'prose', format: 'prose', problems: [], tokens });
      }
      return;
    }
    const fams = Object.entries(c.families!).map(([name, mix]) => [[name, mix.difficulty] as const, mix.weight] as const);
    const formats = c.formats ?? { plain: 1, r1zero: 0 };
    const formatWeights = [['plain', formats.plain] as const, ['r1zero', formats.r1zero] as const].filter(([, w]) => w > 0);
    const draw = (docIndex: number, j: number): Problem => {
      const [family, [lo, hi]] = pickWeighted(rng, fams);
      const difficulty = rng.int(lo, hi);
      return sampleProblem(family, difficulty, 'train', hashSeed('corpus-problem', seed, ci, docIndex, j));
    };
    let used = 0;
    for (let docIndex = 0; used < budget; docIndex++) {
      let doc: Omit<CorpusDocument, 'tokens'>;
      if (c.kind === 'text') {
        const problems = Array.from({ length: c.perDocument ?? 4 }, (_, j) => draw(docIndex, j));
        doc = { text: renderText(problems.map((p) => p.prompt)), component: 'text', format: 'text', problems: problems.map(docProblem) };
      } else {
        const p = draw(docIndex, 0);
        if (c.kind === 'bare') {
          doc = { text: renderBare(p.prompt, p.answer), component: 'bare', format: 'bare', problems: [docProblem(p)] };
        } else {
          const format = pickWeighted(rng, formatWeights);
          const w = getTask(p.family).work(p);
          doc = { text: renderWorked(format, p.prompt, w.trace, w.answer), component: 'worked', format, problems: [docProblem(p)] };
        }
      }
      const tokens = count(doc.text);
      used += tokens;
      documents.push({ ...doc, tokens });
    }
  });

  const shuffled = new Rng(hashSeed('corpus-shuffle', seed)).shuffle(documents);
  const manifest = summarize(recipe, seed, target, options.tokenizer ? 'tokens' : 'pre-tokens', shuffled);
  if (proseLeftOut !== undefined) manifest.checks.proseParagraphsWithHeldoutChat = proseLeftOut;
  if (manifest.checks.inTestSplit > 0 || manifest.checks.answersWrong > 0) {
    throw new DataError(
      `corpus failed its checks: expected 0 test-split problems and 0 wrong answers; found ${manifest.checks.inTestSplit} and ${manifest.checks.answersWrong}`,
    );
  }
  return { documents: shuffled, manifest };
}

/** Re-checks documents (test-split membership, answers) and tallies them. */
export function summarize(recipe: Recipe, seed: number, target: number, unit: CorpusManifest['tokenUnit'], docs: readonly CorpusDocument[]): CorpusManifest {
  const m: CorpusManifest = {
    recipe,
    seed,
    tokensTarget: target,
    tokenUnit: unit,
    documents: docs.length,
    tokens: 0,
    maxDocumentTokens: 0,
    byComponent: {},
    byFormat: {},
    byFamily: {},
    checks: { problems: 0, inTestSplit: 0, answersVerified: 0, answersWrong: 0 },
    generator: GENERATOR_VERSION,
  };
  const bump = (rec: Record<string, Tally>, key: string, tokens: number): void => {
    const t = (rec[key] ??= { documents: 0, tokens: 0 });
    t.documents++;
    t.tokens += tokens;
  };
  for (const d of docs) {
    m.tokens += d.tokens;
    m.maxDocumentTokens = Math.max(m.maxDocumentTokens, d.tokens);
    bump(m.byComponent, d.component, d.tokens);
    bump(m.byFormat, d.format, d.tokens);
    for (const p of d.problems) {
      m.checks.problems++;
      if (splitOf(p) !== 'train') m.checks.inTestSplit++;
      const f = (m.byFamily[p.family] ??= { documents: 0, tokens: 0, difficulties: {} });
      f.documents++;
      f.tokens += Math.round(d.tokens / d.problems.length);
      f.difficulties[String(p.difficulty)] = (f.difficulties[String(p.difficulty)] ?? 0) + 1;
      if (d.component !== 'text') {
        const task = getTask(p.family);
        const problem = task.generate(p.seed, p.difficulty);
        if (problem.prompt !== p.prompt) {
          m.checks.answersWrong++;
          continue;
        }
        // The answer is the text after the last "Answer: " or inside the last <answer> tags.
        const answer = (d.format === 'r1zero' ? extractAnswer(d.text) : /Answer: ([^\n]*)$/.exec(d.text)?.[1] ?? '')?.trim() ?? '';
        if (task.check(problem, answer)) m.checks.answersVerified++;
        else m.checks.answersWrong++;
      }
    }
  }
  return m;
}

/** The manifest path for a corpus file: x.jsonl → x.manifest.json. */
export function manifestPath(corpusFile: string): string {
  return corpusFile.endsWith('.jsonl') ? `${corpusFile.slice(0, -6)}.manifest.json` : `${corpusFile}.manifest.json`;
}

/** Builds a corpus and writes it (JSONL, one document per line) plus its manifest, both atomically. */
export function writeCorpus(outFile: string, recipe: Recipe, options: BuildCorpusOptions = {}): CorpusManifest {
  const { documents, manifest } = buildCorpus(recipe, options);
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  const hash = createHash('sha256');
  let bytes = 0;
  withAtomicFile(outFile, (f) => {
    const chunk: string[] = [];
    const flush = (): void => {
      const buf = Buffer.from(chunk.join(''), 'utf8');
      hash.update(buf);
      bytes += buf.byteLength;
      f.write(buf);
      chunk.length = 0;
    };
    for (const d of documents) {
      chunk.push(JSON.stringify(d) + '\n');
      if (chunk.length >= 2048) flush();
    }
    flush();
  });
  const full: CorpusManifest = { ...manifest, corpusFile: path.basename(outFile), sha256: hash.digest('hex'), bytes };
  writeFileAtomic(manifestPath(outFile), JSON.stringify(full, null, 2) + '\n');
  return full;
}

/** Reads a corpus JSONL file back as documents. */
export function readCorpus(file: string): CorpusDocument[] {
  const out: CorpusDocument[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let d: unknown;
      try {
        d = JSON.parse(line);
      } catch (e) {
        throw new DataError(`${file}:${i + 1}: expected a JSON document; ${(e as Error).message}`);
      }
      const doc = d as Partial<CorpusDocument>;
      if (typeof doc.text !== 'string' || !Array.isArray(doc.problems)) {
        throw new DataError(`${file}:${i + 1}: expected {"text": string, "problems": [...]}; found keys ${Object.keys(d as object).join(', ')}`);
      }
      out.push(doc as CorpusDocument);
    });
  return out;
}

/** Streams the texts of a corpus file (e.g. to train a tokenizer on it). */
export function* corpusTexts(file: string): Generator<string> {
  for (const d of readCorpus(file)) yield d.text;
}
