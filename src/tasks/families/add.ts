// Multi-digit addition. Difficulty d: the longer operand has d + 1 digits, the other 1..d + 1.
// Worked solution: column addition from the right, one line per column with its carry.

import { lastInteger, parseInteger } from '../answers.js';
import { TaskError } from '../errors.js';
import { metaInt } from '../meta.js';
import { Rng, hashSeed } from '../rng.js';
import type { Problem, TaskFamilySpec, WorkedSolution } from '../types.js';

const DIFFICULTIES = [1, 2, 3, 4, 5] as const;

/** Digits of n, least significant first. */
export function digitsLSB(n: number): number[] {
  const s = String(n);
  const out: number[] = [];
  for (let i = s.length - 1; i >= 0; i--) out.push(s.charCodeAt(i) - 48);
  return out;
}

/** Throws unless difficulty is one of the family's levels. */
export function checkDifficulty(family: string, difficulty: number, levels: readonly number[]): void {
  if (!levels.includes(difficulty)) {
    throw new TaskError(`${family}: expected difficulty in ${levels.join(', ')}; found ${difficulty}`);
  }
}

function generate(seed: number, difficulty: number): Problem {
  checkDifficulty('add', difficulty, DIFFICULTIES);
  const rng = new Rng(hashSeed('add', difficulty, seed));
  const n = difficulty + 1;
  let a = rng.digits(n);
  let b = rng.digits(rng.int(1, n));
  if (rng.chance(0.5)) [a, b] = [b, a];
  return { family: 'add', difficulty, seed, prompt: `Compute ${a} + ${b}`, answer: String(a + b), meta: { a, b } };
}

/** Column addition: one line per column, right to left. */
function work(p: Problem): WorkedSolution {
  const a = metaInt(p, 'a');
  const b = metaInt(p, 'b');
  const da = digitsLSB(a);
  const db = digitsLSB(b);
  const lines = ['add column by column from the right'];
  const out: number[] = [];
  let carry = 0;
  for (let i = 0; i < Math.max(da.length, db.length); i++) {
    const x = da[i] ?? 0;
    const y = db[i] ?? 0;
    const s = x + y + carry;
    const terms = carry ? `${x} + ${y} + ${carry}` : `${x} + ${y}`;
    carry = s >= 10 ? 1 : 0;
    out.push(s % 10);
    lines.push(`column ${i + 1}: ${terms} = ${s}, write ${s % 10}${carry ? ', carry 1' : ''}`);
  }
  if (carry) {
    out.push(1);
    lines.push('the last carry 1 is the leading digit');
  }
  const answer = String(Number(out.reverse().join('')));
  lines.push(`${a} + ${b} = ${answer}`);
  return { trace: lines.join('\n'), answer };
}

/** Addition of two multi-digit numbers. */
export const add: TaskFamilySpec = {
  name: 'add',
  description: 'multi-digit addition, worked column by column with carries',
  difficulties: DIFFICULTIES,
  generate,
  work,
  check: (p, answer) => parseInteger(answer) === BigInt(metaInt(p, 'a') + metaInt(p, 'b')),
  lenient: lastInteger,
};
