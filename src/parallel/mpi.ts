// Open MPI through tinyseek's own N-API binding (native/mpi/mpi.c): typed arrays go to MPI without
// copies, communicators and requests are small handles, every MPI error is a JS exception naming the
// call and the rank (MPI_ERRORS_RETURN). Nothing here runs unless a command asks for MPI (--dp > 1
// under mpirun); a machine without libopenmpi-dev gets `MpiUnavailableError` saying what to install.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';

/** A buffer MPI reads or writes in place (Uint8Array cannot be reduced). */
export type MpiBuffer = Float32Array | Float64Array | Int32Array | Uint8Array;
/** A reducible buffer. */
export type NumericBuffer = Float32Array | Float64Array | Int32Array;
/** MPI_SUM, MPI_MAX, MPI_MIN. */
export type ReduceOp = 'sum' | 'max' | 'min';
/** MPI_THREAD_SINGLE < FUNNELED < SERIALIZED < MULTIPLE. */
export type ThreadLevel = 'single' | 'funneled' | 'serialized' | 'multiple';
const LEVELS: ThreadLevel[] = ['single', 'funneled', 'serialized', 'multiple'];
const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

/** The binding could not be loaded (not built, or Open MPI missing). */
export class MpiUnavailableError extends Error {
  constructor(reason: string) {
    super(`MPI is unavailable: ${reason}. Install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev) and rebuild with \`node scripts/build-native.mjs\``);
    this.name = 'MpiUnavailableError';
  }
}

/** The completion status of a point-to-point request. */
export interface MpiStatus {
  source: number;
  tag: number;
  /** Elements received (receives only). */
  count: number;
}

interface Binding {
  init(level: number): [number, number, number];
  state(): number;
  commRank(c: number): number;
  commSize(c: number): number;
  commSplit(c: number, color: number, key: number): number;
  isend(b: MpiBuffer, dest: number, tag: number, c: number): number;
  irecv(b: MpiBuffer, src: number, tag: number, c: number): number;
  iallreduce(b: NumericBuffer, op: number, c: number): number;
  wait(r: number): MpiStatus;
  waitall(r: number[]): void;
  test(r: number): boolean;
  allreduce(b: NumericBuffer, op: number, c: number): void;
  allgather(s: MpiBuffer, r: MpiBuffer, c: number): void;
  allgatherv(b: MpiBuffer, counts: Int32Array, displs: Int32Array, c: number): void;
  alltoall(s: MpiBuffer, r: MpiBuffer, c: number): void;
  alltoallv(s: MpiBuffer, sc: Int32Array, sd: Int32Array, r: MpiBuffer, rc: Int32Array, rd: Int32Array, c: number): void;
  bcast(b: MpiBuffer, root: number, c: number): void;
  barrier(c: number): void;
  abort(code: number): never;
  onTerminate(prefix: string, peerPids: Int32Array): void;
  finalize(): void;
  wtime(): number;
  version(): string;
}

/** Path of the compiled binding. */
export function bindingPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url)); // dist/src/parallel
  return path.resolve(here, '../../../native/mpi/build/Release/tinyseek_mpi.node');
}

let binding: Binding | null = null;
let loadError: string | null = null;

/** Loads the binding once; null with `mpiUnavailableReason()` set when it cannot be loaded. */
function load(): Binding | null {
  if (binding || loadError) return binding;
  const p = bindingPath();
  if (!fs.existsSync(p)) {
    loadError = `the MPI binding is not built (${p} is missing)`;
    return null;
  }
  try {
    binding = createRequire(import.meta.url)(p) as Binding;
  } catch (e) {
    loadError = `the MPI binding ${p} does not load (${(e as Error).message.split('\n')[0]})`;
  }
  return binding;
}

/** Why MPI cannot be used here, or null when the binding loads. */
export function mpiUnavailableReason(): string | null {
  load();
  return loadError;
}

/** The world size mpirun started this process with (Open MPI's OMPI_COMM_WORLD_SIZE), or null outside mpirun. */
export function launchedWorldSize(): number | null {
  const s = process.env.OMPI_COMM_WORLD_SIZE ?? process.env.PMIX_SIZE;
  return s && /^\d+$/.test(s) ? Number(s) : null;
}

/** A pending non-blocking operation; its buffer must not be touched until it completes. */
export class Request {
  private done = false;
  constructor(private readonly b: Binding, readonly handle: number) {}
  /** MPI_Wait. */
  wait(): MpiStatus {
    if (this.done) throw new Error('MPI request already completed');
    this.done = true;
    return this.b.wait(this.handle);
  }
  /** MPI_Test: true once complete (then the request is released). */
  test(): boolean {
    if (this.done) return true;
    this.done = this.b.test(this.handle);
    return this.done;
  }
  /** Whether wait() or a successful test() has completed it. */
  get completed(): boolean {
    return this.done;
  }
}

/** MPI_Waitall over requests not yet completed. */
export function waitAll(reqs: Request[]): void {
  const open = reqs.filter((r) => !r.completed);
  if (!open.length) return;
  const b = (open[0] as unknown as { b: Binding }).b;
  b.waitall(open.map((r) => r.handle));
  for (const r of open) (r as unknown as { done: boolean }).done = true;
}

/** A communicator (MPI_COMM_WORLD or one made by split). Ranks and sizes are of this communicator. */
export class Communicator {
  readonly rank: number;
  readonly size: number;
  constructor(private readonly b: Binding, readonly handle: number) {
    this.rank = b.commRank(handle);
    this.size = b.commSize(handle);
  }
  /** MPI_Isend of the whole buffer. */
  isend(buf: MpiBuffer, dest: number, tag = 0): Request {
    return new Request(this.b, this.b.isend(buf, dest, tag, this.handle));
  }
  /** MPI_Irecv into the whole buffer (source/tag −1 = any). */
  irecv(buf: MpiBuffer, source: number, tag = 0): Request {
    return new Request(this.b, this.b.irecv(buf, source, tag, this.handle));
  }
  /** MPI_Allreduce in place. */
  allreduce<T extends NumericBuffer>(buf: T, op: ReduceOp = 'sum'): T {
    this.b.allreduce(buf, OPS[op], this.handle);
    return buf;
  }
  /** MPI_Iallreduce in place. */
  iallreduce(buf: NumericBuffer, op: ReduceOp = 'sum'): Request {
    return new Request(this.b, this.b.iallreduce(buf, OPS[op], this.handle));
  }
  /** MPI_Allgather: recv[r·n, (r+1)·n) = rank r's send (n = send.length). */
  allgather<T extends MpiBuffer>(send: T, recv: T): T {
    this.b.allgather(send, recv, this.handle);
    return recv;
  }
  /** MPI_Allgatherv in place: every rank's block buf[displs[r], displs[r] + counts[r]) is filled from rank r. */
  allgatherv<T extends MpiBuffer>(buf: T, counts: Int32Array, displs: Int32Array): T {
    this.b.allgatherv(buf, counts, displs, this.handle);
    return buf;
  }
  /** MPI_Alltoall with equal blocks of send.length / size elements. */
  alltoall<T extends MpiBuffer>(send: T, recv: T): T {
    this.b.alltoall(send, recv, this.handle);
    return recv;
  }
  /** MPI_Alltoallv: block r of send (at sendDispls[r], sendCounts[r] elements) goes to rank r. */
  alltoallv<T extends MpiBuffer>(send: T, sendCounts: Int32Array, sendDispls: Int32Array, recv: T, recvCounts: Int32Array, recvDispls: Int32Array): T {
    this.b.alltoallv(send, sendCounts, sendDispls, recv, recvCounts, recvDispls, this.handle);
    return recv;
  }
  /** MPI_Bcast from root. */
  bcast<T extends MpiBuffer>(buf: T, root = 0): T {
    this.b.bcast(buf, root, this.handle);
    return buf;
  }
  /** MPI_Barrier. */
  barrier(): void {
    this.b.barrier(this.handle);
  }
  /** MPI_Comm_split: ranks with one color form a communicator, ordered by key; null for color < 0. */
  split(color: number, key = this.rank): Communicator | null {
    const h = this.b.commSplit(this.handle, color, key);
    return h < 0 ? null : new Communicator(this.b, h);
  }
  /** A JSON value from root to every rank (length first, then UTF-8 bytes). */
  bcastJson<T>(value: T | undefined, root = 0): T {
    const len = new Int32Array(1);
    let bytes: Uint8Array = new Uint8Array(0);
    if (this.rank === root) {
      bytes = new TextEncoder().encode(JSON.stringify(value ?? null));
      len[0] = bytes.length;
    }
    this.bcast(len, root);
    if (this.rank !== root) bytes = new Uint8Array(len[0]);
    if (len[0] > 0) this.bcast(bytes, root);
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  }
}

/** A 31-bit hash of this machine's host name (to tell which ranks share it). */
function hostHash(): number {
  let h = 2166136261;
  for (const ch of os.hostname()) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h & 0x7fffffff;
}

/** The MPI runtime of this process. */
export class Mpi {
  readonly world: Communicator;
  readonly threadLevel: ThreadLevel;
  private constructor(private readonly b: Binding, level: number) {
    this.world = new Communicator(b, 0);
    this.threadLevel = LEVELS[level];
  }

  private static instance: Mpi | null = null;

  /** MPI_Init_thread (once per process; later calls return the same runtime). Throws MpiUnavailableError without the binding. */
  static init(level: ThreadLevel = 'funneled'): Mpi {
    if (Mpi.instance) return Mpi.instance;
    const b = load();
    if (!b) throw new MpiUnavailableError(loadError!);
    const [, , provided] = b.init(LEVELS.indexOf(level));
    Mpi.instance = new Mpi(b, provided);
    return Mpi.instance;
  }

  get rank(): number {
    return this.world.rank;
  }
  get size(): number {
    return this.world.size;
  }
  /** MPI_Wtime. */
  wtime(): number {
    return this.b.wtime();
  }
  /** MPI_Get_library_version. */
  version(): string {
    return this.b.version();
  }
  /**
   * On SIGTERM (mpirun ending the job because a rank failed) print `prefix` followed by the ranks on
   * this host whose process is gone ("rank 1 (pid 123) died", or "another rank failed") and exit, even
   * inside a blocking MPI call. Collective: exchanges every rank's pid and host.
   */
  onTerminate(prefix: string): void {
    const pids = this.world.allgather(Int32Array.of(process.pid), new Int32Array(this.size));
    const host = this.world.allgather(Int32Array.of(hostHash()), new Int32Array(this.size));
    const mine = hostHash();
    const peers = pids.map((p, r) => (r !== this.rank && host[r] === mine ? p : 0));
    this.b.onTerminate(prefix, peers);
  }
  /** MPI_Abort(MPI_COMM_WORLD): ends every rank of the job. */
  abort(code = 1): never {
    return this.b.abort(code);
  }
  /** MPI_Finalize (idempotent). */
  finalize(): void {
    this.b.finalize();
    Mpi.instance = null;
  }
}
