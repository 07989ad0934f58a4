// The architectures tinyseek builds, chosen by config.json's `model_type`: DeepSeek-V3/V2
// (`deepseek_v3`, `deepseek_v2`) and the dense students Qwen2 / Llama (`qwen2`, `llama`). Reading,
// writing and instantiating a configuration of any of them goes through here.
import { configFromHF, configToHF, ConfigError, loadConfigPath } from './config.js';
import type { ConfigReadOptions, ModelConfig } from './config.js';
import { denseConfigFromHF, denseConfigToHF, isDenseModelType } from './dense/config.js';
import type { DenseConfig } from './dense/config.js';
import { DeepseekV3 } from './model.js';
import { DenseForCausalLM } from './dense/model.js';
import type { CausalLM } from './causal-lm.js';
import fs from 'node:fs';
import path from 'node:path';

/** A configuration of any architecture. */
export type AnyModelConfig = ModelConfig | DenseConfig;

/** Whether a configuration is a dense Qwen2 / Llama one. */
export function isDenseConfig(c: AnyModelConfig): c is DenseConfig {
  return isDenseModelType(c.modelType);
}

/** Reads a HF config.json object of any architecture (dispatching on model_type) and validates it. */
export function anyConfigFromHF(json: unknown, opts: ConfigReadOptions = {}): AnyModelConfig {
  const t = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>).model_type : undefined;
  return isDenseModelType(t) ? denseConfigFromHF(json, opts) : configFromHF(json, opts);
}

/** Writes the HF config.json object of any configuration. */
export function anyConfigToHF(c: AnyModelConfig): Record<string, unknown> {
  return isDenseConfig(c) ? denseConfigToHF(c) : configToHF(c);
}

/** A freshly initialized model of a configuration (weights from `seed`). */
export function createModel(c: AnyModelConfig, seed = 0): CausalLM {
  return isDenseConfig(c) ? new DenseForCausalLM(c, seed) : new DeepseekV3(c, seed);
}

/** The configuration of a model, typed by its architecture. */
export function modelConfig(m: CausalLM): AnyModelConfig {
  return m.cfg;
}

/** A config.json file or a model directory holding one, of any architecture (a directory's config must state every shape key). */
export function loadAnyConfigPath(fileOrDir: string): AnyModelConfig {
  let file = fileOrDir;
  let requireKeys = false;
  try {
    if (fs.statSync(fileOrDir).isDirectory()) {
      file = path.join(fileOrDir, 'config.json');
      requireKeys = true;
    }
  } catch {
    throw new ConfigError(`no such file or directory: ${fileOrDir}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // Unreadable or invalid: the DeepSeek reader's messages say which.
    return loadConfigPath(fileOrDir);
  }
  const t = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).model_type : undefined;
  if (!isDenseModelType(t)) return loadConfigPath(fileOrDir);
  try {
    return denseConfigFromHF(json, { requireKeys });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message.replace(/^config\.json: /, '')}`, e.key, e.expected, e.found);
    throw e;
  }
}

/** The model as a DeepseekV3, or a ConfigError naming what it is instead (for DeepSeek-only tools). */
export function asDeepseek(m: CausalLM, what = 'this'): DeepseekV3 {
  if (m instanceof DeepseekV3) return m;
  throw new ConfigError(`${what} needs a DeepSeek-V3/V2 model (MLA, MoE); found a ${m.cfg.modelType} model`, 'model_type', '"deepseek_v3" or "deepseek_v2"', m.cfg.modelType);
}

/** The config as DeepSeek's ModelConfig, or a ConfigError naming what it is instead (for DeepSeek-only tools). */
export function deepseekConfig(c: AnyModelConfig, what = 'this'): ModelConfig {
  if (!isDenseConfig(c)) return c;
  throw new ConfigError(`${what} needs a DeepSeek-V3/V2 config (MLA, MoE); found a ${c.modelType} config`, 'model_type', '"deepseek_v3" or "deepseek_v2"', c.modelType);
}
