// Chat templates (Jinja, rendered by @huggingface/jinja) — the only way tinyseek builds prompts.
//   default  DeepSeek-R1's chat format: {{bos}}[system]<｜User｜>…<｜Assistant｜>…<｜end▁of▁sentence｜>,
//            earlier assistant turns lose their <think>…</think> (R1 never feeds reasoning back), and
//            the generation prompt opens "<｜Assistant｜><think>\n" as R1's README recommends.
//   r1zero   The DeepSeek-R1-Zero training template (R1 paper, Table 1), verbatim.
// Templates are single-line on purpose: Python's jinja2 (trim_blocks/lstrip_blocks, as transformers
// uses it) and @huggingface/jinja then render them identically.

import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors.js';
import { SPECIAL } from './special-tokens.js';
import { renderSandboxed } from './template-sandbox.js';

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** DeepSeek-R1-style chat template. */
export const DEFAULT_CHAT_TEMPLATE =
  "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}" +
  "{% set ns = namespace(system_prompt='') %}" +
  "{% for message in messages %}{% if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{% endif %}{% endfor %}" +
  '{{ bos_token }}{{ ns.system_prompt }}' +
  '{% for message in messages %}' +
  "{% if message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}" +
  "{% elif message['role'] == 'assistant' %}{% set content = message['content'] %}" +
  "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}" +
  "{{ '<｜Assistant｜>' + content + eos_token }}" +
  '{% endif %}{% endfor %}' +
  "{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}";

/** The R1-Zero instruction, verbatim from the R1 paper (Table 1), up to "User:". */
export const R1ZERO_PREAMBLE =
  'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. ' +
  'The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. ' +
  'The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, ' +
  'i.e., <think> reasoning process here </think> <answer> answer here </answer>.';

/** R1-Zero template: "{{bos}}<preamble> User: prompt. Assistant:" then, if given, " <completion>{{eos}}". */
export const R1ZERO_CHAT_TEMPLATE =
  `{{ bos_token }}${R1ZERO_PREAMBLE}` +
  '{% for message in messages %}' +
  "{% if message['role'] == 'user' %}{{ ' User: ' + message['content'] + '. Assistant:' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}" +
  '{% endif %}{% endfor %}';

/** The R1-Zero completion: reasoning in <think>, the answer in <answer> (what the RL verifiers expect). */
export const R1ZERO_COMPLETION_TEMPLATE = '<think>\n{{ reasoning }}\n</think> <answer>{{ answer }}</answer>';

/** The named templates written to tokenizer_config.json. */
export const NAMED_TEMPLATES: Readonly<Record<string, string>> = {
  default: DEFAULT_CHAT_TEMPLATE,
  r1zero: R1ZERO_CHAT_TEMPLATE,
};

/** Options of applyChatTemplate. */
export interface ApplyChatTemplateOptions {
  /** Append the opening of an assistant turn (default false; r1zero always ends with "Assistant:"). */
  addGenerationPrompt?: boolean;
  /** A template name ("default", "r1zero", or one from `templates`) or Jinja source; default "default". */
  template?: string;
  /** Extra named templates (e.g. those of a loaded tokenizer_config.json). */
  templates?: Readonly<Record<string, string>>;
  /** Overrides of the rendered bos/eos strings (e.g. "" for corpus documents that a packer delimits). */
  bosToken?: string;
  eosToken?: string;
}

const compiled = new Map<string, Template>();

/**
 * Renders Jinja source with the given variables (templates are compiled once and cached), in this
 * thread: for tinyseek's own templates. Templates read from files go through the sandbox (see
 * applyChatTemplate and template-sandbox.ts), which bounds their time, memory and output.
 */
export function renderTemplate(source: string, variables: Record<string, unknown>): string {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new TokenizerError(`chat template does not parse: ${(e as Error).message}`);
    }
    compiled.set(source, t);
  }
  try {
    return t.render(variables);
  } catch (e) {
    throw new TokenizerError(`chat template failed to render: ${(e as Error).message}`);
  }
}

/** Resolves a template name or Jinja source to Jinja source. */
export function resolveTemplate(template: string | undefined, templates?: Readonly<Record<string, string>>): string {
  const name = template ?? 'default';
  const found = templates?.[name] ?? NAMED_TEMPLATES[name];
  if (found !== undefined) return found;
  if (name.includes('{{') || name.includes('{%')) return name;
  const names = [...new Set([...Object.keys(templates ?? {}), ...Object.keys(NAMED_TEMPLATES)])];
  throw new TokenizerError(`unknown chat template ${JSON.stringify(name)}; expected Jinja source or one of: ${names.join(', ')}`);
}

/** Renders an R1-Zero completion "<think>\n…\n</think> <answer>…</answer>" from a reasoning trace and an answer. */
export function renderR1ZeroCompletion(reasoning: string, answer: string): string {
  return renderTemplate(R1ZERO_COMPLETION_TEMPLATE, { reasoning, answer });
}

/** Renders messages with a chat template (DeepSeek-R1 style by default). */
export function applyChatTemplate(messages: readonly ChatMessage[], options: ApplyChatTemplateOptions = {}): string {
  for (const [i, m] of messages.entries()) {
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') {
      throw new TokenizerError(`message ${i}: expected role system, user or assistant; found ${JSON.stringify(m.role)}`);
    }
    if (typeof m.content !== 'string') throw new TokenizerError(`message ${i}: expected string content; found ${typeof m.content}`);
  }
  const source = resolveTemplate(options.template, options.templates);
  const variables = {
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    add_generation_prompt: options.addGenerationPrompt ?? false,
    bos_token: options.bosToken ?? SPECIAL.bos,
    eos_token: options.eosToken ?? SPECIAL.eos,
  };
  // tinyseek's own templates are known to terminate; any other source (a tokenizer_config.json's,
  // a --template) may loop for minutes or build gigabytes, so it renders in the bounded sandbox.
  return BUILTIN_SOURCES.has(source) ? renderTemplate(source, variables) : renderSandboxed(source, variables);
}

const BUILTIN_SOURCES: ReadonlySet<string> = new Set(Object.values(NAMED_TEMPLATES));
