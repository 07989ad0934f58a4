// Public API of the tokenizer layer.
export { BYTE_TO_UNICODE, UNICODE_TO_BYTE, toByteLevel } from './byte-level.js';
export { BPE, type BPEData } from './bpe.js';
export {
  applyChatTemplate,
  renderTemplate,
  renderR1ZeroCompletion,
  R1ZERO_COMPLETION_TEMPLATE,
  resolveTemplate,
  DEFAULT_CHAT_TEMPLATE,
  R1ZERO_CHAT_TEMPLATE,
  R1ZERO_PREAMBLE,
  NAMED_TEMPLATES,
  type ApplyChatTemplateOptions,
  type ChatMessage,
} from './chat-template.js';
export { TokenizerError } from './errors.js';
export { fromTokenizerJSON, toTokenizerJSON, type HFTokenizerJSON, type TokenizerFileData } from './hf-json.js';
export { preTokenize, PRE_TOKENIZER_JSON } from './pretokenize.js';
export { SPECIAL, DEFAULT_SPECIAL_TOKENS, SpecialTokenMatcher, type TextPiece } from './special-tokens.js';
export { defaultTokenizerConfig, parseTokenizerConfig, type TokenizerConfig } from './tokenizer-config.js';
export { Tokenizer, type EncodeOptions, type DecodeOptions, type TokenizerChatOptions } from './tokenizer.js';
export { trainBPE, countWords, type TrainBPEOptions, type TrainedBPE } from './train-bpe.js';
