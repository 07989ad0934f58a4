// A lazy, named collection of stored tensors: one safetensors file, a sharded checkpoint, …
// Only the headers are read when a source is opened; `read` fetches one tensor's bytes.

import type { TensorInfo, TensorRecord } from './record.js';

/** Read access to stored tensors by name; raw dtypes, nothing converted. Call `close()` when done. */
export interface TensorSource {
  /** The file or directory this source reads. */
  readonly path: string;
  /** Tensor names, in storage order. */
  keys(): string[];
  /** True if a tensor of that name is stored. */
  has(name: string): boolean;
  /** Dtype, shape and byte size of a tensor (throws if absent). */
  info(name: string): TensorInfo;
  /** Reads one tensor's raw elements (throws if absent). */
  read(name: string): TensorRecord;
  /** Releases file handles; the source cannot be read afterwards. */
  close(): void;
}

/** How a checkpoint is opened. */
export interface OpenOptions {
  /**
   * Memory-map the files: a read returns a view into the mapping instead of a copy, so nothing is
   * read from disk until a tensor's values are first touched, and untouched tensors (experts a
   * prompt never routes to) never occupy memory. Needs the native addon.
   */
  mmap?: boolean;
}
