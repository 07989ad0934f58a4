// The R1-Zero output format, judged without mercy: a completion is well-formed only if it is
// exactly <think>…</think> followed by <answer>…</answer> (whitespace around allowed), each tag
// appearing once and both parts non-empty. The extracted answer is the content of the LAST
// complete <answer>…</answer> pair, as TinyZero's countdown scorer does; an answer written outside
// the tags is never extracted (lenientExtract exists for measuring that separately).

const TAGS = ['<think>', '</think>', '<answer>', '</answer>'] as const;
const WELL_FORMED = /^\s*<think>([\s\S]*)<\/think>\s*<answer>([\s\S]*)<\/answer>\s*$/;
const ANSWER_PAIR = /<answer>([\s\S]*?)<\/answer>/g;

function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Content of the last <answer>…</answer> pair, or null if the completion has none. */
export function extractAnswer(completion: string): string | null {
  let last: string | null = null;
  for (const m of completion.matchAll(ANSWER_PAIR)) last = m[1] as string;
  return last;
}

/** True iff the completion is exactly <think>…</think> <answer>…</answer>, each tag once, both parts non-blank. */
export function isWellFormed(completion: string): boolean {
  for (const t of TAGS) if (count(completion, t) !== 1) return false;
  const m = WELL_FORMED.exec(completion);
  if (!m) return false;
  return (m[1] as string).trim().length > 0 && (m[2] as string).trim().length > 0;
}

/** Removes every think/answer tag (used by lenient extraction, which ignores the format). */
export function stripTags(text: string): string {
  return text.replace(/<\/?(?:think|answer)>/g, '\n');
}
