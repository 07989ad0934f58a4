#!/usr/bin/env node
// tinyseek command-line entry point. Each command lives in its own file under
// src/cli/commands/ and is registered in ./registry.ts.
import { Command } from 'commander';
import { registerAll } from './registry.js';
import { CliError } from './errors.js';

const program = new Command();
program
  .name('tinyseek')
  .description('DeepSeek-V3 / DeepSeek-R1 end to end in TypeScript: model, training, GRPO, inference, serving, and the seed\'s numbers')
  .version('0.1.0')
  .showHelpAfterError();

registerAll(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  // Bad input gets one clear line, not a stack trace (set TINYSEEK_DEBUG=1 for the trace).
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`tinyseek: ${msg}`);
  if (process.env.TINYSEEK_DEBUG && err instanceof Error) console.error(err.stack);
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
