// The model shipped in the repository (models/tinyseek-r1-mini): what `serve`, `chat`, `generate`
// and `ttc` use when no model directory is given, found from the package root (not the working
// directory), so `npx tinyseek chat` works from anywhere inside the project.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.js';

/** The repository root (the directory holding package.json above this file). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** The shipped model's directory. */
export function defaultModelDir(): string {
  return path.join(packageRoot(), 'models', 'tinyseek-r1-mini');
}

/** The help text of an optional model directory argument. */
export const MODEL_DIR_HELP = 'model directory (config.json, model.safetensors, tokenizer.json; default: the shipped models/tinyseek-r1-mini)';

/** `dir`, or the shipped model when none was given (a clear error if it is missing). */
export function modelDirOrShipped(dir: string | undefined): string {
  if (dir) return dir;
  const shipped = defaultModelDir();
  if (!fs.existsSync(path.join(shipped, 'config.json'))) {
    throw new CliError(`no model directory given and the shipped model is missing (${shipped}); pass MODEL_DIR (a model directory such as runs/NAME/final, written by tinyseek pretrain, sft, grpo or r1-zero)`);
  }
  return shipped;
}
