// Ctrl-C during a run that other work builds on (a pipeline stage, an experiment's RL run).
// The trainer and GRPO stop at the next step and save a checkpoint; the caller must not treat that
// checkpoint as the finished run (mark the stage complete, evaluate it, report it). `finished`
// turns an interrupted result into this error; the CLI prints it as one line and exits with 130.

/** A run was stopped by Ctrl-C after saving a checkpoint; running the same command again resumes it. */
export class RunInterrupted extends Error {
  constructor(readonly what: string, readonly lastStep: number, readonly checkpoint: string) {
    super(`${what}: interrupted at step ${lastStep} (checkpoint ${checkpoint}); run the same command again to resume`);
    this.name = 'RunInterrupted';
  }
}

/** Returns `res` unless it was interrupted, in which case throws RunInterrupted. */
export function finished<T extends { interrupted: boolean; lastStep: number; finalDir: string }>(res: T, what: string): T {
  if (res.interrupted) throw new RunInterrupted(what, res.lastStep, res.finalDir);
  return res;
}

/**
 * Calls `onStop` on Ctrl-C (SIGINT) and, in a single-process run, on SIGTERM too: what `kill`,
 * `timeout`, `docker stop` and batch schedulers (Slurm's preemption) send before SIGKILL. The run
 * then stops at the end of its step with a checkpoint instead of losing every step since the last
 * one. Under MPI SIGTERM stays mpirun's: it ends a job whose rank failed, and a rank must not wait at
 * the next collective for a peer that is gone. Returns the function that removes the handlers.
 */
export function onStopSignals(onStop: () => void, distributed: boolean): () => void {
  const signals: NodeJS.Signals[] = distributed ? ['SIGINT'] : ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, onStop);
  return () => { for (const s of signals) process.off(s, onStop); };
}
