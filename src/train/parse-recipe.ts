// Parsing a run recipe (pretrain, sft, grpo, r1, distill, distill-study) against its zod schema, with
// every problem listed by path. Zod drops keys a schema does not name; a recipe is hand-written, so a
// dropped key is almost always a typo ("maxMinutse") that would silently run with the default. Those
// keys are errors too, each with the keys that were expected at that place.
import type { z } from 'zod';

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Dotted paths (with the keys expected there) of keys in `raw` that parsing dropped from `parsed`. */
export function droppedKeys(raw: unknown, parsed: unknown, at = ''): string[] {
  if (Array.isArray(raw) && Array.isArray(parsed)) return raw.flatMap((x, i) => droppedKeys(x, parsed[i], `${at}[${i}]`));
  if (!isObj(raw) || !isObj(parsed)) return [];
  const out: string[] = [];
  for (const k of Object.keys(raw)) {
    if (raw[k] === undefined) continue; // a code-built recipe's absent optional value, not a key someone wrote
    const p = at ? `${at}.${k}` : k;
    if (k in parsed) out.push(...droppedKeys(raw[k], parsed[k], p));
    else out.push(`  ${p}: unknown key; expected one of: ${Object.keys(parsed).sort().join(', ')}`);
  }
  return out;
}

/** Parses `obj` with `schema`; throws one Error listing every invalid value and every unknown key. */
export function parseRecipeWith<S extends z.ZodType>(schema: S, obj: unknown, where: string): z.output<S> {
  const r = schema.safeParse(obj);
  if (!r.success) throw new Error(`${where} is invalid:\n${r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
  const unknown = droppedKeys(obj, r.data);
  if (unknown.length) throw new Error(`${where} is invalid:\n${unknown.join('\n')}`);
  return r.data;
}
