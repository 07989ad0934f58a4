// Sorting a list of integers ascending. Difficulty 1..5: 3, 4, 5, 5, 6 numbers; ranges grow from
// 0..99 to -999..999 (negative from level 4). Worked solution: selection sort, taking the smallest remaining each line.

import { lastIntegerList, parseIntegerList } from '../answers.js';
import { metaInts } from '../meta.js';
import { Rng, hashSeed } from '../rng.js';
import type { Problem, TaskFamilySpec, WorkedSolution } from '../types.js';
import { checkDifficulty } from './add.js';

const DIFFICULTIES = [1, 2, 3, 4, 5] as const;
const SPEC: Record<number, { n: number; lo: number; hi: number }> = {
  1: { n: 3, lo: 0, hi: 99 },
  2: { n: 4, lo: 0, hi: 99 },
  3: { n: 5, lo: 0, hi: 999 },
  4: { n: 5, lo: -999, hi: 999 },
  5: { n: 6, lo: -999, hi: 999 },
};

function generate(seed: number, difficulty: number): Problem {
  checkDifficulty('sort', difficulty, DIFFICULTIES);
  const rng = new Rng(hashSeed('sort', difficulty, seed));
  const { n, lo, hi } = SPEC[difficulty] as { n: number; lo: number; hi: number };
  const list = Array.from({ length: n }, () => rng.int(lo, hi));
  const sorted = [...list].sort((x, y) => x - y);
  return { family: 'sort', difficulty, seed, prompt: `Sort in ascending order: ${list.join(', ')}`, answer: sorted.join(', '), meta: { list } };
}

function work(p: Problem): WorkedSolution {
  const left = metaInts(p, 'list');
  const lines = ['take the smallest remaining number each time'];
  const out: number[] = [];
  while (left.length > 1) {
    let best = 0;
    for (let i = 1; i < left.length; i++) if ((left[i] as number) < (left[best] as number)) best = i;
    const v = left[best] as number;
    lines.push(`${left.join(', ')}: smallest ${v}`);
    out.push(v);
    left.splice(best, 1);
  }
  out.push(...left);
  lines.push(`sorted: ${out.join(', ')}`);
  return { trace: lines.join('\n'), answer: out.join(', ') };
}

/** Sorting a short list of integers. */
export const sort: TaskFamilySpec = {
  name: 'sort',
  description: 'sort a list of integers ascending, worked as selection sort',
  difficulties: DIFFICULTIES,
  generate,
  work,
  check: (p, answer) => {
    const got = parseIntegerList(answer);
    const want = metaInts(p, 'list').sort((x, y) => x - y);
    return got !== null && got.length === want.length && got.every((v, i) => v === BigInt(want[i] as number));
  },
  lenient: lastIntegerList,
};
