// Memory-mapped files through the native addon (native/src/mmap.c): a file as one Uint8Array whose
// pages the kernel reads from disk only when first touched, and which the page cache can drop again
// under memory pressure (they are clean file pages). Private and copy-on-write: writing into a
// mapped view never changes the file. The mapping is released when the last view is collected.
import { createRequire } from 'node:module';
import { addonPath } from './index.js';

let mapper: ((path: string) => ArrayBuffer) | null | undefined;
let why = '';

/** Whether files can be memory-mapped here (the native addon is built and has mapFile). */
export function canMapFiles(): boolean {
  if (mapper === undefined) {
    try {
      const addon = createRequire(import.meta.url)(addonPath()) as { mapFile?: (path: string) => ArrayBuffer };
      if (typeof addon.mapFile !== 'function') throw new Error('the native addon lacks mapFile (stale build? run npm run build)');
      mapper = addon.mapFile;
    } catch (e) {
      why = (e as Error).message.split('\n')[0]!;
      mapper = null;
    }
  }
  return mapper !== null;
}

/** A whole file, memory-mapped. Throws an Error naming the path and the reason when it cannot be. */
export function mapFile(path: string): Uint8Array {
  if (!canMapFiles()) throw new Error(`cannot memory-map ${path}: ${why}`);
  return new Uint8Array(mapper!(path));
}
