// `tinyseek bench gemm`: float32 matrix multiply, tinyseek vs a C program calling OpenBLAS
// cblas_sgemm directly (bench/peers/sgemm.c, compiled on first run into a cache directory).
// Both sides time C[M,N] = A[M,K]·B[K,N] the same way (one warm-up call, then calls until the
// time slice is used up) in interleaved rounds within one run; the best round of each is reported.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { backend } from '../src/backend/index.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';

export const description = 'float32 matmul: tinyseek vs a C program calling OpenBLAS cblas_sgemm (GFLOP/s, ratio)';

interface Shape { M: number; N: number; K: number; n?: number }

const SHAPES: Shape[] = [
  { M: 256, N: 256, K: 256, n: 256 },
  { M: 512, N: 512, K: 512, n: 512 },
  { M: 1024, N: 1024, K: 1024, n: 1024 },
  { M: 4096, N: 1024, K: 256 }, // [4096×256]·[256×1024]: MLP up-projection, batch 16 × T 256
  { M: 2048, N: 768, K: 256 },  // [2048×256]·[256×768]: fused QKV projection
  { M: 2048, N: 256, K: 1024 }, // [2048×1024]·[1024×256]: MLP down-projection
];
/** Interleaved rounds per shape (even, so each side goes first equally often); the best of each side counts. */
const ROUNDS = 4;
/** Pause before each timed slice so the other side's idle BLAS threads (which spin ~0.1 s) settle. */
const SETTLE_MS = 100;

function label(s: Shape): string {
  return s.n !== undefined ? `${s.n}` : `[${s.M}x${s.K}]·[${s.K}x${s.N}]`;
}

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s >>> 8) / 16777216 - 0.5;
  }
  return a;
}

/**
 * The tinyseek side: returns a function computing C = A·B for fixed [M,K]·[K,N] operands.
 * It goes through the backend's gemm today; switch it to the Tensor-level matmul op when that exists.
 */
function tinyseekMatmul(M: number, N: number, K: number): () => void {
  const k = backend();
  const A = filled(M * K, 1), B = filled(K * N, 2), C = new Float32Array(M * N);
  return () => k.gemm(1, false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N);
}

function timeTinyseek(call: () => void, flops: number, seconds: number): number {
  call();
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let t = 0;
  do {
    call();
    calls++;
    t = Number(process.hrtime.bigint() - t0) * 1e-9;
  } while (t < seconds);
  return (flops * calls) / t / 1e9;
}

/** Finds bench/peers/sgemm.c in the repository above this file (it runs from dist/bench/ or bench/). */
function peerSource(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = path.join(dir, 'bench', 'peers', 'sgemm.c');
    if (existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  throw new Error('bench/peers/sgemm.c not found');
}

/** Compiles the peer once per source version into a cache directory; returns the executable's path. */
function buildPeer(): string {
  const src = peerSource();
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'tinyseek-bench');
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, `sgemm-peer-${hash}`);
  if (existsSync(exe)) return exe;
  const tmp = `${exe}.${process.pid}.tmp`;
  const r = spawnSync('cc', ['-O2', '-I/usr/include/x86_64-linux-gnu', '-I/usr/include/openblas', src, '-o', tmp, '-lopenblas'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`could not compile the cblas_sgemm peer (is libopenblas-dev installed?):\n${r.error?.message ?? r.stderr}`);
  }
  renameSync(tmp, exe);
  return exe;
}

/** A running peer process answering "M N K seconds" requests with GFLOP/s. */
class Peer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;
  constructor(exe: string) {
    this.proc = spawn(exe, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error('the cblas_sgemm peer exited early');
    return r.value;
  }
  /** Waits for "ready CORE THREADS". */
  async ready(): Promise<{ core: string; threads: number }> {
    const [, core, threads] = (await this.next()).split(' ');
    return { core, threads: Number(threads) };
  }
  async measure(s: Shape, seconds: number): Promise<number> {
    this.proc.stdin.write(`${s.M} ${s.N} ${s.K} ${seconds}\n`);
    return Number((await this.next()).split(' ')[3]);
  }
  close(): void {
    this.proc.stdin.end();
  }
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const k = backend();
  // default --seconds 2: 6 shapes × 2 sides × 4 rounds × (0.25 s + 0.1 s settle) ≈ 17 s in all
  const slice = Math.max(0.05, opts.seconds / 8);
  const peer = new Peer(buildPeer());
  try {
    const info = await peer.ready();
    const load = os.loadavg()[0], cpus = os.cpus().length;
    if (!opts.json && load > cpus / 2) {
      console.log(`note: 1-minute load average is ${load.toFixed(1)} on ${cpus} CPUs; other processes make these timings noisy`);
    }
    if (!opts.json) {
      console.log(`gemm: tinyseek (${k.name} backend) vs C cblas_sgemm; OpenBLAS core ${info.core}, ${info.threads} threads; best of ${ROUNDS} interleaved rounds of ${slice.toFixed(2)} s`);
      console.log(`${'shape (M×K · K×N)'.padEnd(24)}${'tinyseek GFLOP/s'.padStart(18)}${'peer GFLOP/s'.padStart(15)}${'ratio'.padStart(8)}`);
    }
    for (const s of SHAPES) {
      const call = tinyseekMatmul(s.M, s.N, s.K);
      const flops = 2 * s.M * s.N * s.K;
      let ours = 0, theirs = 0;
      for (let r = 0; r < ROUNDS; r++) {
        // alternate which side goes first
        for (const side of r % 2 === 0 ? ['tinyseek', 'peer'] : ['peer', 'tinyseek']) {
          await sleep(SETTLE_MS);
          if (side === 'tinyseek') ours = Math.max(ours, timeTinyseek(call, flops, slice));
          else theirs = Math.max(theirs, await peer.measure(s, slice));
        }
      }
      const ratio = ours / theirs;
      if (opts.json) {
        const rec: Record<string, unknown> = { bench: 'gemm' };
        if (s.n !== undefined) rec.n = s.n;
        rec.shape = label(s);
        Object.assign(rec, {
          M: s.M, N: s.N, K: s.K, backend: k.name, core: info.core, load1: +load.toFixed(2),
          tinyseek_gflops: +ours.toFixed(2), peer_gflops: +theirs.toFixed(2), ratio: +ratio.toFixed(3),
        });
        console.log(JSON.stringify(rec));
      } else {
        console.log(`${label(s).padEnd(24)}${ours.toFixed(1).padStart(18)}${theirs.toFixed(1).padStart(15)}${ratio.toFixed(2).padStart(8)}`);
      }
    }
  } finally {
    peer.close();
  }
}
