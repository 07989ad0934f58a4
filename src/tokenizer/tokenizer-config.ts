// tokenizer_config.json: which special token plays which role, and the chat templates (a list of
// {name, template}, the form transformers reads as named templates; "default" is used when no name is given).

import { TokenizerError } from './errors.js';
import { NAMED_TEMPLATES } from './chat-template.js';
import { SPECIAL } from './special-tokens.js';

/** The tokenizer_config.json fields tinyseek reads and writes. */
export interface TokenizerConfig {
  /** null when the tokenizer has none (Qwen's bos_token). */
  bos_token: string | null;
  eos_token: string | null;
  /** null when tokenizer_config.json names none (Llama-3): padding uses EOS. */
  pad_token: string | null;
  unk_token: null;
  add_bos_token: boolean;
  add_eos_token: boolean;
  clean_up_tokenization_spaces: boolean;
  model_max_length: number;
  tokenizer_class: string;
  chat_template: Array<{ name: string; template: string }>;
}

/** The default config: DeepSeek-R1's bos/eos/pad and both named templates. */
export function defaultTokenizerConfig(modelMaxLength = 512): TokenizerConfig {
  return {
    bos_token: SPECIAL.bos,
    eos_token: SPECIAL.eos,
    pad_token: SPECIAL.pad,
    unk_token: null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    tokenizer_class: 'PreTrainedTokenizerFast',
    chat_template: Object.entries(NAMED_TEMPLATES).map(([name, template]) => ({ name, template })),
  };
}

function tokenString(v: unknown, key: string, source: string): string | null {
  if (typeof v === 'string') return v;
  if (v === null) return null;
  // transformers also writes special tokens as {"content": "...", ...} objects
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  throw new TokenizerError(`${source}: expected ${key} to be a string; found ${JSON.stringify(v)}`);
}

/**
 * Parses tokenizer_config.json text, filling missing fields from the defaults (`foreign`: the file
 * belongs to a tokenizer.json tinyseek did not write, so absent tokens are absent, not R1's, and
 * the default chat template is R1's only if the file has none).
 */
export function parseTokenizerConfig(text: string, source = 'tokenizer_config.json', foreign = false): TokenizerConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${source}: expected JSON; ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TokenizerError(`${source}: expected a JSON object; found ${JSON.stringify(raw)?.slice(0, 40)}`);
  }
  const r = raw as Record<string, unknown>;
  const d = defaultTokenizerConfig();
  let templates = d.chat_template;
  if (typeof r.chat_template === 'string') {
    templates = [{ name: 'default', template: r.chat_template }];
  } else if (Array.isArray(r.chat_template)) {
    templates = r.chat_template.map((t: unknown, i: number) => {
      const o = t as { name?: unknown; template?: unknown };
      if (typeof o?.name !== 'string' || typeof o?.template !== 'string') {
        throw new TokenizerError(`${source}: chat_template[${i}] must be {"name": string, "template": string}; found ${JSON.stringify(t)?.slice(0, 80)}`);
      }
      return { name: o.name, template: o.template };
    });
  } else if (r.chat_template !== undefined) {
    throw new TokenizerError(`${source}: chat_template must be a string or a list of {name, template}; found ${typeof r.chat_template}`);
  }
  return {
    ...d,
    bos_token: r.bos_token === undefined ? (foreign ? null : d.bos_token) : tokenString(r.bos_token, 'bos_token', source),
    eos_token: r.eos_token === undefined ? (foreign ? null : d.eos_token) : tokenString(r.eos_token, 'eos_token', source),
    pad_token: r.pad_token === undefined ? (foreign ? null : d.pad_token) : tokenString(r.pad_token, 'pad_token', source),
    add_bos_token: typeof r.add_bos_token === 'boolean' ? r.add_bos_token : d.add_bos_token,
    add_eos_token: typeof r.add_eos_token === 'boolean' ? r.add_eos_token : d.add_eos_token,
    clean_up_tokenization_spaces:
      typeof r.clean_up_tokenization_spaces === 'boolean' ? r.clean_up_tokenization_spaces : d.clean_up_tokenization_spaces,
    model_max_length: typeof r.model_max_length === 'number' ? r.model_max_length : d.model_max_length,
    tokenizer_class: typeof r.tokenizer_class === 'string' ? r.tokenizer_class : d.tokenizer_class,
    chat_template: templates,
  };
}
