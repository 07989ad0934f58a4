// Reading server-sent events from a fetch() response (POST SSE, which EventSource cannot do):
// yields the parsed JSON of each `data:` event until `data: [DONE]`. An event carrying
// {"error": {...}} (a failure after the stream started) is thrown as an Error.

/** Yields each event's JSON payload from a text/event-stream response body. */
export async function* readSSE(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let sep;
      while ((sep = nextBoundary(buf)) !== null) {
        const [end, skip] = sep;
        const block = buf.slice(0, end);
        buf = buf.slice(end + skip);
        const data = block
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (!data) continue; // comments (": keep-alive") and other fields
        if (data === '[DONE]') return;
        const obj = JSON.parse(data);
        if (obj && obj.error) throw new Error(obj.error.message || 'the server reported an error');
        yield obj;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Position and length of the first blank line (event boundary) in buf, or null. */
function nextBoundary(buf) {
  const m = /\r?\n\r?\n/.exec(buf);
  return m ? [m.index, m[0].length] : null;
}
