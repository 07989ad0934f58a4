// Errors of the io layer: one class per file format, all sharing a base class so a caller
// (e.g. the CLI) can catch every checkpoint/format problem at once and print its message.

/** Base class of every error raised by src/io (bad files, bad records, mismatched tensors). */
export class IoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IoError';
  }
}

/** A malformed or unreadable safetensors file, or a record that cannot be written as one. */
export class SafetensorsError extends IoError {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** A malformed or unreadable GGUF file, or input that cannot be written as one. */
export class GgufError extends IoError {
  constructor(message: string) {
    super(message);
    this.name = 'GgufError';
  }
}

/** A model directory or checkpoint that does not match what the model expects. */
export class CheckpointError extends IoError {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}
