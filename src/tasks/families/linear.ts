// One-variable linear equations with an integer solution. Difficulty 1: x ± b = c; 2: a x + b = c
// with small positive a, b; 3 and 4: negative and larger coefficients; 5: x on both sides,
// a x + b = c x + d. Worked solution: the algebra steps (move terms, divide).

import { lastInteger, parseInteger } from '../answers.js';
import { metaInt } from '../meta.js';
import { Rng, hashSeed } from '../rng.js';
import type { Problem, TaskFamilySpec, WorkedSolution } from '../types.js';
import { checkDifficulty } from './add.js';

const DIFFICULTIES = [1, 2, 3, 4, 5] as const;

/** "3x", "x", "-x", "-12x" */
function xTerm(a: number): string {
  return a === 1 ? 'x' : a === -1 ? '-x' : `${a}x`;
}

/** "3x + 5", "3x - 5", "3x" */
function side(a: number, b: number): string {
  if (a === 0) return String(b);
  if (b === 0) return xTerm(a);
  return `${xTerm(a)} ${b < 0 ? '-' : '+'} ${Math.abs(b)}`;
}

function nonZero(rng: Rng, lo: number, hi: number): number {
  const v = rng.int(lo, hi);
  return rng.chance(0.5) ? v : -v;
}

function generate(seed: number, difficulty: number): Problem {
  checkDifficulty('linear', difficulty, DIFFICULTIES);
  const rng = new Rng(hashSeed('linear', difficulty, seed));
  let a: number;
  let b: number;
  let c = 0; // coefficient of x on the right (difficulty 5 only)
  let x: number;
  switch (difficulty) {
    case 1:
      a = 1;
      b = nonZero(rng, 1, 60);
      x = rng.int(0, 60);
      break;
    case 2:
      a = rng.int(2, 9);
      b = rng.int(1, 40);
      x = rng.int(0, 30);
      break;
    case 3:
      a = nonZero(rng, 2, 12);
      b = nonZero(rng, 1, 60);
      x = rng.int(-20, 20);
      break;
    case 4:
      a = nonZero(rng, 2, 25);
      b = nonZero(rng, 1, 200);
      x = rng.int(-50, 50);
      break;
    default:
      a = nonZero(rng, 2, 15);
      do c = nonZero(rng, 1, 15);
      while (c === a);
      b = nonZero(rng, 1, 100);
      x = rng.int(-30, 30);
  }
  const d = a * x + b - c * x; // right-hand constant
  const prompt = `Solve for x: ${side(a, b)} = ${side(c, d)}`;
  return { family: 'linear', difficulty, seed, prompt, answer: String(x), meta: { a, b, c, d } };
}

function work(p: Problem): WorkedSolution {
  let a = metaInt(p, 'a');
  const b = metaInt(p, 'b');
  const c = metaInt(p, 'c');
  let d = metaInt(p, 'd');
  const lines = [`${side(a, b)} = ${side(c, d)}`];
  if (c !== 0) {
    const verb = c > 0 ? `subtract ${xTerm(c)}` : `add ${xTerm(-c)}`;
    a -= c;
    lines.push(`${verb} ${c > 0 ? 'from' : 'to'} both sides: ${side(a, b)} = ${d}`);
  }
  if (b !== 0) {
    const verb = b > 0 ? `subtract ${b} from` : `add ${-b} to`;
    d -= b;
    lines.push(`${verb} both sides: ${xTerm(a)} = ${d}`);
  }
  const x = d / a;
  if (a !== 1) lines.push(`divide both sides by ${a}: x = ${x}`);
  return { trace: lines.join('\n'), answer: String(x) };
}

/** Linear equations in one variable. */
export const linear: TaskFamilySpec = {
  name: 'linear',
  description: 'one-variable linear equations a x + b = c (x on both sides at level 5), worked as algebra steps',
  difficulties: DIFFICULTIES,
  generate,
  work,
  check: (p, answer) => {
    const a = metaInt(p, 'a');
    const b = metaInt(p, 'b');
    const c = metaInt(p, 'c');
    const d = metaInt(p, 'd');
    const s = answer.trim().replace(/^x\s*=\s*/, '');
    const x = parseInteger(s);
    return x !== null && BigInt(a) * x + BigInt(b) === BigInt(c) * x + BigInt(d);
  },
  lenient: lastInteger,
};
