// Multiplication. Difficulty 1..5: 2×1, 2×2, 3×2, 3×3, 4×3 digits.
// Worked solution: one partial product per digit of the second factor, shifted, then summed.

import { lastInteger, parseInteger } from '../answers.js';
import { metaInt } from '../meta.js';
import { Rng, hashSeed } from '../rng.js';
import type { Problem, TaskFamilySpec, WorkedSolution } from '../types.js';
import { checkDifficulty, digitsLSB } from './add.js';

const DIFFICULTIES = [1, 2, 3, 4, 5] as const;
const SIZES: Record<number, [number, number]> = { 1: [2, 1], 2: [2, 2], 3: [3, 2], 4: [3, 3], 5: [4, 3] };

function generate(seed: number, difficulty: number): Problem {
  checkDifficulty('mul', difficulty, DIFFICULTIES);
  const rng = new Rng(hashSeed('mul', difficulty, seed));
  const [na, nb] = SIZES[difficulty] as [number, number];
  const a = rng.digits(na);
  const b = nb === 1 ? rng.int(2, 9) : rng.digits(nb);
  return { family: 'mul', difficulty, seed, prompt: `Compute ${a} * ${b}`, answer: String(a * b), meta: { a, b } };
}

function work(p: Problem): WorkedSolution {
  const a = metaInt(p, 'a');
  const b = metaInt(p, 'b');
  const db = digitsLSB(b);
  if (db.length === 1) {
    return { trace: `${a} * ${b} = ${a * b}`, answer: String(a * b) };
  }
  const lines = [`multiply ${a} by each digit of ${b} from the right`];
  const partials: number[] = [];
  db.forEach((d, i) => {
    const pp = a * d;
    const shifted = pp * 10 ** i;
    partials.push(shifted);
    lines.push(i === 0 ? `${a} * ${d} = ${pp}` : `${a} * ${d} = ${pp}, shifted ${i}: ${shifted}`);
  });
  let total = partials[0] as number;
  for (let i = 1; i < partials.length; i++) {
    const next = total + (partials[i] as number);
    lines.push(`${total} + ${partials[i]} = ${next}`);
    total = next;
  }
  lines.push(`${a} * ${b} = ${total}`);
  return { trace: lines.join('\n'), answer: String(total) };
}

/** Multiplication of two multi-digit numbers. */
export const mul: TaskFamilySpec = {
  name: 'mul',
  description: 'multi-digit multiplication, worked with partial products',
  difficulties: DIFFICULTIES,
  generate,
  work,
  check: (p, answer) => parseInteger(answer) === BigInt(metaInt(p, 'a')) * BigInt(metaInt(p, 'b')),
  lenient: lastInteger,
};
