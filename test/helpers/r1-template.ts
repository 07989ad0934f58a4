// DeepSeek-R1's chat template, derived from the DeepSeek-V3 tokenizer_config.json shipped in the npm
// fixture by the two changes R1's own file makes to V3's: an assistant turn keeps only what follows
// </think> (reasoning is never fed back), and the generation prompt opens "<｜Assistant｜><think>\n".
import { familyJSON } from './hf-tokenizers.js';

const V3_ASSISTANT = "{%- else %}{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- endif %}";
const R1_ASSISTANT =
  "{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}" +
  "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}";
const V3_PROMPT = "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜>'}}{% endif %}";
const R1_PROMPT = "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";

/** The chat template the DeepSeek-V3 fixture ships (V3's: no <think>). */
export function v3Template(): string {
  return familyJSON('deepseek_v3').config.chat_template as string;
}

/** DeepSeek-R1's chat template (V3's with R1's two changes). */
export function r1Template(): string {
  const v3 = v3Template();
  if (!v3.includes(V3_ASSISTANT) || !v3.includes(V3_PROMPT)) throw new Error('the DeepSeek-V3 fixture template changed: cannot derive R1\'s');
  return v3.replace(V3_ASSISTANT, R1_ASSISTANT).replace(V3_PROMPT, R1_PROMPT);
}

/** DeepSeek-R1's tokenizer.json: V3's with placeholders 128798/128799 turned into <think> and </think> (added, non-special), as R1's file has them. */
export function r1TokenizerJSON(): Record<string, unknown> {
  const t = familyJSON('deepseek_v3').tokenizer;
  const added = t.added_tokens as Array<Record<string, unknown>>;
  for (const [id, content] of [[128798, '<think>'], [128799, '</think>']] as const) {
    const a = added.find((x) => x.id === id);
    if (!a || !String(a.content).includes('place▁holder')) throw new Error(`the DeepSeek-V3 fixture's id ${id} is not a placeholder`);
    Object.assign(a, { content, normalized: true, special: false });
  }
  return t;
}
