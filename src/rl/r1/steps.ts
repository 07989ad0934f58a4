// The arithmetic a chain of thought states, checked: every claim of the form `expr = expr` in the
// reasoning whose sides are integers joined by + − * / or `mod` (at least one operator), evaluated
// with the usual precedence (* / mod before + −, left to right). A trace whose final answer is right
// but whose reasoning says "9 + 0 + 9 = 10" teaches wrong steps; rejection sampling drops it (R1
// keeps only correct, readable reasoning for its SFT data). Parenthesized expressions are not parsed:
// a claim that touches a parenthesis is left unchecked (never dropped on a guess). The comparisons
// the worked solutions state ("21 is less than 56", "97 is at least 15") are claims too.
const NUM = String.raw`-?\d+`;
const OP = String.raw`(?:[-+*/×÷]|mod)`;
const EXPR = String.raw`${NUM}(?:\s*${OP}\s*${NUM})*`;
// Not preceded by a digit, a parenthesis or an operator that would make this a fragment of a larger expression.
const CLAIM = new RegExp(String.raw`(?<![\d()*/×÷+\-.])(${EXPR})\s*=\s*(${EXPR})(?![\d(.]|\s*[)*/×÷+\-]\s*\d)`, 'g');

/** Evaluates `a op b op c …` with * / mod before + − (left to right); null when it divides by zero or is malformed. */
export function evalArithmetic(expr: string): number | null {
  // tokens: unsigned numbers and operators; a "-" where a number is expected is its sign
  const tokens = expr.match(/\d+|mod|[-+*/×÷]/g) ?? [];
  const nums: number[] = [];
  const ops: string[] = [];
  let sign = 1;
  for (const t of tokens) {
    if (/^\d+$/.test(t)) { nums.push(sign * Number(t)); sign = 1; }
    else if (nums.length === ops.length) sign = t === '-' ? -sign : sign; // a sign, not an operator
    else ops.push(t);
  }
  if (nums.length !== ops.length + 1) return null;
  const terms: number[] = [];
  const adds: string[] = [];
  let cur = nums[0]!;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!, x = nums[i + 1]!;
    if (op === '+' || op === '-') {
      terms.push(cur);
      adds.push(op);
      cur = x;
    } else if (op === '*' || op === '×') cur *= x;
    else if (x === 0) return null;
    else if (op === 'mod') cur = ((cur % x) + x) % x;
    else cur /= x;
  }
  terms.push(cur);
  let v = terms[0]!;
  for (let i = 0; i < adds.length; i++) v = adds[i] === '+' ? v + terms[i + 1]! : v - terms[i + 1]!;
  return v;
}

const COMPARISON = /(?<![\d.])(-?\d+) is (less than|at least) (-?\d+)(?![\d.])/g;

/** The false claims of a reasoning text ("9 + 0 + 9 = 10", "63 is less than 36"), in order of position; empty when all hold. */
export function falseSteps(text: string): string[] {
  const wrong: { at: number; claim: string }[] = [];
  for (const m of text.matchAll(CLAIM)) {
    const [whole, lhs, rhs] = m as unknown as [string, string, string];
    const hasOp = (e: string) => /\d\s*(?:[-+*/×÷]|mod)\s*-?\d/.test(e);
    if (!hasOp(lhs) && !hasOp(rhs)) continue; // "12 = 12", "carry = 1": nothing to check
    const a = evalArithmetic(lhs), b = evalArithmetic(rhs);
    if (a === null || b === null || Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) wrong.push({ at: m.index, claim: whole.trim() });
  }
  for (const m of text.matchAll(COMPARISON)) {
    const [whole, x, rel, y] = m as unknown as [string, string, string, string];
    const less = Number(x) < Number(y);
    if (less !== (rel === 'less than')) wrong.push({ at: m.index, claim: whole });
  }
  return wrong.sort((p, q) => p.at - q.at).map((w) => w.claim);
}
