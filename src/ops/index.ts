// Every op, in one import.
export * from './elementwise.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './loss.js';
export * from './norm.js';
export * from './rope.js';
export * from './attention.js';
export * from './indexing.js';
export * from './shape.js';
export * from './swiglu.js';
export * from './grouped-linear.js';
export * from './grouped-linear16.js';
