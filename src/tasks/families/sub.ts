// Subtraction; the result may be negative. Difficulty d: operands of up to d + 1 digits.
// Worked solution: the first line compares the operands and names both ("97 is at least 15, so …",
// "21 is less than 56, so …"), so the sign is decided next to the digits it depends on; if a < b,
// compute b - a and negate; column subtraction from the right, where
// "column 1: 12 - 4 = 8, borrow 1" borrows from the next column and that column then subtracts the 1.

import { lastInteger, parseInteger } from '../answers.js';
import { metaInt } from '../meta.js';
import { Rng, hashSeed } from '../rng.js';
import type { Problem, TaskFamilySpec, WorkedSolution } from '../types.js';
import { checkDifficulty, digitsLSB } from './add.js';

const DIFFICULTIES = [1, 2, 3, 4, 5] as const;

function generate(seed: number, difficulty: number): Problem {
  checkDifficulty('sub', difficulty, DIFFICULTIES);
  const rng = new Rng(hashSeed('sub', difficulty, seed));
  const n = difficulty + 1;
  let a = rng.digits(n);
  let b = rng.digits(rng.int(1, n));
  if (rng.chance(0.5)) [a, b] = [b, a];
  return { family: 'sub', difficulty, seed, prompt: `Compute ${a} - ${b}`, answer: String(a - b), meta: { a, b } };
}

/** Column subtraction of top - bottom (top ≥ bottom), one line per column. */
function columnSubtract(top: number, bottom: number, lines: string[]): number {
  const dt = digitsLSB(top);
  const db = digitsLSB(bottom);
  const out: number[] = [];
  let borrow = 0;
  for (let i = 0; i < dt.length; i++) {
    const x = dt[i] as number;
    const y = db[i] ?? 0;
    const v = x - borrow - y;
    const less = borrow ? ` - ${borrow}` : '';
    if (v < 0) {
      lines.push(`column ${i + 1}: ${x + 10}${less} - ${y} = ${v + 10}, borrow 1`);
      out.push(v + 10);
      borrow = 1;
    } else {
      lines.push(`column ${i + 1}: ${x}${less} - ${y} = ${v}`);
      out.push(v);
      borrow = 0;
    }
  }
  return Number(out.reverse().join(''));
}

function work(p: Problem): WorkedSolution {
  const a = metaInt(p, 'a');
  const b = metaInt(p, 'b');
  const lines: string[] = [];
  let answer: string;
  if (a >= b) {
    lines.push(`${a} is at least ${b}, so subtract column by column from the right`);
    answer = String(columnSubtract(a, b, lines));
  } else {
    lines.push(`${a} is less than ${b}, so compute ${b} - ${a} and make it negative`);
    const d = columnSubtract(b, a, lines);
    lines.push(`${b} - ${a} = ${d}`);
    answer = String(-d);
  }
  lines.push(`${a} - ${b} = ${answer}`);
  return { trace: lines.join('\n'), answer };
}

/** Subtraction of two multi-digit numbers, possibly negative. */
export const sub: TaskFamilySpec = {
  name: 'sub',
  description: 'multi-digit subtraction (results may be negative), worked with borrows',
  difficulties: DIFFICULTIES,
  generate,
  work,
  check: (p, answer) => parseInteger(answer) === BigInt(metaInt(p, 'a') - metaInt(p, 'b')),
  lenient: lastInteger,
};
