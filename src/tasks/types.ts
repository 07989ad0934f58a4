// The shapes shared by every task family.

/** A value stored in a problem's metadata (JSON-safe). */
export type MetaValue = number | string | boolean | number[];

/** Family-specific data needed to verify and solve a problem (operands, numbers, target, …). */
export type ProblemMeta = Readonly<Record<string, MetaValue>>;

/** One generated problem. `generate(seed, difficulty)` of its family reproduces it exactly. */
export interface Problem {
  family: string;
  difficulty: number;
  seed: number;
  /** The question, without trailing punctuation (it reads well inside the R1-Zero template "User: prompt. Assistant:"). */
  prompt: string;
  /** The reference answer in canonical form ("579", "3, 5, 9", "(50 + 25) + 6" for countdown). */
  answer: string;
  meta: ProblemMeta;
}

/** A worked solution: the reasoning trace a careful solver would write, and the answer it arrives at. */
export interface WorkedSolution {
  trace: string;
  answer: string;
}

/** The verdict on a completion. */
export interface VerifyResult {
  /** The extracted answer solves the problem. */
  correct: boolean;
  /** The completion is exactly <think>…</think> then <answer>…</answer>, once each, both non-empty. */
  formatOk: boolean;
  /** Content of the last <answer>…</answer>, or null if there is none. */
  extracted: string | null;
}

/** What a family module implements; the registry adds solve/verify/lenientExtract on top. */
export interface TaskFamilySpec {
  name: string;
  description: string;
  /** Difficulty levels, easiest first. */
  difficulties: readonly number[];
  /** Generates a problem deterministically from a seed. */
  generate(seed: number, difficulty: number): Problem;
  /** Solves a problem step by step (independently of problem.answer). */
  work(problem: Problem): WorkedSolution;
  /** Whether an answer text (already trimmed, tags removed) solves the problem. */
  check(problem: Problem, answer: string): boolean;
  /** The last answer-shaped thing in free text (a number, a list, an expression), or null. */
  lenient(text: string): string | null;
}

/** A task family with its full interface. */
export interface TaskFamily extends TaskFamilySpec {
  /** The worked trace (the text that goes between <think> and </think>). */
  solve(problem: Problem): string;
  /** Scores a completion: format, extracted answer, correctness. */
  verify(problem: Problem, completion: string): VerifyResult;
}
