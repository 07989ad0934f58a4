// Countdown: reach a target with + - * / over given numbers, each used at most once.
// Difficulty 1..5: 2 numbers ≤ 50, 3 ≤ 20, 3 ≤ 50, 4 ≤ 25, 4 ≤ 60. Targets come from a random
// expression over the numbers (all of them, or all but one), so every problem is solvable.
// Worked solution: a depth-first search narrated as the promising first moves tried (closest to
// the target first), the dead ends met, and the path that reaches the target, ending in an
// expression. The verifier parses the expression itself (../expression.ts), never with eval.

import { MAX_EXPRESSION_LENGTH, evaluate, literals, parseExpression } from '../expression.js';
import { parseInteger } from '../answers.js';
import { TaskError } from '../errors.js';
import { metaInt, metaInts } from '../meta.js';
import { eqR, rat } from '../rational.js';
import { Rng, hashSeed } from '../rng.js';
import type { Problem, TaskFamilySpec, WorkedSolution } from '../types.js';
import { checkDifficulty } from './add.js';

const DIFFICULTIES = [1, 2, 3, 4, 5] as const;
const SPEC: Record<number, { n: number; max: number }> = {
  1: { n: 2, max: 50 },
  2: { n: 3, max: 20 },
  3: { n: 3, max: 50 },
  4: { n: 4, max: 25 },
  5: { n: 4, max: 60 },
};
const MAX_TARGET = 999;
const MAX_DEAD_ENDS_SHOWN = 3;

type Op = '+' | '-' | '*' | '/';
const PREC: Record<Op, number> = { '+': 1, '-': 1, '*': 2, '/': 2 };

/** A number on the board with the expression that produced it. */
interface Item {
  value: number;
  expr: string;
  prec: number; // 3 for a given number, else the precedence of its top operator
}

/** Combines x op y (x is the left operand) with as few parentheses as keep the value. */
function combine(x: Item, y: Item, op: Op): Item | null {
  let value: number;
  switch (op) {
    case '+':
      value = x.value + y.value;
      break;
    case '-':
      if (x.value <= y.value) return null;
      value = x.value - y.value;
      break;
    case '*':
      if (x.value === 1 || y.value === 1) return null;
      value = x.value * y.value;
      break;
    case '/':
      if (y.value <= 1 || x.value % y.value !== 0) return null;
      value = x.value / y.value;
      break;
  }
  const p = PREC[op];
  const l = x.prec < p ? `(${x.expr})` : x.expr;
  const r = y.prec < p || (y.prec === p && (op === '-' || op === '/')) ? `(${y.expr})` : y.expr;
  return { value, expr: `${l} ${op} ${r}`, prec: p };
}

function leaf(v: number): Item {
  return { value: v, expr: String(v), prec: 3 };
}

function generate(seed: number, difficulty: number): Problem {
  checkDifficulty('countdown', difficulty, DIFFICULTIES);
  const rng = new Rng(hashSeed('countdown', difficulty, seed));
  const { n, max } = SPEC[difficulty] as { n: number; max: number };
  for (let attempt = 0; ; attempt++) {
    const numbers = Array.from({ length: n }, () => rng.int(1, max));
    const k = n === 2 || rng.chance(0.5) ? n : n - 1;
    let items = rng.shuffle(numbers).slice(0, k).map(leaf);
    while (items.length > 1) {
      const order = rng.shuffle(items.map((_, i) => i));
      const i = order[0] as number;
      const j = order[1] as number;
      const [x, y] = (items[i] as Item).value >= (items[j] as Item).value ? [items[i] as Item, items[j] as Item] : [items[j] as Item, items[i] as Item];
      let made: Item | null = null;
      for (const op of rng.shuffle<Op>(['+', '-', '*', '/', '*', '-'])) {
        made = combine(x, y, op);
        if (made && made.value <= MAX_TARGET) break;
        made = null;
      }
      if (!made) made = combine(x, y, '+') as Item;
      items = items.filter((_, idx) => idx !== i && idx !== j);
      items.push(made);
    }
    const top = items[0] as Item;
    if (top.value >= 1 && top.value <= MAX_TARGET && !numbers.includes(top.value)) {
      const prompt = `Using the numbers ${numbers.join(', ')}, make ${top.value}. Use + - * / and each number at most once`;
      return { family: 'countdown', difficulty, seed, prompt, answer: top.expr, meta: { numbers, target: top.value } };
    }
    if (attempt > 1000) throw new TaskError(`countdown d${difficulty}: no valid target found in 1000 attempts from seed ${seed}`);
  }
}

/** All single moves from a board: pairs (larger first) combined with each operation. */
function moves(items: readonly Item[]): Array<{ i: number; j: number; op: Op; made: Item }> {
  const out: Array<{ i: number; j: number; op: Op; made: Item }> = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = 0; j < items.length; j++) {
      if (i === j) continue;
      const x = items[i] as Item;
      const y = items[j] as Item;
      if (x.value < y.value || (x.value === y.value && i > j)) continue;
      for (const op of ['+', '-', '*', '/'] as const) {
        const made = combine(x, y, op);
        if (made) out.push({ i, j, op, made });
      }
    }
  }
  return out;
}

interface Step {
  line: string;
  item: Item;
  board: Item[];
}

/** Depth-first search for a sequence of moves reaching target; memoizes boards that fail. */
function search(items: Item[], target: number, failed: Set<string>): Step[] | null {
  const key = items.map((x) => x.value).sort((a, b) => a - b).join(',');
  if (failed.has(key)) return null;
  for (const mv of moves(items)) {
    const board = items.filter((_, idx) => idx !== mv.i && idx !== mv.j).concat([mv.made]);
    const step = { line: `${(items[mv.i] as Item).value} ${mv.op} ${(items[mv.j] as Item).value} = ${mv.made.value}`, item: mv.made, board };
    if (mv.made.value === target) return [step];
    if (board.length > 1) {
      const rest = search(board, target, failed);
      if (rest) return [step, ...rest];
    }
  }
  failed.add(key);
  return null;
}

function boardText(board: readonly Item[]): string {
  return board.map((x) => x.value).join(', ');
}

function work(p: Problem): WorkedSolution {
  const numbers = metaInts(p, 'numbers');
  const target = metaInt(p, 'target');
  const items = numbers.map(leaf);
  const lines = [`target ${target}, numbers ${numbers.join(', ')}`];
  const firsts = moves(items)
    .map((mv, order) => ({ mv, order, dist: Math.abs(mv.made.value - target) }))
    .sort((a, b) => a.dist - b.dist || a.order - b.order);
  const failed = new Set<string>();
  let shownDeadEnds = 0;
  for (const { mv } of firsts) {
    const board = items.filter((_, idx) => idx !== mv.i && idx !== mv.j).concat([mv.made]);
    const first = `${(items[mv.i] as Item).value} ${mv.op} ${(items[mv.j] as Item).value} = ${mv.made.value}`;
    let path: Step[] | null = null;
    if (mv.made.value === target) path = [];
    else if (board.length > 1) path = search(board, target, failed);
    if (path === null) {
      if (shownDeadEnds < MAX_DEAD_ENDS_SHOWN) {
        lines.push(board.length > 1 ? `try ${first}, left ${boardText(board)}: dead end` : `try ${first}: not ${target}`);
        shownDeadEnds++;
      }
      continue;
    }
    lines.push(path.length === 0 ? `try ${first}: reached ${target}` : `try ${first}, left ${boardText(board)}`);
    let last = mv.made;
    path.forEach((s, idx) => {
      lines.push(idx === path.length - 1 ? `${s.line}: reached ${target}` : `${s.line}, left ${boardText(s.board)}`);
      last = s.item;
    });
    lines.push(`expression: ${last.expr} = ${target}`);
    return { trace: lines.join('\n'), answer: last.expr };
  }
  // Unreachable for generated problems; an honest trace for hand-made ones.
  lines.push(`no expression reaches ${target}`);
  return { trace: lines.join('\n'), answer: 'none' };
}

/** True iff `answer` is an expression over the given numbers (each at most once) equal to the target; an "= target" suffix is allowed. */
export function checkCountdown(numbers: readonly number[], target: number, answer: string): boolean {
  const parts = answer.split('=');
  if (parts.length > 2) return false;
  if (parts.length === 2) {
    const rhs = parseInteger(parts[1] as string);
    if (rhs === null || rhs !== BigInt(target)) return false;
  }
  const parsed = parseExpression((parts[0] as string).trim());
  if (!parsed.ok) return false;
  const available = new Map<bigint, number>();
  for (const n of numbers) available.set(BigInt(n), (available.get(BigInt(n)) ?? 0) + 1);
  for (const lit of literals(parsed.expr)) {
    const left = available.get(lit) ?? 0;
    if (left === 0) return false; // not given, or used more often than given
    available.set(lit, left - 1);
  }
  const value = evaluate(parsed.expr);
  return value !== null && eqR(value, rat(BigInt(target)));
}

// Runs stay within one line: a line break (or a stripped tag) ends an expression.
const EXPR_RUN = /[\d \t+\-−–*×·/÷()]+/g;

/** The last expression-looking run of text (digits, operators, parentheses) with an operator in it. */
export function lastExpression(text: string): string | null {
  const runs = (text.match(EXPR_RUN) ?? []).map((r) => r.trim()).filter((r) => /\d/.test(r) && /[+\-−–*×·/÷]/.test(r));
  const last = runs[runs.length - 1];
  if (last === undefined) return null;
  // Two numbers side by side ("= 75  19 + 13") are not one expression: keep the last piece with an operator.
  const pieces = last.split(/(?<=[\d)])\s+(?=[\d(])/).filter((r) => /\d/.test(r) && /[+\-−–*×·/÷]/.test(r));
  let e = pieces[pieces.length - 1] ?? last;
  e = e.replace(/^[)\s]+/, '').replace(/[(\s+\-−–*×·/÷]+$/, '');
  // drop unmatched parentheses at the ends ("(so 50 + 25)" leaves "50 + 25)")
  const count = (ch: string): number => (e as string).split(ch).length - 1;
  while (count('(') > count(')') && e.startsWith('(')) e = e.slice(1).trimStart();
  while (count(')') > count('(') && e.endsWith(')')) e = e.slice(0, -1).trimEnd();
  e = e.trim();
  return e.length > 0 && e.length <= MAX_EXPRESSION_LENGTH ? e : null;
}

/** Countdown number puzzles. */
export const countdown: TaskFamilySpec = {
  name: 'countdown',
  description: 'reach a target with + - * / over given numbers, each at most once; worked as a narrated search',
  difficulties: DIFFICULTIES,
  generate,
  work,
  check: (p, answer) => checkCountdown(metaInts(p, 'numbers'), metaInt(p, 'target'), answer),
  lenient: lastExpression,
};
