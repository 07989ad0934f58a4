#!/usr/bin/env node
// tinyseek command-line entry point. Each command lives in its own file under
// src/cli/commands/ and is registered in ./registry.ts.
// Exit status: 0 success, 2 bad usage or input (EXIT_USAGE), 1 a failure while running (EXIT_FAILURE).
import { Command, CommanderError } from 'commander';
import { registerAll } from './registry.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.js';
import { RunInterrupted } from '../train/interrupted.js';
import { BackendError, requestedBackend } from '../backend/index.js';

const program = new Command();
program
  .name('tinyseek')
  .description('DeepSeek-V3 / DeepSeek-R1 end to end in TypeScript: model, training, GRPO, inference, serving, and the seed\'s numbers')
  .version('0.1.0')
  .showHelpAfterError()
  // Commander's own parse errors (unknown option or command, missing argument) are thrown instead
  // of exiting with 1, so that they get the same status as every other usage error.
  .exitOverride()
  .addHelpText('after', '\nExit status: 0 success, 2 bad usage or input, 1 failure while running.\nEnvironment: TINYSEEK_BACKEND=native|reference forces a backend; TINYSEEK_DEBUG=1 prints stack traces.');

registerAll(program);

/** The exit status for an error that ended a command. */
function exitCode(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  // Ctrl-C after a checkpoint was saved: the shell's status for SIGINT.
  if (err instanceof RunInterrupted) return 130;
  // help and --version end with exitCode 0; parse errors with 1, which is a usage error here.
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
  return EXIT_FAILURE;
}

async function main(): Promise<void> {
  try {
    requestedBackend();
  } catch (e) {
    if (e instanceof BackendError) throw new CliError(e.message);
    throw e;
  }
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  const code = exitCode(err);
  // Commander has already printed its own message (or the help).
  if (!(err instanceof CommanderError)) {
    // Bad input gets one clear line, not a stack trace (set TINYSEEK_DEBUG=1 for the trace).
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`tinyseek: ${msg}`);
    if (process.env.TINYSEEK_DEBUG && err instanceof Error) console.error(err.stack);
  }
  process.exit(code);
});
