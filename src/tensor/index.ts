// The tensor engine's public surface.
export { Tensor, numelOf, contiguousStrides } from './tensor.js';
export type { Shape } from './tensor.js';
export { tidy, keep, noGrad, isGradEnabled, capture } from './scope.js';
export { backwardFrom, backwardInputs, DeferredWeightGrad } from './autograd.js';
export type { BackwardSeed } from './autograd.js';
export { liveBuffers, setFloat64Mode, isFloat64Mode, freshAllocations, pooledBufferBytes, emptyPool, poolLimitBytes, setPoolLimitBytes } from './storage.js';
export { Rng } from './random.js';
export { TensorError } from './errors.js';
