// The tensor engine's public surface.
export { Tensor, numelOf, contiguousStrides } from './tensor.js';
export type { Shape } from './tensor.js';
export { tidy, tidyAsync, keep, noGrad, isGradEnabled, setGradEnabled } from './scope.js';
export { liveBuffers, pooledBufferBytes, clearPool, setFloat64Mode, isFloat64Mode } from './storage.js';
export { Rng } from './random.js';
export { TensorError } from './errors.js';
