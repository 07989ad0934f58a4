// What the MPI suites share: whether Open MPI can run here (skip, or fail under
// TINYSEEK_REQUIRE_TOOLS=1), the environment mpirun needs in a root container, and the command line.
import { spawnSync } from 'node:child_process';
import { mpiUnavailableReason } from '../../src/parallel/mpi.js';
import { toolSkip } from './tools.js';

function mpiReason(): string | null {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)';
  return mpiUnavailableReason();
}

/** For a test's `{ skip }`: false when mpirun and the MPI binding work, else the reason. */
export const mpiSkip = toolSkip('Open MPI (mpirun and the MPI binding)', mpiReason());

/** Open MPI refuses root unless told (CI containers run as root); one BLAS thread per rank. */
export const mpiEnv: NodeJS.ProcessEnv = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', TINYSEEK_NUM_THREADS: '1' };

/** `mpirun --oversubscribe -np n node args…` as [command, args] for spawn/spawnSync. */
export const mpirun = (n: number, args: string[]) => ['mpirun', ['--oversubscribe', '-np', String(n), process.execPath, ...args]] as const;
