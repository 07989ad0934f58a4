// API errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with an HTTP status.
// Every error the server answers goes through ApiError, so clients (the official openai package,
// LangChain, curl users) see the fields they parse.

/** OpenAI's error types. */
export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'server_error' | 'rate_limit_error';

/** The JSON body of an error response. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** An error answered to the client with an HTTP status and OpenAI's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 429 | 500 | 503,
    message: string,
    readonly type: ApiErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The response body. */
  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Malformed JSON body. */
export function invalidJson(detail: string): ApiError {
  return new ApiError(400, `We could not parse the JSON body of your request: ${detail}. Expected a JSON object.`, 'invalid_request_error', null, 'invalid_json');
}

/** A request for a model this server does not serve. */
export function modelNotFound(model: string, served: readonly string[]): ApiError {
  return new ApiError(404, `The model \`${model}\` does not exist; this server serves: ${served.join(', ')}`, 'invalid_request_error', 'model', 'model_not_found');
}

/** Missing or wrong API key. */
export function unauthorized(found: 'missing' | 'wrong'): ApiError {
  const message = found === 'missing'
    ? 'You didn\'t provide an API key. Send it as "Authorization: Bearer KEY".'
    : 'Incorrect API key provided.';
  return new ApiError(401, message, 'invalid_request_error', null, 'invalid_api_key');
}

/** The body is larger than the server accepts (`found`: its Content-Length, when it announced one). */
export function payloadTooLarge(limit: number, found?: number): ApiError {
  const what = found === undefined ? '' : `; this one announces ${found} bytes`;
  return new ApiError(413, `Request body too large: expected at most ${limit} bytes${what} (the server's --max-body).`, 'invalid_request_error', null, 'request_too_large');
}

/**
 * The prompt is certainly longer than the context, judged by its size before tokenizing: no token
 * covers more than `maxTokenBytes` bytes, so `bytes` of text are at least bytes / maxTokenBytes tokens.
 */
export function promptTooLarge(bytes: number, contextLength: number, maxTokenBytes: number, limit: number, param: string): ApiError {
  return new ApiError(
    400,
    `This model's maximum context length is ${contextLength} tokens. However, your prompt is ${bytes} bytes (UTF-8) long, and since no token of this model covers more than ${maxTokenBytes} bytes it has more than ${Math.floor(bytes / maxTokenBytes)} tokens: a prompt that leaves room for a completion has at most ${limit} bytes. Please shorten it.`,
    'invalid_request_error',
    param,
    'context_length_exceeded',
  );
}

/** Too many prompt tokens are queued or decoding to accept this request now (load shedding; retry later). */
export function serverBusy(queued: number, needed: number, limit: number): ApiError {
  return new ApiError(
    503,
    `The server is busy: ${queued} prompt tokens are queued or decoding and this request needs up to ${needed} more, over the limit of ${limit} (--max-queued-tokens). Please retry later.`,
    'server_error',
    null,
    'server_overloaded',
  );
}

/** Error code of a request whose client went away before sending its whole body. */
export const CLIENT_CLOSED = 'client_closed_request';

/** The client disconnected before sending the whole body (nobody receives the answer; logged in one line). */
export function clientClosed(): ApiError {
  return new ApiError(400, 'The client disconnected before sending the whole request body.', 'invalid_request_error', null, CLIENT_CLOSED);
}

/** The prompt does not leave room for one generated token. */
export function contextExceeded(promptTokens: number, contextLength: number, param: string): ApiError {
  return new ApiError(
    400,
    `This model's maximum context length is ${contextLength} tokens. However, your prompt has ${promptTokens} tokens, which leaves no room for a completion. Please shorten it.`,
    'invalid_request_error',
    param,
    'context_length_exceeded',
  );
}

/** Converts anything thrown inside a handler into an ApiError (unknown errors become 500). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ApiError(500, `Internal server error: ${message}`, 'server_error', null, null);
}
