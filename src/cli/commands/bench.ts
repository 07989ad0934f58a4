// `tinyseek bench NAME`: runs a benchmark program from bench/ (tinyseek and its peer side by side).
import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../errors.js';

/** Options every benchmark accepts. */
export interface BenchOptions {
  json: boolean;
  seconds: number;
  /** Directory for a written report, for the benchmarks that write one (parallel). */
  out?: string;
}

/** The shape of a benchmark module under bench/. */
export interface BenchModule {
  description: string;
  run(opts: BenchOptions): Promise<void>;
}

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench');

function listBenches(): string[] {
  try {
    return readdirSync(benchDir)
      .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
      .map((f) => f.slice(0, -3))
      .sort();
  } catch {
    return [];
  }
}

/** Registers `tinyseek bench`. */
export function register(program: Command): void {
  program
    .command('bench')
    .description('run a benchmark against its peer (OpenBLAS, PyTorch CPU, llama.cpp) and print the ratio')
    .argument('[name]', 'benchmark name (omit to list them)')
    .option('--json', 'print one JSON object per line', false)
    .option('--seconds <s>', 'time budget per measurement', (v) => Number(v), 2)
    .option('--out <dir>', 'also write a report (NAME.md, NAME.json) into this directory, for benchmarks that write one')
    .action(async (name: string | undefined, opts: { json: boolean; seconds: number; out?: string }) => {
      const names = listBenches();
      if (!name) {
        for (const n of names) {
          const mod = (await import(path.join(benchDir, `${n}.js`))) as BenchModule;
          console.log(`${n.padEnd(10)} ${mod.description}`);
        }
        return;
      }
      if (!names.includes(name)) {
        throw new CliError(`unknown benchmark "${name}"; expected one of: ${names.join(', ') || '(none built)'}`);
      }
      const mod = (await import(path.join(benchDir, `${name}.js`))) as BenchModule;
      await mod.run({ json: opts.json, seconds: opts.seconds, out: opts.out });
    });
}
