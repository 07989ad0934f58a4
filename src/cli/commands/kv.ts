// `tinyseek kv`: KV-cache elements and bytes per token for MHA, GQA, MQA and MLA of a configuration.
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { configFromOptions } from './params.js';
import { humanBytes, KV_DTYPE_BYTES, kvReport, kvRow, type KvDtype, type KvReport } from '../../analysis/kv.js';
import { formatTable, withCommas } from '../../analysis/table.js';

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name}: expected a positive integer, found "${v}"`);
    return n;
  };
}

/** The JSON object `tinyseek kv --json` prints. */
export function kvJson(label: string, r: KvReport): Record<string, unknown> {
  const mla = kvRow(r, 'MLA');
  const mha = kvRow(r, 'MHA');
  return {
    model: label,
    layers: r.layers,
    heads: r.heads,
    head_dim: r.headDim,
    gqa_groups: r.groups,
    kv_lora_rank: r.kvLoraRank,
    qk_rope_head_dim: r.ropeDim,
    dtype: r.dtype,
    bytes_per_element: r.bytesPerElement,
    context: r.context,
    batch: r.batch,
    mla_elements_per_token: mla.elementsPerToken,
    mha_elements_per_token: mha.elementsPerToken,
    mla_bytes_per_token: mla.bytesPerToken,
    mha_bytes_per_token: mha.bytesPerToken,
    mla_to_mha: mla.ratioToMha,
    mla_equivalent_gqa_groups: r.mlaEquivalentGroups,
    schemes: r.rows.map((x) => ({
      scheme: x.scheme,
      formula: x.formula,
      elements_per_token_per_layer: x.elementsPerTokenPerLayer,
      elements_per_token: x.elementsPerToken,
      bytes_per_token: x.bytesPerToken,
      elements_total: x.elementsTotal,
      bytes_total: x.bytesTotal,
      ratio_to_mha: x.ratioToMha,
    })),
  };
}

/** Readable report lines. */
export function kvText(label: string, r: KvReport): string[] {
  const out = [
    `KV cache of ${label}: ${r.layers} layers, n_h = ${r.heads} heads, d_h = ${r.headDim}, GQA n_g = ${r.groups}, ` +
      `MLA d_c = ${r.kvLoraRank}, d_h^R = ${r.ropeDim}; ${r.dtype} (${r.bytesPerElement} B/element)`,
    '',
  ];
  out.push(
    ...formatTable([
      ['scheme', 'per token per layer', '', 'per token (elements)', 'per token', `context ${withCommas(r.context)} × batch ${r.batch}`, 'vs MHA'],
      ...r.rows.map((x) => [
        x.scheme,
        x.formula,
        withCommas(x.elementsPerTokenPerLayer),
        withCommas(x.elementsPerToken),
        humanBytes(x.bytesPerToken),
        humanBytes(x.bytesTotal),
        `${(x.ratioToMha * 100).toFixed(2)}%`,
      ]),
    ], ['l', 'l', 'r', 'r', 'r', 'r', 'r']),
  );
  const mla = kvRow(r, 'MLA');
  out.push('');
  out.push(
    `MLA caches (${r.kvLoraRank} + ${r.ropeDim}) × ${r.layers} = ${withCommas(mla.elementsPerToken)} elements per token ` +
      `(${humanBytes(mla.bytesPerToken)} ${r.dtype}), ${(mla.ratioToMha * 100).toFixed(2)}% of MHA's ${withCommas(kvRow(r, 'MHA').elementsPerToken)}; ` +
      `like GQA with ${r.mlaEquivalentGroups} groups.`,
  );
  out.push('MLA-naive: the same attention computed with keys/values expanded per head (what the naive form would cache).');
  return out;
}

/** Registers `tinyseek kv`. */
export function register(program: Command): void {
  program
    .command('kv')
    .description('KV-cache elements and bytes per token for MHA, GQA, MQA and MLA, per layer, per model and for context × batch')
    .option('--preset <name>', 'model preset: nano, mini, deepseek-v3, deepseek-v2-lite, deepseek-v2')
    .option('--config <path>', 'a config.json or a model directory')
    .option('--context <n>', 'context length in tokens', positiveInt('--context'), 4096)
    .option('--batch <n>', 'sequences', positiveInt('--batch'), 1)
    .option('--groups <n>', 'GQA group count', positiveInt('--groups'), 8)
    .option('--dtype <t>', 'cache element type: bf16, f16, f32, fp8', 'bf16')
    .option('--json', 'print one JSON object', false)
    .action((opts: { preset?: string; config?: string; context: number; batch: number; groups: number; dtype: string; json: boolean }) => {
      if (!(opts.dtype in KV_DTYPE_BYTES)) {
        throw new CliError(`--dtype: expected one of ${Object.keys(KV_DTYPE_BYTES).join(', ')}, found "${opts.dtype}"`);
      }
      const { config, label } = configFromOptions(opts);
      const r = kvReport(config, { context: opts.context, batch: opts.batch, groups: opts.groups, dtype: opts.dtype as KvDtype });
      if (opts.json) console.log(JSON.stringify(kvJson(label, r)));
      else console.log(kvText(label, r).join('\n'));
    });
}
