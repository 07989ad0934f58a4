// `tinyseek cost`: training cost from a reported GPU-hour count and from first principles (6·N·D).
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { configFromOptions } from './params.js';
import { countParams } from '../../analysis/params.js';
import {
  attentionShape,
  deepseekV3Cost,
  formatKHours,
  formatMillionsUsd,
  gpuHoursFor,
  gpuSpec,
  impliedMfu,
  reportedCost,
  trainingFlops,
  type DeepseekV3Cost,
  type GpuSpec,
  type ReportedCost,
  type Stage,
  type TrainingFlops,
} from '../../analysis/cost.js';
import { formatTable, humanCount } from '../../analysis/table.js';

interface CostOptions {
  preset?: string;
  gpu: string;
  peakTflops?: number;
  precision: string;
  price: number;
  gpus?: number;
  hours?: number;
  gpuHours?: string;
  model?: string;
  activated?: number;
  tokens?: number;
  seq: number;
  mfu?: number;
  json: boolean;
}

function number(name: string, check: (n: number) => boolean = (n) => n > 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || !check(n)) throw new CliError(`${name}: expected a positive number, found "${v}"`);
    return n;
  };
}

/** Parses "pretrain=2664000,ctx=119000" (or a single number) into stages. */
export function parseStages(spec: string): Stage[] {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new CliError('--gpu-hours: expected NAME=HOURS[,NAME=HOURS…] or a number');
  return parts.map((p, i) => {
    const [name, value] = p.includes('=') ? p.split('=', 2) : [`stage ${i + 1}`, p];
    const h = Number(value);
    if (!name || !Number.isFinite(h) || h < 0) throw new CliError(`--gpu-hours: "${p}" is not NAME=HOURS with HOURS ≥ 0`);
    return { name, gpuHours: h };
  });
}

function tflops(x: number): string {
  return `${(x / 1e12).toFixed(0)} TFLOP/s`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function sci(x: number): string {
  return x.toExponential(3).replace('e+', 'e');
}

function peakOf(gpu: GpuSpec, precision: string): number {
  if (precision === 'fp8') {
    if (gpu.fp8 === null) throw new CliError(`${gpu.name} has no FP8 tensor cores; use --precision bf16`);
    return gpu.fp8;
  }
  if (precision !== 'bf16') throw new CliError(`--precision: expected bf16 or fp8, found "${precision}"`);
  return gpu.bf16;
}

function gpuLine(gpu: GpuSpec): string {
  return `${gpu.name}: ${tflops(gpu.bf16)} BF16 dense` + (gpu.fp8 === null ? ', no FP8' : `, ${tflops(gpu.fp8)} FP8 dense`);
}

function reportedTable(r: ReportedCost, gpuName: string): string[] {
  return formatTable([
    ['', `${gpuName} GPU-hours`, `USD @ $${r.pricePerGpuHour}/GPU-hour`],
    ...r.stages.map((s) => [s.name, formatKHours(s.gpuHours), formatMillionsUsd(s.usd)]),
    ['Total', formatKHours(r.gpuHoursTotal), formatMillionsUsd(r.usdTotal)],
  ]);
}

function flopsLines(f: TrainingFlops, seq: number): string[] {
  return formatTable([
    ['training FLOPs', 'value'],
    [`6 · N · D  (N = ${humanCount(f.activatedParams)}, D = ${humanCount(f.tokens, 1)} tokens)`, sci(f.dense)],
    [`attention (causal, seq ${seq})`, sci(f.attention)],
    ['total', sci(f.total)],
  ]);
}

/** The JSON object for `--preset deepseek-v3`. */
export function v3Json(r: DeepseekV3Cost): Record<string, unknown> {
  return {
    gpu: r.gpu.name,
    price_per_gpu_hour: r.reported.pricePerGpuHour,
    stages: r.reported.stages.map((s) => ({ name: s.name, gpu_hours: s.gpuHours, usd: s.usd })),
    gpu_hours_total: r.reported.gpuHoursTotal,
    usd_total: r.reported.usdTotal,
    pretrain_tokens: r.pretrainTokens,
    activated_params: r.flops.activatedParams,
    seq_len: r.seqLen,
    flops_6nd: r.flops.dense,
    flops_attention: r.flops.attention,
    flops_total: r.flops.total,
    achieved_flops_per_gpu_6nd: r.achieved.dense,
    achieved_flops_per_gpu_total: r.achieved.total,
    mfu_bf16_6nd: r.mfu.bf16Dense,
    mfu_fp8_6nd: r.mfu.fp8Dense,
    mfu_bf16_with_attention: r.mfu.bf16Total,
    mfu_fp8_with_attention: r.mfu.fp8Total,
    dense_params: r.dense.params,
    dense_flops_ratio: r.dense.ratio,
    dense_gpu_hours_total: r.dense.gpuHoursTotal,
    dense_usd_total: r.dense.usdTotal,
  };
}

/** Readable lines for `--preset deepseek-v3`. */
export function v3Text(r: DeepseekV3Cost): string[] {
  const out = [
    'DeepSeek-V3 training cost (report Table 1: H800 GPU-hours at $2 per GPU-hour; excludes prior research and ablations)',
    '',
    ...reportedTable(r.reported, r.gpu.name),
    '',
    `First principles for pre-training: ${humanCount(r.pretrainTokens, 1)} tokens, N = ${humanCount(r.flops.activatedParams)} activated parameters per token`,
    '(from the deepseek-v3 config; the embedding lookup counts one row, so N is the "37B"), sequence length ' + r.seqLen,
    '',
    ...flopsLines(r.flops, r.seqLen),
    '',
    `Implied by ${formatKHours(r.reported.stages[0].gpuHours)} ${r.gpu.name} GPU-hours (${gpuLine(r.gpu)}):`,
    ...formatTable([
      ['', 'FLOP/s per GPU', 'MFU vs BF16 peak', 'MFU vs FP8 peak'],
      ['6·N·D only', tflops(r.achieved.dense), pct(r.mfu.bf16Dense), r.mfu.fp8Dense === null ? 'n/a' : pct(r.mfu.fp8Dense)],
      ['with attention', tflops(r.achieved.total), pct(r.mfu.bf16Total), r.mfu.fp8Total === null ? 'n/a' : pct(r.mfu.fp8Total)],
    ]),
    '',
    `The same run as a dense model (all ${humanCount(r.dense.params)} non-embedding parameters active per token, same MFU):`,
    `  ${r.dense.ratio.toFixed(1)}× the FLOPs (${(r.dense.flops.dense / r.flops.dense).toFixed(1)}× on 6·N·D alone) → ` +
      `${formatKHours(r.dense.gpuHoursTotal)} GPU-hours ≈ ${formatMillionsUsd(r.dense.usdTotal)} for all stages (vs ${formatMillionsUsd(r.reported.usdTotal)})`,
  ];
  return out;
}

/** Registers `tinyseek cost`. */
export function register(program: Command): void {
  program
    .command('cost')
    .description('training cost: reported GPU-hours × price, and first principles (6 × activated params × tokens + attention) ÷ (peak × MFU)')
    .option('--preset <name>', 'reproduce a published cost table: deepseek-v3')
    .option('--gpu <name>', 'H800, H100, H200, A100, or custom (with --peak-tflops)', 'H800')
    .option('--peak-tflops <x>', 'dense peak TFLOP/s (custom GPU, or override)', number('--peak-tflops'))
    .option('--precision <p>', 'peak to compare against: bf16 or fp8', 'bf16')
    .option('--price <usd>', 'dollars per GPU-hour', number('--price', (n) => n >= 0), 2)
    .option('--gpus <n>', 'reported count: number of GPUs (with --hours)', number('--gpus'))
    .option('--hours <h>', 'reported count: wall-clock hours (with --gpus)', number('--hours'))
    .option('--gpu-hours <list>', 'reported count per stage: NAME=HOURS[,NAME=HOURS…]')
    .option('--model <name|path>', 'model for first principles: preset name, config.json or model directory')
    .option('--activated <n>', 'activated parameters per token (instead of --model)', number('--activated'))
    .option('--tokens <n>', 'training tokens, e.g. 14.8e12', number('--tokens'))
    .option('--seq <n>', 'sequence length for attention FLOPs', number('--seq'), 4096)
    .option('--mfu <x>', 'model FLOPs utilization in (0, 1] to predict GPU-hours', number('--mfu', (n) => n > 0 && n <= 1))
    .option('--json', 'print one JSON object', false)
    .action((o: CostOptions) => {
      let gpu: GpuSpec;
      try {
        gpu = gpuSpec(o.gpu, o.peakTflops);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      if (o.preset !== undefined) {
        if (o.preset !== 'deepseek-v3') throw new CliError(`unknown cost preset "${o.preset}"; expected: deepseek-v3`);
        const model = configFromOptions({ preset: o.model ?? 'deepseek-v3' }).config;
        const r = deepseekV3Cost(model, { price: o.price, tokens: o.tokens, seqLen: o.seq, gpu });
        if (o.json) console.log(JSON.stringify(v3Json(r)));
        else console.log(v3Text(r).join('\n'));
        return;
      }
      // Reported count.
      let reported: ReportedCost | null = null;
      if (o.gpuHours !== undefined && (o.gpus !== undefined || o.hours !== undefined)) {
        throw new CliError('give either --gpu-hours or --gpus with --hours, not both');
      }
      if ((o.gpus === undefined) !== (o.hours === undefined)) throw new CliError('--gpus and --hours go together');
      if (o.gpuHours !== undefined) reported = reportedCost(parseStages(o.gpuHours), o.price);
      else if (o.gpus !== undefined && o.hours !== undefined) reported = reportedCost([{ name: `${o.gpus} GPUs × ${o.hours} h`, gpuHours: o.gpus * o.hours }], o.price);
      // First principles.
      let flops: TrainingFlops | null = null;
      if (o.tokens !== undefined) {
        let n = o.activated;
        let shape;
        if (o.model !== undefined) {
          const c = configFromOptions({ preset: o.model }).config;
          n ??= countParams(c).activated;
          shape = attentionShape(c, o.seq);
        }
        if (n === undefined) throw new CliError('first-principles mode needs --model NAME|PATH or --activated N with --tokens');
        flops = trainingFlops(n, o.tokens, shape);
      } else if (o.model !== undefined || o.activated !== undefined || o.mfu !== undefined) {
        throw new CliError('first-principles mode needs --tokens N');
      }
      if (!reported && !flops) {
        throw new CliError(
          'nothing to compute: give --preset deepseek-v3, a reported count (--gpus N --hours H, or --gpu-hours NAME=H,…), ' +
            'or --tokens with --model/--activated (and --mfu to predict GPU-hours)',
        );
      }
      const peak = peakOf(gpu, o.precision);
      const json: Record<string, unknown> = { gpu: gpu.name, peak_flops: peak, price_per_gpu_hour: o.price };
      const lines: string[] = [];
      if (reported) {
        json.stages = reported.stages.map((s) => ({ name: s.name, gpu_hours: s.gpuHours, usd: s.usd }));
        json.gpu_hours_total = reported.gpuHoursTotal;
        json.usd_total = reported.usdTotal;
        lines.push(...reportedTable(reported, gpu.name), '');
      }
      if (flops) {
        Object.assign(json, { activated_params: flops.activatedParams, tokens: flops.tokens, flops_6nd: flops.dense, flops_attention: flops.attention, flops_total: flops.total });
        lines.push(...flopsLines(flops, o.seq), '');
        if (reported) {
          const m = impliedMfu(flops.total, reported.gpuHoursTotal, peak);
          const m6 = impliedMfu(flops.dense, reported.gpuHoursTotal, peak);
          Object.assign(json, { mfu_6nd: m6, mfu_with_attention: m });
          lines.push(`implied MFU over ${formatKHours(reported.gpuHoursTotal)} GPU-hours vs ${o.precision} peak ${tflops(peak)}: ${pct(m6)} (6·N·D), ${pct(m)} (with attention)`);
        } else if (o.mfu !== undefined) {
          const h = gpuHoursFor(flops.total, peak, o.mfu);
          Object.assign(json, { mfu: o.mfu, gpu_hours_total: h, usd_total: h * o.price });
          lines.push(
            `at MFU ${pct(o.mfu)} of ${gpu.name} ${o.precision} peak (${tflops(peak)}): ${formatKHours(h)} GPU-hours ≈ ${formatMillionsUsd(h * o.price)} at $${o.price}/GPU-hour`,
          );
        } else {
          lines.push('give --mfu X to turn FLOPs into GPU-hours, or a reported count to get the implied MFU');
        }
      }
      if (o.json) console.log(JSON.stringify(json));
      else console.log(lines.join('\n').trimEnd());
    });
}
