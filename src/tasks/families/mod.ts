// Modular arithmetic. Difficulty 1: a mod m; 2: (a + b) mod m; 3: (a * b) mod m;
// 4 and 5: (a * b + c) mod m with larger numbers. Worked solution: reduce every operand mod m
// first (writing the division a = q * m + r), combine the small residues, reduce again.

import { lastInteger, parseInteger } from '../answers.js';
import { metaInt } from '../meta.js';
import { Rng, hashSeed } from '../rng.js';
import type { Problem, TaskFamilySpec, WorkedSolution } from '../types.js';
import { checkDifficulty } from './add.js';

const DIFFICULTIES = [1, 2, 3, 4, 5] as const;

type Form = 'a' | 'a+b' | 'a*b' | 'a*b+c';
const FORM: Record<number, Form> = { 1: 'a', 2: 'a+b', 3: 'a*b', 4: 'a*b+c', 5: 'a*b+c' };

function generate(seed: number, difficulty: number): Problem {
  checkDifficulty('mod', difficulty, DIFFICULTIES);
  const rng = new Rng(hashSeed('mod', difficulty, seed));
  const form = FORM[difficulty] as Form;
  let a: number;
  let b = 0;
  let c = 0;
  let m: number;
  let prompt: string;
  let value: number;
  switch (difficulty) {
    case 1:
      a = rng.int(10, 999);
      m = rng.int(2, 12);
      prompt = `Compute ${a} mod ${m}`;
      value = a;
      break;
    case 2:
      a = rng.int(10, 999);
      b = rng.int(10, 999);
      m = rng.int(3, 19);
      prompt = `Compute (${a} + ${b}) mod ${m}`;
      value = a + b;
      break;
    case 3:
      a = rng.int(10, 999);
      b = rng.int(10, 999);
      m = rng.int(3, 29);
      prompt = `Compute (${a} * ${b}) mod ${m}`;
      value = a * b;
      break;
    default: {
      const big = difficulty === 5;
      a = rng.int(big ? 100 : 10, big ? 9999 : 999);
      b = rng.int(big ? 100 : 10, big ? 9999 : 999);
      c = rng.int(10, big ? 9999 : 999);
      m = rng.int(big ? 11 : 7, big ? 99 : 49);
      prompt = `Compute (${a} * ${b} + ${c}) mod ${m}`;
      value = a * b + c;
    }
  }
  return { family: 'mod', difficulty, seed, prompt, answer: String(value % m), meta: { form, a, b, c, m } };
}

function reduce(x: number, m: number, lines: string[]): number {
  const r = x % m;
  const q = Math.floor(x / m);
  lines.push(`${x} = ${q} * ${m} + ${r}, so ${x} mod ${m} = ${r}`);
  return r;
}

function work(p: Problem): WorkedSolution {
  const form = p.meta.form as Form;
  const a = metaInt(p, 'a');
  const b = metaInt(p, 'b');
  const c = metaInt(p, 'c');
  const m = metaInt(p, 'm');
  const lines: string[] = [];
  const ra = reduce(a, m, lines);
  if (form === 'a') return { trace: lines.join('\n'), answer: String(ra) };
  lines.length = 0;
  lines.push(`reduce each number mod ${m} first`);
  reduce(a, m, lines);
  const rb = reduce(b, m, lines);
  let r: number;
  if (form === 'a+b') {
    lines.push(`${ra} + ${rb} = ${ra + rb}`);
    r = ra + rb >= m ? reduce(ra + rb, m, lines) : ra + rb;
  } else {
    lines.push(`${ra} * ${rb} = ${ra * rb}`);
    r = ra * rb >= m ? reduce(ra * rb, m, lines) : ra * rb;
    if (form === 'a*b+c') {
      const rc = reduce(c, m, lines);
      lines.push(`${r} + ${rc} = ${r + rc}`);
      r = r + rc >= m ? reduce(r + rc, m, lines) : r + rc;
    }
  }
  lines.push(`the answer is ${r}`);
  return { trace: lines.join('\n'), answer: String(r) };
}

function expected(p: Problem): number {
  const form = p.meta.form as Form;
  const a = metaInt(p, 'a');
  const b = metaInt(p, 'b');
  const c = metaInt(p, 'c');
  const m = metaInt(p, 'm');
  const v = form === 'a' ? a : form === 'a+b' ? a + b : form === 'a*b' ? a * b : a * b + c;
  return v % m;
}

/** Modular arithmetic on small expressions. */
export const mod: TaskFamilySpec = {
  name: 'mod',
  description: 'modular arithmetic, e.g. (a * b + c) mod m, worked by reducing operands first',
  difficulties: DIFFICULTIES,
  generate,
  work,
  check: (p, answer) => parseInteger(answer) === BigInt(expected(p)),
  lenient: lastInteger,
};
