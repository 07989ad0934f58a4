// Errors of the tasks layer.

/** A task problem: unknown family, bad difficulty, malformed problem metadata or dataset file. */
export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}
