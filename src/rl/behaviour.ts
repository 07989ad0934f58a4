// What the thinking does, step by step of an RL run, from the completions GRPO logged
// (`logCompletions` → <run>/completions.jsonl). R1-Zero's signature (R1 paper §2.2.4) is thinking
// that grows longer during RL and learns to re-check itself. In tinyseek's closed world the worked
// solutions have two kinds of steps one can count:
//   - a column step of arithmetic ("column 3: 6 + 6 = 12, write 2, carry 1"): working a problem out
//     rather than stating an answer;
//   - a tried candidate in a search ("try 9 * 9 = 81, left 1, 81: dead end"): trying and verifying,
//     with "dead end" the candidate checked and rejected;
// and R1's own re-check words ("wait", "verify", "check", "double-check", "re-evaluate"), which no
// training document contains, so any appearance is the model's own.
import fs from 'node:fs';

/** Counts in one completion's thinking (the text inside <think>, or the whole completion without tags). */
export interface ThinkingCounts {
  /** Characters of thinking. */
  chars: number;
  /** Column steps of arithmetic. */
  columnSteps: number;
  /** Candidates tried, and those rejected after checking them. */
  tries: number;
  deadEnds: number;
  /** R1's re-check words. */
  recheckWords: number;
}

const RECHECK = /\b(wait|verify|verif(?:y|ied|ication)|check(?:ing)?|double-check|re-?check|re-?evaluate)\b/gi;

/** The thinking of a completion: inside <think>…</think> (to the end if unclosed), else everything before <answer>. */
export function thinkingOf(completion: string): string {
  const open = completion.indexOf('<think>');
  if (open >= 0) {
    const close = completion.indexOf('</think>', open);
    return completion.slice(open + '<think>'.length, close >= 0 ? close : undefined);
  }
  const ans = completion.indexOf('<answer>');
  return ans >= 0 ? completion.slice(0, ans) : completion;
}

/** The counts of one completion. */
export function thinkingCounts(completion: string): ThinkingCounts {
  const thinking = thinkingOf(completion);
  const lines = thinking.split('\n');
  return {
    chars: thinking.trim().length,
    columnSteps: lines.filter((l) => /^\s*column \d+:/.test(l)).length,
    tries: lines.filter((l) => /^\s*try /.test(l)).length,
    deadEnds: (thinking.match(/dead end/g) ?? []).length,
    recheckWords: (thinking.match(RECHECK) ?? []).length,
  };
}

/** One logged completion (the fields behaviour curves read). */
interface Logged { step: number; completion: string; tokens: number; rewards?: Record<string, number>; family?: string }

/** Per-step means over the logged completions. */
export interface BehaviourCurves {
  step: number[];
  /** Completion tokens. */
  tokens: number[];
  /** Share of completions that are correct (the accuracy reward > 0), when logged. */
  accuracy: number[];
  /** Column steps and tried candidates per completion. */
  column_steps: number[];
  tries: number[];
  /** Share of completions that reject at least one candidate ("dead end"). */
  dead_end_rate: number[];
  /** Share of completions with at least one of R1's re-check words. */
  recheck_rate: number[];
  /** Completions behind each point. */
  n: number[];
}

/** Reads <run>/completions.jsonl (skipping a torn last line) into per-step curves; `families` filters. */
export function behaviourCurves(file: string, families?: readonly string[]): BehaviourCurves {
  const byStep = new Map<number, Logged[]>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let rec: Logged;
    try {
      rec = JSON.parse(line) as Logged;
    } catch {
      continue; // a line torn by a crash
    }
    if (typeof rec.step !== 'number' || typeof rec.completion !== 'string') continue;
    if (families && rec.family !== undefined && !families.includes(rec.family)) continue;
    (byStep.get(rec.step) ?? byStep.set(rec.step, []).get(rec.step)!).push(rec);
  }
  const out: BehaviourCurves = { step: [], tokens: [], accuracy: [], column_steps: [], tries: [], dead_end_rate: [], recheck_rate: [], n: [] };
  for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
    const recs = byStep.get(step)!;
    const counts = recs.map((r) => thinkingCounts(r.completion));
    const mean = (f: (i: number) => number) => recs.reduce((a, _, i) => a + f(i), 0) / recs.length;
    out.step.push(step);
    out.tokens.push(mean((i) => recs[i]!.tokens));
    out.accuracy.push(mean((i) => ((recs[i]!.rewards?.accuracy ?? 0) > 0 ? 1 : 0)));
    out.column_steps.push(mean((i) => counts[i]!.columnSteps));
    out.tries.push(mean((i) => counts[i]!.tries));
    out.dead_end_rate.push(mean((i) => (counts[i]!.deadEnds > 0 ? 1 : 0)));
    out.recheck_rate.push(mean((i) => (counts[i]!.recheckWords > 0 ? 1 : 0)));
    out.n.push(recs.length);
  }
  return out;
}
