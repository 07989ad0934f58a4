#!/usr/bin/env node
// The `tinyseek` command: runs this repository's compiled CLI (dist/, built by `npm ci`).
// It lives in this small workspace package, not in the root package.json's "bin", because npx
// installs a project whose own package.json has a matching "bin" into its cache (re-running the
// TypeScript compile and the native build) instead of running it; a workspace's bin is linked
// into node_modules/.bin, which npx runs directly.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('tinyseek: dist/ is missing; build it with `npm run build` (or run `npm ci`)');
  process.exit(1);
}
await import(entry.href);
