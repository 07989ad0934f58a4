// Scopes: `tidy(fn)` releases every tensor created inside fn except what fn returns
// (and what was `keep()`-ed); `noGrad(fn)` runs fn without recording the autograd tape.
import type { Tensor } from './tensor.js';

const scopes: Set<Tensor>[] = [];
let gradEnabled = true;

/** Registers a new tensor with the innermost scope (no-op outside scopes). */
export function track(t: Tensor): void {
  const s = scopes[scopes.length - 1];
  if (s) s.add(t);
}

/** Excludes a tensor from automatic release by the enclosing scopes. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

type Kept = Tensor | Kept[] | { [k: string]: unknown } | number | string | boolean | null | undefined | void;

function collect(v: unknown, out: Set<Tensor>, seen: Set<unknown>): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (isTensor(v)) { out.add(v); return; }
  if (Array.isArray(v)) { for (const x of v) collect(x, out, seen); return; }
  if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, seen);
}

let isTensor: (v: unknown) => v is Tensor = (_v): _v is Tensor => false;
/** Called once by tensor.ts to teach scopes how to recognise tensors (avoids an import cycle). */
export function setTensorCheck(fn: (v: unknown) => v is Tensor): void {
  isTensor = fn;
}

/**
 * Runs fn in a new scope. Tensors created inside are disposed when it returns, except the
 * tensors in its result (a tensor, or arrays / plain objects of them), which move to the outer scope.
 */
export function tidy<T extends Kept>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const kept = new Set<Tensor>();
  collect(result, kept, new Set());
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) { if (outer) outer.add(t); } else t.dispose();
  }
  return result;
}

/** Whether ops record the autograd tape. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with autograd recording off (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Runs fn in a new scope and hands back, undisposed, every tensor created inside it (fn's result
 * included); the caller disposes them when done. A pipeline stage keeps a micro-batch's graph alive
 * from its forward to its (possibly deferred) backward this way, across other micro-batches' work.
 */
export function capture<T>(fn: () => T): { result: T; tensors: Set<Tensor> } {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  try {
    return { result: fn(), tensors: scope };
  } finally {
    scopes.pop();
  }
}
