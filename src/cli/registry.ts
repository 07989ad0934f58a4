// The list of tinyseek's commands. Each module exports `register(program)`.
import type { Command } from 'commander';
import * as bench from './commands/bench.js';

/** Registers every command on the program. */
export function registerAll(program: Command): void {
  bench.register(program);
}
