// Work that only rank 0 may do (take the run lock, clean up after killed saves, write the corpus and
// tokenizer, choose the checkpoint to resume from), followed by every rank: rank 0 runs it and
// broadcasts its JSON result — or its error, which every rank then throws as a CollectiveError, so
// a bad input ends all ranks with the same one-line message instead of leaving them waiting.
import type { Communicator } from './mpi.js';

/** An error every rank of the job raised at the same point (they can all finalize and exit cleanly). */
export class CollectiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollectiveError';
  }
}

/** Runs fn on rank 0 only and returns its result on every rank (fn alone without a communicator). */
export function rootFirst<T>(comm: Communicator | null, fn: () => T): T {
  if (!comm) return fn();
  let msg: { ok: true; value: T } | { ok: false; error: string } | undefined;
  if (comm.rank === 0) {
    try {
      msg = { ok: true, value: fn() };
    } catch (e) {
      msg = { ok: false, error: (e as Error).message };
    }
  }
  const got = comm.bcastJson(msg);
  if (!got.ok) throw new CollectiveError(got.error);
  return got.value;
}

/**
 * Runs fn on every rank; if it fails on any rank, every rank throws the same CollectiveError (the
 * message of the lowest failing rank), so that a bad input seen by one rank (or all) ends the job
 * with one clear message per rank instead of an abort racing the others' output.
 */
export function everyRank<T>(comm: Communicator | null, fn: () => T): T {
  if (!comm) return fn();
  let value: T | undefined;
  let error: string | null = null;
  try {
    value = fn();
  } catch (e) {
    error = (e as Error).message;
  }
  const first = comm.allreduce(Int32Array.of(error === null ? comm.size : comm.rank), 'min')[0];
  if (first === comm.size) return value as T;
  throw new CollectiveError(comm.bcastJson(error ?? undefined, first) as string);
}
