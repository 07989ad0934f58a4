// Module resolve/load hooks that let Node load tfjs-core's ESM build (dist/index.js), whose internal
// imports omit the ".js" extension: relative specifiers inside @tensorflow packages get ".js"
// (or "/index.js"), and the bare package names point at the ESM entry so that core,
// gradients and the cpu backend share one engine instance.
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

type Resolve = (spec: string, ctx: { parentURL?: string }) => Promise<{ url: string; format?: string; shortCircuit?: boolean }>;

const ESM_ENTRY: Record<string, string> = {
  '@tensorflow/tfjs-core': '@tensorflow/tfjs-core/dist/index.js',
  '@tensorflow/tfjs-backend-cpu': '@tensorflow/tfjs-backend-cpu/dist/index.js',
};

/** Node resolve hook. */
export async function resolve(spec: string, ctx: { parentURL?: string }, next: Resolve): Promise<{ url: string; format?: string; shortCircuit?: boolean }> {
  const parent = ctx.parentURL ?? '';
  const inTf = parent.includes('/node_modules/@tensorflow/');
  if (inTf && ESM_ENTRY[spec]) return next(ESM_ENTRY[spec], ctx);
  if (inTf && (spec.startsWith('./') || spec.startsWith('../')) && !spec.endsWith('.js')) {
    const base = path.resolve(path.dirname(fileURLToPath(parent)), spec);
    const cand = existsSync(base + '.js') ? base + '.js' : existsSync(base) && statSync(base).isDirectory() ? path.join(base, 'index.js') : null;
    if (cand) return { url: pathToFileURL(cand).href, format: 'module', shortCircuit: true };
  }
  if (inTf && spec.startsWith('@tensorflow/tfjs-core/dist/') && !spec.endsWith('.js')) return next(spec + '.js', ctx);
  return next(spec, ctx);
}

type Load = (url: string, ctx: object) => Promise<{ format?: string; source?: string | ArrayBuffer | Uint8Array; shortCircuit?: boolean }>;

/** Node load hook: gives tfjs ESM files that call require() (platform_node.js) a module-local require. */
export async function load(url: string, ctx: object, next: Load): Promise<{ format?: string; source?: string | ArrayBuffer | Uint8Array; shortCircuit?: boolean }> {
  const r = await next(url, ctx);
  if (url.includes('/node_modules/@tensorflow/') && r.format === 'module' && r.source) {
    const src = typeof r.source === 'string' ? r.source : Buffer.from(r.source as Uint8Array).toString('utf8');
    if (src.includes('require(')) {
      return { ...r, source: `import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);\n${src}`, shortCircuit: true };
    }
  }
  return r;
}
