// The worker thread of the template sandbox (template-sandbox.ts): compiles and renders Jinja
// templates that came from files (tokenizer_config.json, a --template argument), one request at a
// time, and signals the waiting main thread through a shared flag. Its time and heap are bounded by
// the main thread, which terminates it when a render runs past the limit.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Template } from '@huggingface/jinja';

/** A render request. */
export interface RenderRequest {
  id: number;
  source: string;
  variables: Record<string, unknown>;
  maxChars: number;
}

/** Its reply: the text, or an error of one kind. */
export type RenderReply =
  | { id: number; ok: true; text: string }
  | { id: number; ok: false; kind: 'parse' | 'render' | 'output'; message: string };

const { flag, port } = workerData as { flag: Int32Array; port: MessagePort };
const compiled = new Map<string, Template>();

function reply(r: RenderReply): void {
  port.postMessage(r);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

parentPort!.on('message', (m: RenderRequest) => {
  let t = compiled.get(m.source);
  if (!t) {
    try {
      t = new Template(m.source);
    } catch (e) {
      reply({ id: m.id, ok: false, kind: 'parse', message: (e as Error).message });
      return;
    }
    compiled.set(m.source, t);
  }
  let text: string;
  try {
    text = t.render(m.variables);
  } catch (e) {
    reply({ id: m.id, ok: false, kind: 'render', message: (e as Error).message });
    return;
  }
  if (text.length > m.maxChars) reply({ id: m.id, ok: false, kind: 'output', message: `${text.length} characters` });
  else reply({ id: m.id, ok: true, text });
});

// Ready: the main thread waits for this before it starts timing the first render.
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
