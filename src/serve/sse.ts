// Server-sent events for OpenAI-style streaming: `data: <json>` + blank line per event, `data: [DONE]`
// at the end. Events are queued synchronously (the generator calls back between decode steps) and
// written in order; when the client goes away the stream is cancelled and `onCancel` fires, which
// the routes turn into an abort of the generation.

const encoder = new TextEncoder();

/** A text/event-stream response fed by `send` and ended by `done`. */
export class SseStream {
  readonly response: Response;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private readonly cancelListeners: (() => void)[] = [];
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(headers: Record<string, string> = {}, keepAliveMs = 15_000) {
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
      cancel: () => this.cancelled(),
    });
    this.response = new Response(body, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        ...headers,
      },
    });
    // An SSE comment now and then keeps proxies from closing a stream that waits in the queue.
    if (keepAliveMs > 0) {
      this.keepAlive = setInterval(() => this.raw(': keep-alive\n\n'), keepAliveMs);
      this.keepAlive.unref();
    }
  }

  /** Whether the stream has ended (done, or cancelled by the client). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Calls fn when the client disconnects before `done`. */
  onCancel(fn: () => void): void {
    this.cancelListeners.push(fn);
  }

  /** Sends one event whose data is `value` as JSON. */
  send(value: unknown): void {
    this.raw(`data: ${JSON.stringify(value)}\n\n`);
  }

  /** Sends `data: [DONE]` and closes the stream. */
  done(): void {
    this.raw('data: [DONE]\n\n');
    this.close();
  }

  /** Closes the stream without [DONE]. */
  close(): void {
    if (this.closed) return;
    this.stopKeepAlive();
    this.closed = true;
    try {
      this.controller.close();
    } catch {
      // already closed by a cancel
    }
  }

  private raw(s: string): void {
    if (this.closed) return;
    try {
      this.controller.enqueue(encoder.encode(s));
    } catch {
      this.cancelled();
    }
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private cancelled(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopKeepAlive();
    for (const fn of this.cancelListeners) fn();
  }
}
