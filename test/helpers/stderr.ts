// What a piece of code says on stderr (console.error), captured line by line while it runs.

/** Runs `fn` with console.error captured; returns its result and the lines it printed. */
export async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { lines.push(a.map(String).join(' ')); };
  try {
    return { value: await fn(), lines };
  } finally {
    console.error = orig;
  }
}
