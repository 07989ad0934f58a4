// GPT-2's byte-level alphabet: every byte 0..255 maps to one printable Unicode character, so any
// UTF-8 string becomes a string of "byte characters" that BPE can merge and that tokenizer.json
// can store as plain JSON keys (space 0x20 becomes 'Ġ', newline 0x0A becomes 'Ċ').

function buildByteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) {
      table[b] = String.fromCharCode(256 + n);
      n++;
    }
  }
  return table;
}

/** BYTE_TO_UNICODE[b] is the byte-level character that stands for byte b. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** The inverse of BYTE_TO_UNICODE: byte-level character → byte value. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

const encoder = new TextEncoder();

/** Maps a string's UTF-8 bytes to byte-level characters ("hi there" → "hiĠthere"). */
export function toByteLevel(text: string): string {
  const bytes = encoder.encode(text);
  let out = '';
  for (const b of bytes) out += BYTE_TO_UNICODE[b];
  return out;
}

/** Appends the bytes of a byte-level token to `out`; returns false if it holds a non-byte-level character. */
export function pushByteLevelBytes(token: string, out: number[]): boolean {
  for (const ch of token) {
    const b = UNICODE_TO_BYTE.get(ch);
    if (b === undefined) return false;
    out.push(b);
  }
  return true;
}
