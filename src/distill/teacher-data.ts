// The teacher's side of distillation as roles with one input and one output:
//   sampleTeacher(teacher, prompts, settings) → { sampled, kept, stats }   k samples per prompt through the
//       batched generator, kept = verified correct and readable (R1's rejection filters, src/rl/r1/rejection.ts)
//   distillRows(mode, kept, problems) → SftRow[]   the student's training rows of a mode:
//       trace-sft, logit-kd   the kept traces whole (reasoning, </think>, summary answer)
//       answer-sft            the kept traces' summary answers with an empty reasoning block (no chain of thought)
//       gkd                   the prompts only (the student writes its own responses during training)
import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../tokenizer/index.js';
import type { Problem } from '../tasks/index.js';
import { Generator } from '../infer/generator.js';
import { cleanR1Zero, collect, filterTraces } from '../rl/r1/rejection.js';
import type { FilterOptions, FilterStats, Trace } from '../rl/r1/rejection.js';
import { traceRow } from '../rl/r1/data.js';
import type { SftRow } from '../rl/r1/data.js';
import { parseR1, r1Response } from '../rl/r1/format.js';
import type { DistillMode } from './config.js';

/** How the teacher is sampled. */
export interface TeacherSampling {
  k: number;
  temperature: number;
  maxNewTokens: number;
  template: 'default' | 'r1zero';
  filter: FilterOptions;
  seed: number;
}

/** The teacher's samples, the kept ones, why the others were dropped, and the teacher compute spent. */
export interface TeacherSamples {
  sampled: Trace[];
  kept: Trace[];
  stats: FilterStats;
  /** Tokens the teacher generated (its decode compute). */
  generatedTokens: number;
  promptTokens: number;
}

/** k samples per problem from the teacher (batched), filtered by R1's rejection-sampling filters. */
export async function sampleTeacher(teacher: CausalLM, tok: Tokenizer, problems: readonly Problem[], o: TeacherSampling): Promise<TeacherSamples> {
  teacher.eval();
  const gen = new Generator(teacher, { maxBatch: 64, maxLen: Math.min(512, teacher.cfg.maxPositionEmbeddings) });
  const sampled = await collect(gen, tok, problems.map((p) => ({ problem: p, messages: [{ role: 'user' as const, content: p.prompt }] })), {
    samples: o.k, temperature: o.temperature, maxNewTokens: o.maxNewTokens, template: o.template, seed: o.seed, source: o.template === 'r1zero' ? 'r1zero' : 'policy',
  });
  // An R1-Zero teacher answers in <think>…</think> <answer>…</answer>: verified ones are rewritten into R1's format first.
  const candidates = o.template === 'r1zero' ? sampled.map(cleanR1Zero).filter((t): t is Trace => t !== null) : sampled;
  const { kept, stats } = filterTraces(candidates, o.filter);
  if (o.template === 'r1zero') {
    stats.incorrect += sampled.length - candidates.length;
    stats.input = sampled.length;
  }
  return { sampled, kept, stats, generatedTokens: gen.stats.generatedTokens, promptTokens: gen.stats.promptTokens };
}

/** The response of an answer-only row: the kept trace's summary with an empty reasoning block. */
export function answerOnlyResponse(t: Trace): string {
  return r1Response('', parseR1(t.completion).summary);
}

/** The student's training rows of a mode (see the header). */
export function distillRows(mode: DistillMode, kept: readonly Trace[], problems: readonly Problem[]): SftRow[] {
  if (mode === 'gkd') return problems.map((p) => ({ messages: [{ role: 'user', content: p.prompt }, { role: 'assistant', content: '' }], source: 'prompt' }));
  if (mode === 'answer-sft') {
    // k kept samples of a prompt usually share their answer: one row per distinct (prompt, answer)
    const seen = new Set<string>();
    const rows: SftRow[] = [];
    for (const t of kept) {
      const response = answerOnlyResponse(t);
      const key = `${JSON.stringify(t.messages)}\u0000${response}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push({ messages: [...t.messages, { role: 'assistant', content: response }], source: 'teacher:answer' });
    }
    return rows;
  }
  return kept.map((t) => ({ ...traceRow(t), source: 'teacher:trace' }));
}
