// Builds the N-API addon (native/) with node-gyp against Node's own headers.
// A failed build is reported once and does not fail the install: tinyseek then
// runs on the pure-TypeScript reference backend (set TINYSEEK_REQUIRE_NATIVE=1 to make it fatal).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild', '--directory', path.join(root, 'native')];
const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : '');
if (nodedir) args.push(`--nodedir=${nodedir}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) {
  const msg = 'tinyseek: the native addon did not build (is libopenblas-dev installed?); the reference backend will be used.';
  if (process.env.TINYSEEK_REQUIRE_NATIVE === '1') { console.error(msg); process.exit(1); }
  console.warn(msg);
}
