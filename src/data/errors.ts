// Errors of corpus building.

/** A bad recipe, or a corpus that fails its own checks. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
