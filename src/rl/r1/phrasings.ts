// The same problem asked the ways people ask it. A phrasing template turns a task problem into a
// user message with the same meaning and answer (the verifier reads the problem's metadata, never the
// wording). TRAINING templates live here; the held-out templates, used only to measure whether the
// model answers wordings it never saw, live in phrasings-heldout.ts (a test checks the two never
// produce the same text). Surface noise — lower case, "please", a typo — is applied to training
// phrasings only.
import type { Problem } from '../../tasks/index.js';
import { Rng } from '../../tasks/rng.js';
import { story } from './stories.js';

/** A phrasing template: {expr} {words} {a} {b} {list} {numbers} {target} {eq} {prompt} {story} {story2} are filled from the problem. */
export interface Phrasing {
  /** Families it applies to. */
  families: readonly string[];
  template: string;
  /** Applies only to problems this accepts (a story about things left over needs a ≥ b). */
  when?: (p: Problem) => boolean;
  /** How often it is drawn relative to the others (default 1). */
  weight?: number;
}

/** A story that counts things left over only makes sense when nothing goes below zero. */
const noneBelowZero = (p: Problem) => typeof p.meta.a === 'number' && typeof p.meta.b === 'number' && p.meta.a >= p.meta.b;

/** Training phrasings ("Compute 23 + 58" is the canonical one every task uses). */
// Stryker disable StringLiteral,ArrayDeclaration: the wordings and their families are data, not logic; what must hold of them (every number kept, none equal to a held-out wording, the weights) is tested
export const TRAIN_PHRASINGS: readonly Phrasing[] = [
  { families: ['add', 'sub', 'mul', 'mod', 'sort', 'countdown', 'linear'], template: '{prompt}' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'What is {expr}?' },
  { families: ['add', 'sub', 'mul', 'mod'], template: '{expr} = ?' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'What is {words}?' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Calculate {expr}' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Can you work out {expr}?' },
  { families: ['add', 'sub', 'mul', 'mod'], template: '{expr}' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'How much is {words}?' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Find {expr}.' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'What does {expr} equal?' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Please solve {expr}' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Quick question: {expr}' },
  { families: ['add', 'sub', 'mul', 'mod'], template: '{words} is what?' },
  { families: ['add'], template: 'I have {a} apples and get {b} more. How many apples do I have?' },
  { families: ['add'], template: 'Add {a} and {b}' },
  { families: ['add'], template: 'What is the sum of {a} and {b}?' },
  { families: ['add'], template: 'Increase {a} by {b}.' },
  { families: ['add'], template: 'A jar has {a} marbles and someone puts in {b} more. How many marbles are in the jar?' },
  { families: ['add'], template: 'There are {a} birds on a tree and {b} more land on it. How many birds are there now?' },
  { families: ['add'], template: 'Sam has {a} stickers and Mia gives him {b}. How many stickers does Sam have?' },
  // word problems composed from parts (./stories.ts), two per problem; drawn as often as five fixed
  // templates each, so that stories are about a third of the phrased add/sub rows (the way newcomers ask)
  { families: ['add', 'sub'], template: '{story}', weight: 5 },
  { families: ['add', 'sub'], template: '{story2}', weight: 5 },
  { families: ['sub'], template: 'I had {a} coins and spent {b}. How many coins are left?', when: noneBelowZero },
  { families: ['sub'], template: 'Subtract {b} from {a}' },
  { families: ['sub'], template: 'Decrease {a} by {b}.' },
  { families: ['sub'], template: 'How many are left if you remove {b} from {a}?', when: noneBelowZero },
  { families: ['sub'], template: 'A bus has {a} people on it and {b} get off. How many are still on the bus?', when: noneBelowZero },
  { families: ['sub'], template: 'There were {a} cookies and {b} were eaten. How many cookies remain?', when: noneBelowZero },
  { families: ['sub'], template: 'Lee had {a} cards and gave {b} to a friend. How many cards does Lee have now?', when: noneBelowZero },
  { families: ['mul'], template: 'There are {a} boxes with {b} pens in each. How many pens are there?' },
  { families: ['mul'], template: 'Multiply {a} by {b}' },
  { families: ['sort'], template: 'Sort these numbers: {list}' },
  { families: ['sort'], template: 'Put {list} in increasing order' },
  { families: ['sort'], template: 'Order from smallest to largest: {list}' },
  { families: ['countdown'], template: 'Make {target} from {numbers} using + - * /, each number at most once' },
  { families: ['linear'], template: 'Find x if {eq}' },
  { families: ['linear'], template: 'What is x when {eq}?' },
];
// Stryker restore StringLiteral,ArrayDeclaration

const WORDS: Record<string, string> = { '+': 'plus', '-': 'minus', '*': 'times' };

/** The slots a template may use, read off the problem (null when the family has none of that kind). */
export function phrasingSlots(p: Problem): Record<string, string> {
  const s: Record<string, string> = { prompt: p.prompt };
  const m = p.meta;
  if (p.prompt.startsWith('Compute ')) {
    const expr = p.prompt.slice('Compute '.length);
    s.expr = expr;
    s.words = expr.replace(/ ([+\-*]) /g, (_, op: string) => ` ${WORDS[op]} `).replace(/ mod /g, ' modulo ');
  }
  if (typeof m.a === 'number') s.a = String(m.a);
  if (typeof m.b === 'number') s.b = String(m.b);
  if (typeof m.a === 'number' && typeof m.b === 'number' && (p.family === 'add' || (p.family === 'sub' && m.a >= m.b))) {
    const op = p.family === 'add' ? 'more' : 'fewer';
    s.story = story(m.a, m.b, op, m.a * 1009 + m.b);
    s.story2 = story(m.a, m.b, op, m.a * 1009 + m.b + 500_000);
  }
  if (Array.isArray(m.list)) s.list = m.list.join(', ');
  if (Array.isArray(m.numbers)) s.numbers = m.numbers.join(', ');
  if (typeof m.target === 'number') s.target = String(m.target);
  if (p.prompt.startsWith('Solve for x: ')) s.eq = p.prompt.slice('Solve for x: '.length);
  return s;
}

/** Fills a template; null when it needs a slot the problem lacks. */
export function fillPhrasing(template: string, p: Problem): string | null {
  const slots = phrasingSlots(p);
  let missing = false;
  const text = template.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (slots[k] === undefined) missing = true;
    return slots[k] ?? '';
  });
  return missing ? null : text;
}

/** The templates of a list that apply to a problem. */
export function phrasingsFor(list: readonly Phrasing[], p: Problem): string[] {
  return list.filter((x) => x.families.includes(p.family) && (!x.when || x.when(p)) && fillPhrasing(x.template, p) !== null).map((x) => x.template);
}

/** Swaps two adjacent letters inside one word of 4+ letters (a typo), if there is one. */
export function typo(text: string, rng: Rng): string {
  const words = [...text.matchAll(/[A-Za-z]{4,}/g)];
  if (words.length === 0) return text;
  const w = rng.pick(words);
  const i = (w.index ?? 0) + 1 + rng.int(0, w[0].length - 3);
  return text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
}

/** Surface noise of a training phrasing: as is, lower case, "please", or a typo. */
export function addNoise(text: string, rng: Rng): string {
  switch (rng.int(0, 5)) {
    case 0: return text.toLowerCase();
    case 1: return `Please ${text[0]!.toLowerCase()}${text.slice(1)}`;
    case 2: return `${text.replace(/[?.]$/, '')}, please`;
    case 3: return typo(text, rng);
    default: return text;
  }
}

/** A training template that applies to the problem, drawn by the templates' weights. */
export function pickPhrasing(p: Problem, rng: Rng): string {
  const ts = TRAIN_PHRASINGS.filter((x) => phrasingsFor([x], p).length > 0);
  let u = rng.next() * ts.reduce((s, x) => s + (x.weight ?? 1), 0);
  return (ts.find((x) => (u -= x.weight ?? 1) < 0) ?? ts[ts.length - 1]!).template;
}

/** A random training phrasing of a problem (a weighted template, with surface noise half of the time). */
export function trainPhrasing(p: Problem, rng: Rng): string {
  const text = fillPhrasing(pickPhrasing(p, rng), p)!;
  return rng.chance(0.5) ? addNoise(text, rng) : text;
}
