// DeepSeek-R1's output format (R1 paper §2.3.1: "|special_token|<reasoning_process>|special_token|<summary>"),
// as tinyseek writes it under the default chat template, whose generation prompt already opens "<think>\n":
//
//   <think>\n{reasoning steps, one per line}\n</think>\n\n{summary}
//
// For a reasoning prompt the summary is one line, "The answer is X."; for a general prompt it is the
// reply itself. The strict verdict needs that shape (one </think>, no other tags, no chat markers) and
// the verifier's approval of X; the lenient one (the task's lenientExtract) ignores the shape.
import type { Problem, VerifyResult } from '../../tasks/index.js';
import { getTask } from '../../tasks/index.js';

/** A completion split into its reasoning and its summary. */
export interface R1Parts {
  /** Text between the (optional) opening <think> and the first </think>; the whole text if it never closes. */
  thinking: string;
  /** Text after </think> (empty when the thinking never closes). */
  summary: string;
  /** Exactly one </think>. */
  closed: boolean;
}

const CLOSE = '</think>';
/** Markup that does not belong inside an R1-format reasoning or summary: other tags, chat role markers, special tokens. */
const FOREIGN = /<\/?(?:think|answer)>|<｜|｜>|\b(?:User|Assistant):/;

/** Splits a completion (with or without its opening "<think>\n") into reasoning and summary. */
export function parseR1(completion: string): R1Parts {
  let text = completion.replace(/^\s*<think>\n?/, '');
  const i = text.indexOf(CLOSE);
  if (i < 0) return { thinking: text, summary: '', closed: false };
  const closed = text.indexOf(CLOSE, i + CLOSE.length) < 0;
  const thinking = text.slice(0, i);
  text = text.slice(i + CLOSE.length);
  return { thinking: thinking.replace(/^\n+|\n+$/g, ''), summary: text.trim(), closed };
}

/** The summary of a reasoning answer. */
export function answerSummary(answer: string): string {
  return `The answer is ${answer}.`;
}

/** A whole R1-format response: reasoning, then the summary (the trained target of an SFT example). */
export function r1Response(thinking: string, summary: string): string {
  return `<think>\n${thinking}\n</think>\n\n${summary}`;
}

/** The X of a one-line summary "The answer is X." (case-insensitive, final period optional), or null. */
export function summaryAnswer(summary: string): string | null {
  const s = summary.trim();
  if (s.includes('\n')) return null;
  const m = /^the answer is\s+(.+?)\s*\.?$/i.exec(s);
  return m ? (m[1] as string).trim() || null : null;
}

/** True when text carries markup of another format (answer tags, a second think tag, chat role markers). */
export function hasForeignMarkup(text: string): boolean {
  return FOREIGN.test(text);
}

/** Well-formed reasoning answer: one </think>, non-empty reasoning, a one-line "The answer is X." summary, no foreign markup. */
export function r1FormatOk(completion: string): boolean {
  const p = parseR1(completion);
  return p.closed && p.thinking.trim().length > 0 && summaryAnswer(p.summary) !== null && !hasForeignMarkup(p.thinking) && !hasForeignMarkup(p.summary);
}

/** Well-formed general reply: one </think> (the reasoning may be empty), a non-empty summary without foreign markup. */
export function r1ReplyOk(completion: string): boolean {
  const p = parseR1(completion);
  return p.closed && p.summary.length > 0 && !hasForeignMarkup(p.summary) && !hasForeignMarkup(p.thinking);
}

/** The strict verdict on an R1-format completion: shape + the task's verifier on the summary's answer. */
export function r1Verify(problem: Problem, completion: string): VerifyResult {
  const p = parseR1(completion);
  const extracted = p.closed ? summaryAnswer(p.summary) : null;
  const formatOk = r1FormatOk(completion);
  const correct = formatOk && extracted !== null && getTask(problem.family).check(problem, extracted);
  return { correct, formatOk, extracted };
}
