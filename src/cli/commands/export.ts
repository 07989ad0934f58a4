// `tinyseek export gguf MODEL_DIR OUT.gguf`: writes a model directory as a llama.cpp GGUF file —
// DeepSeek-V3/V2 as `deepseek2` (MLA form, stacked experts), a dense student as `qwen2` / `llama` —
// with its byte-level BPE tokenizer, F32 or F16.
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { CliError, EXIT_FAILURE } from '../errors.js';
import { exportGguf, type GgufExportDtype } from '../../model/gguf-export.js';
import { loadForCli } from './generate.js';

interface ExportOptions {
  dtype: string;
  mtp: boolean;
  name?: string;
  json: boolean;
}

/** Registers `tinyseek export` and its `gguf` subcommand. */
export function register(program: Command): void {
  const exp = program.command('export').description('convert a model directory to another format (gguf)');
  exp
    .command('gguf')
    .description('write a model directory as a llama.cpp GGUF file (deepseek2, or qwen2 / llama for a dense student)')
    .argument('<model_dir>', 'model directory (config.json, model.safetensors, tokenizer.json)')
    .argument('<out>', 'output .gguf file')
    .option('--dtype <type>', 'weight storage type: f32 or f16 (norms and router stay f32)', 'f32')
    .option('--no-mtp', 'leave out the MTP module (nextn layers)')
    .option('--name <name>', 'general.name (default: the output file name)')
    .option('--json', 'print a JSON summary', false)
    .action((dir: string, out: string, o: ExportOptions) => {
      const dtype = o.dtype.toLowerCase();
      if (dtype !== 'f32' && dtype !== 'f16') throw new CliError(`--dtype: expected f32 or f16, found "${o.dtype}"`);
      const parent = path.dirname(path.resolve(out));
      if (!fs.existsSync(parent)) throw new CliError(`${out}: directory ${parent} does not exist`);
      if (fs.existsSync(out) && fs.statSync(out).isDirectory()) throw new CliError(`${out} is a directory; give a file name such as model.gguf`);
      const lm = loadForCli(dir);
      const t0 = performance.now();
      let r;
      try {
        r = exportGguf(lm.model, lm.tokenizer, out, { dtype: dtype as GgufExportDtype, mtp: o.mtp, name: o.name });
      } catch (e) {
        throw new CliError(`export to ${out} failed: ${(e as Error).message}`, EXIT_FAILURE);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (o.json) {
        console.log(JSON.stringify({ path: r.path, bytes: r.bytes, tensors: r.tensors, metadata_keys: r.metadataKeys, dtype: r.dtype, mtp: r.mtpIncluded, warnings: r.warnings, seconds: Number(seconds.toFixed(3)) }));
        return;
      }
      const arch = lm.model.cfg.modelType.startsWith('deepseek') ? 'deepseek2' : lm.model.cfg.modelType;
      console.log(`wrote ${r.path}: ${arch} ${r.dtype.toUpperCase()}, ${r.tensors} tensors, ${r.metadataKeys} metadata keys, ${(r.bytes / 1e6).toFixed(2)} MB${r.mtpIncluded ? ', MTP included' : ''} (${seconds.toFixed(2)} s)`);
      for (const w of r.warnings) console.error(`warning: ${w}`);
    });
}
