/** Exit status of a bad command line or bad input (unknown option, bad value, missing file). */
export const EXIT_USAGE = 2;
/** Exit status of a failure while running a well-formed command (a write failed, a port is taken). */
export const EXIT_FAILURE = 1;

/**
 * Error raised by a command; printed as one line. `exitCode` is EXIT_USAGE (2, the default) for
 * bad usage or input and EXIT_FAILURE (1) for a failure while running.
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: typeof EXIT_USAGE | typeof EXIT_FAILURE = EXIT_USAGE) {
    super(message);
    this.name = 'CliError';
  }
}
