// Public entry point of the io layer: checkpoints (safetensors, sharded, HF model directories),
// dtype conversions, FP8 block scales, tensor checks and the GGUF container.

export * from './atomic.js';
export * from './check.js';
export * from './dtypes.js';
export * from './errors.js';
export * from './float32.js';
export * from './fp8.js';
export * from './gguf.js';
export * from './hfdir.js';
export * from './record.js';
export * from './safetensors-header.js';
export * from './safetensors.js';
export * from './sharded.js';
export type * from './source.js';
