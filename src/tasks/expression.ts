// Arithmetic expressions for Countdown: a tokenizer and a recursive-descent parser (never eval or
// Function), evaluated in exact rational arithmetic.
//   expr   := term (('+' | '-') term)*
//   term   := factor (('*' | '/') factor)*
//   factor := INTEGER | '(' expr ')'
// Accepted operator spellings: + - − (U+2212) – (U+2013) * × · / ÷. No unary minus, no decimals:
// Countdown combines the given positive numbers with binary operations only.

import { addR, divR, mulR, rat, subR, type Rational } from './rational.js';

/** A parsed expression tree. */
export type Expr =
  | { kind: 'num'; value: bigint }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr };

/** The result of parsing: a tree, or the reason it is not a valid expression. */
export type ParseResult = { ok: true; expr: Expr } | { ok: false; error: string };

type Token = { t: 'num'; value: bigint; pos: number } | { t: 'op'; op: '+' | '-' | '*' | '/'; pos: number } | { t: '(' | ')'; pos: number };

const OPS: Record<string, '+' | '-' | '*' | '/'> = {
  '+': '+',
  '-': '-',
  '−': '-',
  '–': '-',
  '*': '*',
  '×': '*',
  '·': '*',
  '/': '/',
  '÷': '/',
};

/** Longest expression text accepted (guards the parser against pathological inputs). */
export const MAX_EXPRESSION_LENGTH = 400;
const MAX_DEPTH = 64;

function lex(src: string): Token[] | string {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch >= '0' && ch <= '9') {
      let j = i;
      while (j < src.length && (src[j] as string) >= '0' && (src[j] as string) <= '9') j++;
      if (src[j] === '.' || src[j] === ',') return `unexpected ${JSON.stringify(src[j])} at ${j}: only whole numbers are allowed`;
      out.push({ t: 'num', value: BigInt(src.slice(i, j)), pos: i });
      i = j;
    } else if (OPS[ch] !== undefined) {
      out.push({ t: 'op', op: OPS[ch] as '+' | '-' | '*' | '/', pos: i });
      i++;
    } else if (ch === '(' || ch === ')') {
      out.push({ t: ch, pos: i });
      i++;
    } else {
      return `unexpected character ${JSON.stringify(ch)} at ${i}`;
    }
  }
  return out;
}

/** Parses an arithmetic expression; never evaluates code. */
export function parseExpression(src: string): ParseResult {
  if (src.length > MAX_EXPRESSION_LENGTH) return { ok: false, error: `expression longer than ${MAX_EXPRESSION_LENGTH} characters` };
  const toks = lex(src);
  if (typeof toks === 'string') return { ok: false, error: toks };
  if (toks.length === 0) return { ok: false, error: 'empty expression' };
  let k = 0;
  const fail = (msg: string): never => {
    throw new SyntaxError(msg);
  };
  const where = (): string => (k < toks.length ? `at ${(toks[k] as Token).pos}` : 'at the end');

  const factor = (depth: number): Expr => {
    if (depth > MAX_DEPTH) fail(`parentheses nested deeper than ${MAX_DEPTH}`);
    const tok = toks[k];
    if (tok?.t === 'num') {
      k++;
      return { kind: 'num', value: tok.value };
    }
    if (tok?.t === '(') {
      k++;
      const e = expr(depth + 1);
      if (toks[k]?.t !== ')') fail(`expected ")" ${where()}`);
      k++;
      return e;
    }
    return fail(`expected a number or "(" ${where()}`);
  };
  const term = (depth: number): Expr => {
    let left = factor(depth);
    for (let tok = toks[k]; tok?.t === 'op' && (tok.op === '*' || tok.op === '/'); tok = toks[k]) {
      k++;
      left = { kind: 'bin', op: tok.op, left, right: factor(depth) };
    }
    return left;
  };
  const expr = (depth: number): Expr => {
    let left = term(depth);
    for (let tok = toks[k]; tok?.t === 'op' && (tok.op === '+' || tok.op === '-'); tok = toks[k]) {
      k++;
      left = { kind: 'bin', op: tok.op, left, right: term(depth) };
    }
    return left;
  };
  try {
    const e = expr(0);
    if (k !== toks.length) fail(`unexpected ${(toks[k] as Token).t === ')' ? '")"' : 'token'} ${where()}`);
    return { ok: true, expr: e };
  } catch (err) {
    if (err instanceof SyntaxError) return { ok: false, error: err.message };
    throw err;
  }
}

/** Evaluates exactly; null if any division by zero occurs. */
export function evaluate(e: Expr): Rational | null {
  if (e.kind === 'num') return rat(e.value);
  const l = evaluate(e.left);
  const r = evaluate(e.right);
  if (l === null || r === null) return null;
  switch (e.op) {
    case '+':
      return addR(l, r);
    case '-':
      return subR(l, r);
    case '*':
      return mulR(l, r);
    case '/':
      return divR(l, r);
  }
}

/** The number literals of an expression, left to right. */
export function literals(e: Expr): bigint[] {
  return e.kind === 'num' ? [e.value] : [...literals(e.left), ...literals(e.right)];
}
