// Parsing answers: strict parsers for what goes inside <answer> tags, and lenient extractors that
// find the last number / list in free text. Integers are compared as BigInt, so "0579", "+579" and
// "579" are the same number; "579.0", "5 79" and "579!" are not integers and never match.

const MINUS = /[−–]/g; // U+2212 minus sign, U+2013 en dash: models and people write them for "-"

/** Parses a whole string as one integer (optional sign, digits); null if it is anything else. */
export function parseInteger(text: string): bigint | null {
  const s = text.trim().replace(MINUS, '-');
  if (!/^[+-]?\d+$/.test(s)) return null;
  return BigInt(s.startsWith('+') ? s.slice(1) : s);
}

/** Parses a list of integers separated by commas and/or spaces, optionally in [ ] brackets; null otherwise. */
export function parseIntegerList(text: string): bigint[] | null {
  let s = text.trim().replace(MINUS, '-');
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1).trim();
  if (s.length === 0) return null;
  const parts = s.split(/\s*,\s*|\s+/);
  const out: bigint[] = [];
  for (const p of parts) {
    const v = parseInteger(p);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

/** The last integer (with its sign) in free text, as a canonical string, or null. */
export function lastInteger(text: string): string | null {
  const matches = text.replace(MINUS, '-').match(/[+-]?\d+/g);
  if (!matches) return null;
  return (parseInteger(matches[matches.length - 1] as string) as bigint).toString();
}

/** The last comma-separated list of two or more integers in free text ("…: 3, 5, 9"), canonicalized, or null. */
export function lastIntegerList(text: string): string | null {
  const matches = text.replace(MINUS, '-').match(/-?\d+(?:\s*,\s*-?\d+)+/g);
  if (!matches) return null;
  const list = parseIntegerList(matches[matches.length - 1] as string);
  return list ? list.join(', ') : null;
}

