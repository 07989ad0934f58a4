// The generic GGUF container: format constants and value types, the streaming writer and the
// reader. The DeepSeek (deepseek2) name/metadata mapping lives elsewhere and uses these.

export * from './gguf-format.js';
export * from './gguf-reader.js';
export * from './gguf-writer.js';
