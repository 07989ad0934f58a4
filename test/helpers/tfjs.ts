// Loads tfjs-core (ESM build, all gradients registered) with the cpu backend, for oracle tests.
import { register } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';

/** tfjs-core with gradients and the cpu backend active. */
export async function loadTfjs(): Promise<typeof TF> {
  register('./tfjs-resolve-hooks.js', import.meta.url);
  const tf = (await import('@tensorflow/tfjs-core/dist/index.js' as string)) as typeof TF;
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
  await import('@tensorflow/tfjs-backend-cpu/dist/index.js' as string);
  await tf.setBackend('cpu');
  return tf;
}
