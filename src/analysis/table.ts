// Plain-text tables for the analysis commands: columns padded to their widest cell.

/** Column alignment: 'l' left, 'r' right. */
export type Align = 'l' | 'r';

/** Renders rows (the first is the header) as aligned text lines with a rule under the header. */
export function formatTable(rows: string[][], align: Align[] = []): string[] {
  const ncol = Math.max(...rows.map((r) => r.length));
  const width = Array.from({ length: ncol }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    width
      .map((w, i) => {
        const cell = r[i] ?? '';
        return (align[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? cell.padEnd(w) : cell.padStart(w);
      })
      .join('  ')
      .trimEnd();
  const out = [line(rows[0])];
  out.push(width.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) out.push(line(r));
  return out;
}

/** 671026419200 → "671.03B"; 36626 → "36.6K"; digits chosen for 3–5 significant figures. */
export function humanCount(n: number, digits = 2): string {
  const a = Math.abs(n);
  if (a >= 1e12) return `${(n / 1e12).toFixed(digits)}T`;
  if (a >= 1e9) return `${(n / 1e9).toFixed(digits)}B`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(digits)}K`;
  return String(n);
}

/** 1998848 → "1,998,848". */
export function withCommas(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
