// Named fault points for crash tests. When the environment variable TINYSEEK_FAULT_POINT names a
// point, the process announces it on stderr ("fault point NAME (pid P)") and blocks there, so a test can
// kill -9 it at exactly that moment (e.g. between two renames of a checkpoint save). Unset, a
// fault point costs one environment lookup.

/** Blocks (until killed) if TINYSEEK_FAULT_POINT is `name`; otherwise returns at once. */
export function faultPoint(name: string): void {
  if (process.env.TINYSEEK_FAULT_POINT !== name) return;
  process.stderr.write(`fault point ${name} (pid ${process.pid})\n`);
  // A synchronous wait: nothing else in this process runs until it is killed.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300_000);
  throw new Error(`fault point ${name}: not killed within 300 s`);
}
