// Request schemas (zod) for the OpenAI-compatible endpoints, and the conversion of a failed parse
// into OpenAI's error shape (400 with `param` naming the offending field). Unknown fields are
// ignored, as most OpenAI-compatible servers do; fields DeepSeek's reasoner accepts without effect
// (presence/frequency penalties) are accepted and ignored.
import { z } from 'zod';
import { ApiError } from './errors.js';

/** How the reasoning is returned: in `reasoning_content` (DeepSeek's format) or inline in `content` as <think>…</think>. */
export const ReasoningFormat = z.enum(['separate', 'inline']);
export type ReasoningFormat = z.infer<typeof ReasoningFormat>;

const textPart = z.object({ type: z.literal('text'), text: z.string() });
/** Message content: a string or a list of text parts (what newer OpenAI clients send). */
const content = z.union([z.string(), z.array(textPart)]);

const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: content.nullish(),
  name: z.string().optional(),
  /** A previous turn's reasoning: accepted and never fed back to the model (as DeepSeek does). */
  reasoning_content: z.string().nullish(),
});

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();

/** Fields shared by both endpoints. */
const common = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Extension (vLLM, llama.cpp): keep only the k most likely tokens; 0 = off. */
  top_k: z.number().int().min(0).nullish(),
  /** Extension (vLLM, llama.cpp): keep only tokens with p ≥ min_p · p_max; 0 = off. */
  min_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  stop,
  seed: z.number().int().nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().nullish(),
};

/** POST /v1/chat/completions. */
export const ChatCompletionRequest = z.object({
  ...common,
  messages: z.array(message).min(1),
  /** Newer OpenAI name of max_tokens. */
  max_completion_tokens: z.number().int().min(1).nullish(),
  reasoning_format: ReasoningFormat.nullish(),
  logprobs: z.boolean().nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;
export type ChatMessageIn = z.infer<typeof message>;

/** POST /v1/completions (a raw prompt, no chat template). */
export const CompletionRequest = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(16)]),
  echo: z.boolean().nullish(),
  logprobs: z.number().int().nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** A parameter path as OpenAI writes it: messages[0].content. */
function paramPath(path: readonly PropertyKey[]): string | null {
  if (!path.length) return null;
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let v = body;
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Parses a request body or throws a 400 ApiError naming the first bad field. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, `Expected a JSON object as the request body; found ${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}.`, 'invalid_request_error', null, 'invalid_type');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = paramPath(issue.path);
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem${r.error.issues.length > 2 ? 's' : ''})` : '';
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  let detail = issue.message;
  let typeError = issue.code === 'invalid_type';
  if (issue.code === 'invalid_union') {
    // "Invalid input" says little: name the accepted types instead.
    const roots = issue.errors.map((alt) => alt.find((x) => x.path.length === 0));
    const expected = [...new Set(roots.map((x) => (x && x.code === 'invalid_type' ? String(x.expected) : null)).filter((x): x is string => x !== null))];
    if (expected.length === roots.length) {
      typeError = true;
      detail = `expected ${expected.join(' or ')}, received ${describe(valueAt(body, issue.path))}`;
    }
  }
  const message = missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param ?? 'body'}': ${detail}.${more}`;
  throw new ApiError(400, message, 'invalid_request_error', param, missing ? 'missing_required_parameter' : typeError ? 'invalid_type' : 'invalid_value');
}
