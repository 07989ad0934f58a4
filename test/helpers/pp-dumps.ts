// What the pipeline-composition suites (parallel-ppdp, parallel-ppep) share: running
// test/helpers/pp-worker.js in one process or under mpirun, reading the per-rank dumps it writes
// (metrics per step, step-1 gradients by tensor name), and comparing two model directories.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/checkpoint.js';
import { mpiEnv } from './mpi.js';

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pp-worker.js');

/** One rank's dump: its tensors' names and sizes, then per step the loss, norm, expert counts and layout. */
export interface Dump { names: [string, number][]; steps: { step: number; loss: number; grad_norm: number; counts: number[][]; pp?: { dp: number; ep?: number; ranks: number } }[] }

export const readDump = (prefix: string, rank = 0): Dump => JSON.parse(fs.readFileSync(`${prefix}.${rank}.json`, 'utf8')) as Dump;

/** name → step-1 gradient of one rank's dump. */
export function gradMap(prefix: string, rank: number): Map<string, Float32Array> {
  const d = readDump(prefix, rank);
  const b = fs.readFileSync(`${prefix}.${rank}.grads`);
  const g = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const m = new Map<string, Float32Array>();
  let o = 0;
  for (const [n, k] of d.names) { m.set(n, g.subarray(o, o + k)); o += k; }
  return m;
}

/** Runs the worker on `n` ranks under mpirun (0: one process without MPI); fails the test if it fails. */
export function runPpWorker(n: number, job: Record<string, unknown>): void {
  const args = [worker, JSON.stringify(job)];
  const r = n === 0
    ? spawnSync(process.execPath, args, { env: mpiEnv, encoding: 'utf8', timeout: 120_000 })
    : spawnSync('mpirun', ['--oversubscribe', '-np', String(n), process.execPath, ...args], { env: mpiEnv, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${n || 1} rank(s) failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
}

/** Norm-relative difference (≤ tol) of every tensor of two model directories, each loaded in this one process. */
export function assertWeightsClose(a: string, b: string, what: string, tol: number): void {
  const x = loadModel(a, { onWarning: () => {} }).stateDict(), y = loadModel(b, { onWarning: () => {} }).stateDict();
  assert.deepEqual([...x.keys()].sort(), [...y.keys()].sort(), `${what}: the same tensors`);
  for (const [n, t] of y) {
    const p = x.get(n)!.f32(), q = t.f32();
    let d = 0, m = 0;
    for (let i = 0; i < p.length; i++) { d += (p[i] - q[i]) ** 2; m += q[i] ** 2; }
    assert.ok(Math.sqrt(d) <= tol * Math.sqrt(m) || d === 0, `${what}: ${n} differs (relative ${Math.sqrt(d / m)})`);
  }
}
