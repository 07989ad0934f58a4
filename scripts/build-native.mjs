// Builds the N-API addons with node-gyp against Node's own headers:
//   native/      → native/build/Release/tinyseek.node (kernels over OpenBLAS)
//   native/mpi/  → native/mpi/build/Release/tinyseek_mpi.node (the MPI binding, over Open MPI's mpicc flags)
// A failed build is reported once and does not fail the install: without the kernels addon tinyseek
// runs on the pure-TypeScript reference backend, and without the MPI binding everything but the
// multi-process commands (--dp) works. TINYSEEK_REQUIRE_NATIVE=1 makes either failure fatal.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : '');
const required = process.env.TINYSEEK_REQUIRE_NATIVE === '1';
let failed = false;

function build(dir, msg, precheck) {
  const missing = precheck?.();
  if (!missing) {
    const args = [gyp, 'rebuild', '--directory', dir];
    if (nodedir) args.push(`--nodedir=${nodedir}`);
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status === 0) return;
  }
  console[required ? 'error' : 'warn'](`${msg}${missing ? ` (${missing})` : ''}`);
  failed = true;
}

build(path.join(root, 'native'), 'tinyseek: the native addon did not build (is libopenblas-dev installed?); the reference backend will be used.');
build(path.join(root, 'native', 'mpi'),
  'tinyseek: the MPI binding did not build (install openmpi-bin and libopenmpi-dev); multi-process training (--dp) is unavailable.',
  () => (spawnSync('mpicc', ['--showme:link']).status === 0 ? null : 'mpicc not found'));
if (failed && required) process.exit(1);
