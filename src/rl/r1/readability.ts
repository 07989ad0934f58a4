// Readability: R1's language-consistency reward (stage 2: "the proportion of target-language words in
// the CoT") in a form that means something for tinyseek, whose reasoning is arithmetic written in
// short English lines. The target language is the language of the worked solutions: their words plus
// a short list of connectives a reasoner uses ("so", "check", "wait"). The reasoning is split into
// lines (steps), and
//
//   readability(thinking) = (well-formed steps) / (steps),   0 when there is no step,
//
// where a step is well-formed when it
//   1. is 1–120 characters long, printable ASCII from the worked solutions' alphabet (letters, digits,
//      spaces, + - * / = ( ) , . : ; ' ! ? % < > [ ]), with no tag or chat marker in it;
//   2. holds at least one word or number, and every word (a run of letters) is in the target vocabulary;
//   3. repeats no word or number three times in a row, and is not a copy of the step before it.
// A garbled model writes out-of-vocabulary fragments, stutters or runs lines together; a readable one
// writes lines like the worked solutions'. The reward is the fraction, so partial credit is smooth.
import { getTask, sampleProblem, streamSeed, taskNames } from '../../tasks/index.js';
import { hasForeignMarkup } from './format.js';

/** Longest readable step, in characters. */
export const MAX_STEP_CHARS = 120;
const ALPHABET = /^[A-Za-z0-9 +\-*/=(),.:;'!?%<>[\]]+$/;
/**
 * Connectives and words of explanation a reasoner may add to the worked solutions' vocabulary: only
 * words the worked solutions do not already use (a test keeps it so; "the", "so", "is", "answer", …
 * come from the solutions themselves).
 */
export const CONNECTIVES = [
  'a', 'an', 'then', 'now', 'next', 'second', 'finally', 'wait', 'check', 'checking', 'again', 'let', 'me',
  'we', 'i', 'are', 'was', 'be', 'this', 'that', 'gives', 'get', 'got', 'equals', 'result', 'total', 'sum',
  'difference', 'product', 'remainder', 'step', 'correct', 'yes', 'no', 'not', 'or', 'with',
  'plus', 'minus', 'times', 'divided', 'modulo', 'digits', 'question', 'asks',
  'what', 'which', 'because', 'therefore', 'hence', 'in', 'on', 'for', 'all', 'one', 'two',
];

let vocab: Set<string> | null = null;

/** The target vocabulary: every word of the task families' worked solutions (a fixed sample) plus the connectives. */
export function targetVocabulary(): ReadonlySet<string> {
  if (vocab) return vocab;
  const v = new Set(CONNECTIVES);
  for (const family of taskNames()) {
    const task = getTask(family);
    for (const d of task.difficulties) {
      for (let i = 0; i < 12; i++) {
        const p = sampleProblem(family, d, 'train', streamSeed('train', 7, family, d, i));
        for (const w of task.work(p).trace.toLowerCase().match(/[a-z]+/g) ?? []) v.add(w);
      }
    }
  }
  vocab = v;
  return v;
}

/** Whether one reasoning line is a well-formed, readable step (rules 1–3 above; `prev` is the step before it). */
export function readableStep(line: string, prev: string | null = null): boolean {
  const s = line.trim();
  if (s.length === 0 || s.length > MAX_STEP_CHARS || !ALPHABET.test(s) || hasForeignMarkup(s)) return false;
  const tokens = s.toLowerCase().match(/[a-z]+|\d+/g) ?? [];
  if (tokens.length === 0) return false;
  const v = targetVocabulary();
  for (const t of tokens) if (/^[a-z]/.test(t) && !v.has(t)) return false;
  for (let i = 2; i < tokens.length; i++) if (tokens[i] === tokens[i - 1] && tokens[i] === tokens[i - 2]) return false;
  return prev === null || s !== prev.trim();
}

/** The steps of a reasoning text: its non-blank lines. */
export function reasoningSteps(thinking: string): string[] {
  return thinking.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}

/** The share of reasoning steps that are well-formed and readable, in [0, 1] (0 without steps). */
export function readability(thinking: string): number {
  const steps = reasoningSteps(thinking);
  if (steps.length === 0) return 0;
  let ok = 0;
  steps.forEach((s, i) => { if (readableStep(s, i > 0 ? steps[i - 1] : null)) ok++; });
  return ok / steps.length;
}
