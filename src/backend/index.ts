// Backend selection: the native addon when it loads, else the reference backend.
// TINYSEEK_BACKEND=reference|native forces one (native then fails loudly if it cannot load);
// any other non-empty value is an error naming the valid ones, never silently ignored.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kernels } from './kernels.js';
import { createReferenceBackend } from './reference.js';
import { wrapNativeAddon } from './native.js';

export type { Kernels } from './kernels.js';

/** Error from backend selection: a bad TINYSEEK_BACKEND value or a forced backend that cannot load. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

/** The values TINYSEEK_BACKEND accepts. */
export const BACKEND_NAMES = ['native', 'reference'] as const;
/** A backend name. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * The backend TINYSEEK_BACKEND asks for: 'native', 'reference', or undefined when unset or empty
 * (native if the addon loads, else reference). Throws BackendError for any other value.
 */
export function requestedBackend(env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const want = env.TINYSEEK_BACKEND;
  if (want === undefined || want === '') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(want)) return want as BackendName;
  throw new BackendError(`TINYSEEK_BACKEND=${JSON.stringify(want)} is not a backend; expected one of ${BACKEND_NAMES.join(', ')} (or unset: native when the addon loads, else reference)`);
}

let active: Kernels | null = null;
let reference: Kernels | null = null;
let nativeBackend: Kernels | null | undefined;
let nativeError = '';

/** Path of the compiled addon (native/build/Release/tinyseek.node). */
export function addonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src/backend -> repo root
  return path.resolve(here, '../../../native/build/Release/tinyseek.node');
}

/** The pure-TypeScript backend (always available). */
export function referenceBackend(): Kernels {
  if (!reference) reference = createReferenceBackend();
  return reference;
}

/** The native backend, or null (with `nativeLoadError()` saying why) if the addon cannot load. */
export function nativeBackendOrNull(): Kernels | null {
  if (nativeBackend !== undefined) return nativeBackend;
  try {
    const require = createRequire(import.meta.url);
    const addon = require(addonPath()) as Record<string, unknown>;
    // Loaded lazily so that the reference backend works without the addon.
    nativeBackend = wrapNativeAddon(addon);
  } catch (e) {
    nativeError = e instanceof Error ? e.message : String(e);
    nativeBackend = null;
  }
  return nativeBackend;
}

/** Why the native addon did not load ('' if it did or was not tried). */
export function nativeLoadError(): string {
  return nativeError;
}

let warned = false;
/** The active backend. */
export function backend(): Kernels {
  if (active) return active;
  const want = requestedBackend();
  if (want === 'reference') {
    active = referenceBackend();
  } else {
    const nb = nativeBackendOrNull();
    if (nb) active = nb;
    else {
      if (want === 'native') throw new BackendError(`TINYSEEK_BACKEND=native but the addon did not load: ${nativeError}`);
      if (!warned) {
        warned = true;
        console.warn(`tinyseek: native addon unavailable (${nativeError.split('\n')[0]}); using the reference backend (slow). Run \`npm run build\` after installing libopenblas-dev.`);
      }
      active = referenceBackend();
    }
  }
  return active;
}

/** Switches the active backend (tests run the same suite on both). */
export function setBackend(k: Kernels): void {
  active = k;
}
