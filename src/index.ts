// tinyseek's public API: `import { loadModelDir, Generator, Tokenizer, DeepseekV3 } from 'tinyseek'`.
// Only what is re-exported here is stable; deeper modules may change between versions.

// Model directories for inference: weights + tokenizer + generation defaults (the model is in eval mode).
export { loadModelDir, createGenerator, chatPrompt, completionPrompt, samplingFrom, endsInsideThink, readGenerationDefaults, LoadError } from './infer/load.js';
export type { LoadedModel, ChatPrompt, GenerationDefaults } from './infer/load.js';

// Generation with a KV cache, continuous batching, stop tokens and MTP speculative decoding.
export { Generator } from './infer/generator.js';
export type { GeneratorOptions, GenerateRequest, GenerateResult, TokenEvent, FinishReason, GeneratorStats } from './infer/generator.js';
export type { SamplingParams } from './infer/sampler.js';

// Splitting a token stream into reasoning (<think>…</think>) and answer, decoding UTF-8 incrementally.
export { ReasoningSplitter, splitReasoning } from './infer/chat-stream.js';
export type { ChatDelta, ChatChannel, ReasoningSplitterOptions } from './infer/chat-stream.js';

// Tokenizers: tinyseek's own and Hugging Face byte-level BPE tokenizer.json files (DeepSeek, Qwen, Llama-3), with chat templates.
export { Tokenizer, TokenizerError, applyChatTemplate, SPECIAL } from './tokenizer/index.js';
export type { ChatMessage, EncodeOptions, DecodeOptions, TokenizerChatOptions, TokenizerConfig } from './tokenizer/index.js';

// The DeepSeek-V3 model (MLA, DeepSeekMoE, MTP), its configurations and checkpoints.
export { DeepseekV3 } from './model/model.js';
export type { ForwardOptions, ForwardResult, LossResult } from './model/model.js';
export { saveModel, isModelDir, CheckpointError } from './model/checkpoint.js';
export type { LoadModelOptions, SaveModelOptions } from './model/checkpoint.js';
export type { PublishedLayout } from './model/published.js';
export { getPreset, presetNames, resolveConfig } from './model/presets.js';
export { configFromHF, configToHF, loadConfigPath, ConfigError } from './model/config.js';
export type { ModelConfig } from './model/config.js';

// The dense Qwen2 / Llama students (DeepSeek-R1-Distill's architecture) and what every model shares.
export { DenseForCausalLM } from './model/dense/model.js';
export { denseConfigFromHF, denseConfigToHF } from './model/dense/config.js';
export type { DenseConfig, DenseModelType } from './model/dense/config.js';
export type { CausalLM, CausalLMConfig, ModelCache } from './model/causal-lm.js';
export { createModel, anyConfigFromHF, anyConfigToHF, isDenseConfig, asDeepseek } from './model/registry.js';
export type { AnyModelConfig } from './model/registry.js';
export { getAnyPreset, resolveAnyConfig } from './model/presets.js';

// The OpenAI-compatible server (chat completions with reasoning_content, completions, models).
export { startServer } from './serve/server.js';
export type { ServerOptions, RunningServer } from './serve/server.js';
