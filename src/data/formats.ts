// How problems become corpus documents. Every format is a Jinja template (prompt building goes
// through templates, never string concatenation in code):
//   plain    Problem: … / Solution: <trace> / Answer: …          (worked)
//   r1zero   the R1-Zero conversation: preamble, "User: prompt. Assistant:", then
//            <think>\n<trace>\n</think> <answer>…</answer>         (worked)
//   bare     Problem: … / Answer: …                               (bare)
//   text     problem statements, one per line                     (text)
//   prose    English paragraphs, blank-line separated              (prose; src/data/prose.ts)
// Documents carry no BOS/EOS: the packer that turns the corpus into training sequences adds them.

import { applyChatTemplate, renderR1ZeroCompletion, renderTemplate } from '../tokenizer/index.js';

/** A document format. */
export type DocFormat = 'plain' | 'r1zero' | 'bare' | 'text' | 'prose';

/** The Jinja source of the plain worked-solution format. */
export const PLAIN_WORKED_TEMPLATE = 'Problem: {{ prompt }}\nSolution:\n{{ trace }}\nAnswer: {{ answer }}';
/** The Jinja source of the bare question → answer format. */
export const BARE_TEMPLATE = 'Problem: {{ prompt }}\nAnswer: {{ answer }}';
/** The Jinja source of the plain problem-text format. */
export const TEXT_TEMPLATE = "{{ prompts | join('\\n') }}";

/** The prompt side of each format, up to where the model continues (for evaluation and RL). */
export const PROMPT_TEMPLATES: Readonly<Record<'plain' | 'bare', string>> = {
  plain: 'Problem: {{ prompt }}\nSolution:\n',
  bare: 'Problem: {{ prompt }}\nAnswer:',
};

/** Renders the prompt a model continues in a format: plain ends "Solution:\n", bare "Answer:", r1zero "Assistant:" (no bos). */
export function renderPrompt(format: 'plain' | 'bare' | 'r1zero', prompt: string): string {
  if (format === 'r1zero') return applyChatTemplate([{ role: 'user', content: prompt }], { template: 'r1zero', bosToken: '' });
  return renderTemplate(PROMPT_TEMPLATES[format], { prompt });
}

/** The answer of a plain/bare-format continuation: the rest of the first "Answer:" line, or null. */
export function extractPlainAnswer(continuation: string): string | null {
  const m = /(?:^|\n)Answer:([^\n]*)/.exec(continuation);
  return m ? (m[1] as string).trim() : null;
}

/** A worked document: "Problem/Solution/Answer" or the R1-Zero conversation. */
export function renderWorked(format: 'plain' | 'r1zero', prompt: string, trace: string, answer: string): string {
  if (format === 'plain') return renderTemplate(PLAIN_WORKED_TEMPLATE, { prompt, trace, answer });
  return applyChatTemplate(
    [
      { role: 'user', content: prompt },
      { role: 'assistant', content: renderR1ZeroCompletion(trace, answer) },
    ],
    { template: 'r1zero', bosToken: '', eosToken: '' },
  );
}

/** A bare document: the problem and its answer, no reasoning. */
export function renderBare(prompt: string, answer: string): string {
  return renderTemplate(BARE_TEMPLATE, { prompt, answer });
}

/** A text document: problem statements only. */
export function renderText(prompts: readonly string[]): string {
  return renderTemplate(TEXT_TEMPLATE, { prompts: [...prompts] });
}
