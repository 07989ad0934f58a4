// Comparing the tensors a model expects with those a checkpoint holds, reporting every
// missing, unexpected, mis-shaped or wrong-dtype tensor at once.

import { CheckpointError } from './errors.js';
import { shapeStr, type DType } from './record.js';

/** A tensor the model expects; `dtype`, if given, lists the accepted stored dtypes. */
export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
  dtype?: DType | readonly DType[];
}

/** A tensor found in a checkpoint. */
export interface FoundTensor {
  name: string;
  shape: readonly number[];
  dtype: DType;
}

/** Every difference between expected and found tensors. */
export interface TensorDiff {
  missing: ExpectedTensor[];
  unexpected: FoundTensor[];
  wrongShape: { name: string; expected: readonly number[]; found: readonly number[] }[];
  wrongDtype: { name: string; expected: readonly DType[]; found: DType }[];
}

/** Computes the differences between `expected` and `found` (order of `expected`, then `found`). */
export function diffTensors(expected: readonly ExpectedTensor[], found: readonly FoundTensor[]): TensorDiff {
  const byName = new Map(found.map((f) => [f.name, f]));
  const want = new Set(expected.map((e) => e.name));
  const diff: TensorDiff = { missing: [], unexpected: [], wrongShape: [], wrongDtype: [] };
  for (const e of expected) {
    const f = byName.get(e.name);
    if (!f) {
      diff.missing.push(e);
      continue;
    }
    if (f.shape.length !== e.shape.length || f.shape.some((d, i) => d !== e.shape[i])) {
      diff.wrongShape.push({ name: e.name, expected: e.shape, found: f.shape });
    }
    if (e.dtype !== undefined) {
      const ok: readonly DType[] = typeof e.dtype === 'string' ? [e.dtype] : e.dtype;
      if (!ok.includes(f.dtype)) diff.wrongDtype.push({ name: e.name, expected: ok, found: f.dtype });
    }
  }
  for (const f of found) if (!want.has(f.name)) diff.unexpected.push(f);
  return diff;
}

/** Number of problems in a diff. */
export function diffCount(d: TensorDiff): number {
  return d.missing.length + d.unexpected.length + d.wrongShape.length + d.wrongDtype.length;
}

/** Multi-line description of a diff (empty string if there is no problem). */
export function formatDiff(d: TensorDiff, expectedCount: number, foundCount: number, where = 'checkpoint'): string {
  const n = diffCount(d);
  if (n === 0) return '';
  // Name what differs: equal totals ("171 expected, 171 found") say nothing when the problem is a
  // shape, or one name missing and another unexpected.
  const parts: string[] = [];
  if (d.missing.length) parts.push(`${d.missing.length} missing`);
  if (d.unexpected.length) parts.push(`${d.unexpected.length} unexpected`);
  if (d.wrongShape.length) parts.push(`${d.wrongShape.length} with the wrong shape`);
  if (d.wrongDtype.length) parts.push(`${d.wrongDtype.length} with the wrong dtype`);
  const counts = expectedCount === foundCount
    ? `the model and the checkpoint both have ${expectedCount} tensors`
    : `the model has ${expectedCount} tensors, the checkpoint ${foundCount}`;
  const lines = [`${where}: tensors do not match the model: ${parts.join(', ')} (${counts})`];
  const section = <T>(title: string, items: T[], fmt: (x: T) => string) => {
    if (items.length === 0) return;
    lines.push(`  ${title} (${items.length}):`);
    for (const x of items) lines.push(`    ${fmt(x)}`);
  };
  section('missing', d.missing, (e) => `${e.name} ${shapeStr(e.shape)}`);
  section('unexpected', d.unexpected, (f) => `${f.name} ${shapeStr(f.shape)} ${f.dtype}`);
  section('wrong shape', d.wrongShape, (s) => `${s.name}: expected ${shapeStr(s.expected)}, found ${shapeStr(s.found)}`);
  section('wrong dtype', d.wrongDtype, (s) => `${s.name}: expected ${s.expected.join(' or ')}, found ${s.found}`);
  return lines.join('\n');
}

/**
 * Throws one CheckpointError listing ALL missing, unexpected, mis-shaped and wrong-dtype tensors;
 * returns normally if `found` matches `expected`. `where` names the checkpoint in the message.
 */
export function checkTensors(expected: readonly ExpectedTensor[], found: readonly FoundTensor[], where = 'checkpoint'): void {
  const d = diffTensors(expected, found);
  if (diffCount(d) > 0) throw new CheckpointError(formatDiff(d, expected.length, found.length, where));
}
