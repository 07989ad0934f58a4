// Errors of the tokenizer layer: bad tokenizer files, bad training options, bad templates.

/** A tokenizer problem: an unreadable or inconsistent tokenizer.json, bad options, an unknown id. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}
