// `tinyseek params`: parameter counts per component, total and activated, from a preset or config.json.
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { ConfigError, type ModelConfig } from '../../model/config.js';
import { resolveConfig, resolveAnyConfig } from '../../model/presets.js';
import { isDenseConfig, type AnyModelConfig } from '../../model/registry.js';
import { DEEPSEEK_V3_MODEL_CARD, type ParamCounts } from '../../analysis/params.js';
import { countAnyParams } from '../../analysis/dense-params.js';
import { formatTable, humanCount, withCommas } from '../../analysis/table.js';

/** Resolves `--preset`/`--config` (exactly one) into a config; bad input becomes a CliError. */
export function configFromOptions(o: { preset?: string; config?: string }, fallback?: string): { config: ModelConfig; label: string } {
  if (o.preset !== undefined && o.config !== undefined) throw new CliError('give either --preset NAME or --config PATH, not both');
  const name = o.preset ?? o.config ?? fallback;
  if (name === undefined) throw new CliError('give --preset NAME or --config PATH (a config.json or a model directory)');
  try {
    return { config: resolveConfig(name), label: name };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
}

/** As configFromOptions, for any architecture (DeepSeek or a dense Qwen2 / Llama student). */
export function anyConfigFromOptions(o: { preset?: string; config?: string }): { config: AnyModelConfig; label: string } {
  if (o.preset !== undefined && o.config !== undefined) throw new CliError('give either --preset NAME or --config PATH, not both');
  const name = o.preset ?? o.config;
  if (name === undefined) throw new CliError('give --preset NAME or --config PATH (a config.json or a model directory)');
  try {
    return { config: resolveAnyConfig(name), label: name };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
}

/** The JSON object `tinyseek params --json` prints (snake_case, integers). */
export function paramsJson(label: string, p: ParamCounts): Record<string, unknown> {
  const rows = (cs: ParamCounts['components']): Record<string, { total: number; activated: number }> =>
    Object.fromEntries(cs.map((x) => [x.name, { total: x.total, activated: x.activated }]));
  return {
    model: label,
    total: p.total,
    activated: p.activated,
    activated_with_embedding_table: p.activatedWithEmbeddingTable,
    mtp_total: p.mtpTotal,
    mtp_activated: p.mtpActivated,
    mtp_activated_with_embedding_table: p.mtpActivatedWithEmbeddingTable,
    // DeepSeek's weight card (11.5B unique / 2.4B activated) is reproduced at its one-decimal precision
    // only by leaving eh_proj out of both figures and counting the shared embedding and head whole.
    mtp_card_convention: {
      total: p.mtpTotal - p.mtpEhProj,
      activated: p.mtpActivatedWithEmbeddingTable - p.mtpEhProj,
      rule: 'without eh_proj; activated counts the shared embedding table and head whole',
    },
    components: rows(p.components),
    mtp_components: rows(p.mtpComponents),
    convention:
      'activated = parameters a token computes with; the embedding is a lookup (one row), the head a full matmul. ' +
      '*_with_embedding_table count the whole embedding table (and for MTP the shared head), as DeepSeek\'s weight card words it.',
  };
}

/** Readable report lines. */
export function paramsText(label: string, c: ModelConfig | AnyModelConfig, p: ParamCounts): string[] {
  const row = (x: { name: string; total: number; activated: number }): string[] => [
    x.name, withCommas(x.total), humanCount(x.total), withCommas(x.activated), humanCount(x.activated),
  ];
  const shape = isDenseConfig(c)
    ? `dense, ${c.numAttentionHeads} query heads over ${c.numKeyValueHeads} key/value heads`
    : `${c.nRoutedExperts} routed experts, top-${c.numExpertsPerTok}`;
  const out = [`Parameters of ${label} (${c.modelType}, ${c.numHiddenLayers} layers, ${shape})`, ''];
  out.push(
    ...formatTable([
      ['component', 'total', '', 'activated/token', ''],
      ...p.components.map(row),
      ['main model', withCommas(p.total), humanCount(p.total), withCommas(p.activated), humanCount(p.activated)],
    ]),
  );
  if (p.mtpComponents.length) {
    out.push('');
    out.push(
      ...formatTable([
        [`MTP (${c.numNextnPredictLayers} module${c.numNextnPredictLayers > 1 ? 's' : ''})`, 'total', '', 'activated/token', ''],
        ...p.mtpComponents.map(row),
        ['MTP unique', withCommas(p.mtpTotal), humanCount(p.mtpTotal), '', ''],
        ['MTP activated (+ shared head, 1 embedding row)', '', '', withCommas(p.mtpActivated), humanCount(p.mtpActivated)],
      ]),
    );
  }
  out.push('');
  out.push('activated: the embedding is a lookup (one row per token); the output head is a full matmul.');
  out.push(
    `counting the whole embedding table instead (DeepSeek's card wording): activated ${humanCount(p.activatedWithEmbeddingTable)}` +
      (p.mtpComponents.length ? `, MTP activated ${humanCount(p.mtpActivatedWithEmbeddingTable)} (shared embedding + head)` : ''),
  );
  if (label === 'deepseek-v3') {
    const card = DEEPSEEK_V3_MODEL_CARD;
    const pct = (a: number, b: number): string => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(2)}%`;
    out.push('');
    out.push('DeepSeek-V3 README_WEIGHTS.md: 671B total, 36.7B activated; MTP 11.5B unique, 2.4B activated.');
    out.push(
      `  here: total ${humanCount(p.total)} (${pct(p.total, card.total)}), activated ${humanCount(p.activated)} (${pct(p.activated, card.activated)}), ` +
        `MTP ${humanCount(p.mtpTotal)} (${pct(p.mtpTotal, card.mtpTotal)}), MTP activated with tables ${humanCount(p.mtpActivatedWithEmbeddingTable)} (${pct(p.mtpActivatedWithEmbeddingTable, card.mtpActivated)})`,
    );
    out.push('  (leaving out eh_proj, 0.10B, gives 11.51B unique and 2.44B activated with tables: the card\'s 11.5B and 2.4B)');
  }
  return out;
}

/** Registers `tinyseek params`. */
export function register(program: Command): void {
  program
    .command('params')
    .description('parameter counts per component (embedding, attention, dense MLP, routed/shared experts, gate, norms, head, MTP), total and activated')
    .option('--preset <name>', 'model preset: nano, mini, deepseek-v3, deepseek-v2-lite, deepseek-v2, student-nano, student-mini')
    .option('--config <path>', 'a config.json or a model directory')
    .option('--json', 'print one JSON object', false)
    .action((opts: { preset?: string; config?: string; json: boolean }) => {
      const { config, label } = anyConfigFromOptions(opts);
      const p = countAnyParams(config);
      if (opts.json) console.log(JSON.stringify(paramsJson(label, p)));
      else console.log(paramsText(label, config, p).join('\n'));
    });
}
