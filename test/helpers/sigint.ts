// Ctrl-C delivered to the handlers a run installed, as the signal would, without the handlers of the
// test runner (a mutation runner's SIGINT handler ends the process).

/** Calls every SIGINT handler not in `others` (those present before the run started). */
export function sigint(others: Function[]): void {
  for (const l of process.listeners('SIGINT')) if (!others.includes(l)) (l as (s: string) => void)('SIGINT');
}

/**
 * Presses Ctrl-C once, as soon as a handler that was not there when this was called is installed
 * (the run reached its step loop). Returns a function that stops watching.
 */
export function sigintOnceHandled(pollMs = 10): () => void {
  const others = process.listeners('SIGINT');
  const t = setInterval(() => {
    if (process.listeners('SIGINT').some((l) => !others.includes(l))) {
      clearInterval(t);
      sigint(others);
    }
  }, pollMs);
  return () => clearInterval(t);
}
