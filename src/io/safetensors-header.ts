// The safetensors header: an 8-byte little-endian length N, then N bytes of UTF-8 JSON
// {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...},
// padded with spaces so the data section starts 8-byte aligned. Offsets are relative to the
// data section, which the tensors must cover completely, in order, without gaps or overlaps.

import { SafetensorsError } from './errors.js';
import { DTYPE_BYTES, isDType, numelOf, shapeStr, type DType, type TensorInfo } from './record.js';

/** Largest header accepted (as the reference implementation): 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A tensor entry of a parsed header: info plus its byte range [begin, end) within the data section. */
export interface StoredTensor extends TensorInfo {
  begin: number;
  end: number;
}

/** A validated header: metadata and tensors sorted by offset. */
export interface ParsedHeader {
  metadata: Record<string, string>;
  tensors: StoredTensor[];
}

/**
 * Parses and validates header JSON bytes against a data section of `dataBytes` bytes; `file` names
 * the file in error messages. Throws SafetensorsError describing the first problem found.
 */
export function parseSafetensorsHeader(json: Uint8Array, dataBytes: number, file: string): ParsedHeader {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${file}: ${msg}`);
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header must be a JSON object starting with '{', found ${JSON.stringify(text.slice(0, 20))}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail('header JSON must be an object');
  const obj = parsed as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  const tensors: StoredTensor[] = [];
  for (const [name, entry] of Object.entries(obj)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value of "${k}" must be a string, found ${JSON.stringify(v)}`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true }); // safe for "__proto__"
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(`${where}: entry must be an object with dtype, shape, data_offsets`);
    const e = entry as Record<string, unknown>;
    if (!isDType(e.dtype)) {
      fail(`${where}: unknown dtype ${JSON.stringify(e.dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const dtype = e.dtype as DType;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      fail(`${where}: shape must be an array of non-negative integers, found ${JSON.stringify(e.shape)}`);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
      fail(`${where}: data_offsets must be [begin, end] with non-negative integers, found ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as number[];
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataBytes) {
      fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataBytes} bytes)`);
    }
    const numel = numelOf(shape);
    if (numel < 0) fail(`${where}: shape ${shapeStr(shape)} has too many elements`);
    const need = numel * DTYPE_BYTES[dtype];
    if (need !== end - begin) {
      fail(`${where}: dtype ${dtype} × shape ${shapeStr(shape)} needs ${need} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    tensors.push({ name, dtype, shape, byteLength: need, begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const t of tensors) {
    if (t.begin < pos) fail(`tensor "${t.name}": data_offsets [${t.begin}, ${t.end}] overlap the previous tensor, which ends at ${pos}`);
    if (t.begin > pos) fail(`tensor "${t.name}": data_offsets [${t.begin}, ${t.end}] leave a gap after byte ${pos} (tensors must be contiguous)`);
    pos = t.end;
  }
  if (pos !== dataBytes) fail(`tensors cover ${pos} bytes of the data section but it has ${dataBytes} (trailing bytes not described by the header)`);
  return { metadata, tensors };
}

/** An entry for `buildSafetensorsHeader`: name, stored dtype and shape, in file order. */
export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

/**
 * Serialises a header (8-byte length + JSON padded with spaces to a multiple of 8) for tensors laid
 * out back to back in the given order. Returns the bytes and each tensor's [begin, end).
 */
export function buildSafetensorsHeader(
  entries: readonly HeaderEntry[],
  metadata: Record<string, string> | undefined,
  file: string,
): { bytes: Uint8Array; offsets: [number, number][]; dataBytes: number } {
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`${file}: metadata value of "${k}" must be a string, got ${typeof v}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const seen = new Set<string>();
  const offsets: [number, number][] = [];
  let pos = 0;
  for (const e of entries) {
    if (e.name === '__metadata__') throw new SafetensorsError(`${file}: "__metadata__" cannot be a tensor name`);
    if (seen.has(e.name)) throw new SafetensorsError(`${file}: tensor name "${e.name}" appears twice`);
    seen.add(e.name);
    const numel = numelOf(e.shape);
    if (numel < 0) throw new SafetensorsError(`${file}: tensor "${e.name}": shape ${JSON.stringify(e.shape)} must be non-negative integers`);
    const end = pos + numel * DTYPE_BYTES[e.dtype];
    offsets.push([pos, end]);
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":${JSON.stringify(e.shape)},"data_offsets":[${pos},${end}]}`);
    pos = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new SafetensorsError(`${file}: header would be ${padded} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  const bytes = Buffer.alloc(8 + padded, 0x20);
  bytes.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(bytes, 8);
  return { bytes, offsets, dataBytes: pos };
}
