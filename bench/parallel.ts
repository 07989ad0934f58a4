// `tinyseek bench parallel`: data and expert parallelism over real Open MPI on this machine.
//   speed   tokens/s of the same training run (mini model, same global batch) on 1 rank, on 2 ranks
//           as DP 2, and on 2 ranks as EP 2 (ratio = multi-rank / 1 rank, the peer)
//   bytes   per step: the gradient all-reduce (each rank's contribution) against 4 bytes × the
//           parameters it reduces, and the all-to-all bytes (dispatch + combine, forward and
//           backward, all ranks) against the balanced-routing formula 4 · rows · (W−1)/W · D · 4 bytes
//   hidden  DP: 1 − (wait after backward) / (a blocking all-reduce of the same bytes, timed in the
//           same job); EP: the all-to-alls are blocking (exposed), reported as a share of the step
//   nodes   node-limited routing on EP 4 as 2 nodes (n_group 2, top-4): nodes and bytes per token
//           with topk_group 1 (the limit) and 2 (none), against V3's analysis (M = 4 of 8 nodes)
// `--out DIR` also writes DIR/parallel.{md,json}.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../src/cli/commands/bench.js';
import type { StepMetrics } from '../src/train/trainer.js';
import { recipeConfig } from '../src/train/trainer.js';
import { parseRunRecipe } from '../src/train/recipe.js';
import { DeepseekV3 } from '../src/model/model.js';
import { deepseekConfig } from '../src/model/registry.js';
import { isExpertParam } from '../src/parallel/expert-parallel.js';
import { loadRecipe, writeCorpus, readCorpus } from '../src/data/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { mpiUnavailableReason } from '../src/parallel/mpi.js';
import { writeFileAtomic } from '../src/io/index.js';
import { median, report } from './_util.js';

export const description = 'data and expert parallelism over Open MPI: tokens/s 1 vs 2 ranks, bytes vs formula, hidden communication, node-limited routing';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const rankProgram = path.join(here, '_parallel-rank.js');
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', TINYSEEK_NUM_THREADS: '1' };

interface Layout { name: string; dp: number; ep: number; epGroups?: number; overrides?: Record<string, unknown>; steps: number }
interface Outcome { layout: Layout; steps: StepMetrics[]; allreduceS: number; command: string }

/** Runs one training job on dp × ep ranks and returns rank 0's step metrics. */
function runJob(dir: string, l: Layout, baseRecipe: (steps: number, over?: Record<string, unknown>) => unknown): Outcome {
  const n = l.dp * l.ep;
  const out = path.join(dir, l.name.replace(/[^a-z0-9]+/gi, '-'));
  const result = `${out}.json`;
  const job = { recipe: baseRecipe(l.steps, l.overrides), out, dp: l.dp, ep: l.ep, epGroups: l.epGroups, result };
  const args = [rankProgram, JSON.stringify(job)];
  const [cmd, argv] = n === 1 ? [process.execPath, args] : ['mpirun', ['--oversubscribe', '-np', String(n), process.execPath, ...args]];
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`bench parallel: ${l.name} failed (status ${r.status}):\n${r.stderr}`);
  const got = JSON.parse(fs.readFileSync(result, 'utf8')) as { steps: StepMetrics[]; allreduceS: number };
  const flags = `${l.dp > 1 ? ` --dp ${l.dp}` : ''}${l.ep > 1 ? ` --ep ${l.ep}` : ''}${l.epGroups ? ` --ep-groups ${l.epGroups}` : ''}`;
  const command = n === 1 ? `tinyseek pretrain --config RECIPE` : `mpirun --oversubscribe -np ${n} tinyseek pretrain --config RECIPE${flags}`;
  return { layout: l, steps: got.steps, allreduceS: got.allreduceS, command };
}

/** log C(n, k). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += Math.log(n - i) - Math.log(i + 1);
  return s;
}

/** Expected distinct nodes of k experts drawn uniformly without replacement from E spread evenly over G nodes. */
function expectedNodes(E: number, G: number, k: number): number {
  return G * (1 - Math.exp(logChoose(E - E / G, k) - logChoose(E, k)));
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const why = mpiUnavailableReason() ?? (spawnSync('mpirun', ['--version']).status === 0 ? null : 'mpirun is not installed');
  if (why) throw new Error(`bench parallel needs Open MPI: ${why}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-bench-parallel-'));
  try {
    writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 1, tokens: 60000 });
    const tok = Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 1024 });
    tok.save(path.join(dir, 'tok'));
    const B = 8, T = 64;
    const baseRecipe = (steps: number, overrides: Record<string, unknown> = {}, seqLen = T) => ({
      kind: 'pretrain', name: 'bench-parallel', seed: 1,
      model: { preset: 'mini', overrides },
      tokenizer: { path: path.join(dir, 'tok') },
      data: { file: path.join(dir, 'corpus.jsonl') },
      train: { steps, batchSize: B, seqLen, lr: { peak: 0.002, warmup: 2 } },
      eval: { every: 0, final: false },
      checkpoint: { every: 0 },
    });
    const steps = Math.max(4, Math.round(2 * opts.seconds)); // the first 2 are warm-up
    const layouts: Layout[] = [
      { name: '1 rank', dp: 1, ep: 1, steps },
      { name: 'DP 2', dp: 2, ep: 1, steps },
      { name: 'EP 2', dp: 1, ep: 2, steps },
    ];
    const runs = layouts.map((l) => runJob(dir, l, baseRecipe));
    const cfg = recipeConfig(parseRunRecipe(baseRecipe(1)), tok.vocabSize);
    const params = new DeepseekV3(deepseekConfig(cfg), 0).namedParameters();
    const psi = params.reduce((a, [, p]) => a + p.numel, 0);
    const psiExperts = params.filter(([n]) => isExpertParam(n)).reduce((a, [, p]) => a + p.numel, 0);
    const D = cfg.hiddenSize;

    const tokS = (o: Outcome) => median(o.steps.slice(2).map((s) => s.tokens_per_s));
    const stepS = (o: Outcome) => median(o.steps.slice(2).map((s) => s.step_time_s));
    const base = tokS(runs[0]);
    const speed = runs.map((o) => ({
      layout: o.layout.name, ranks: o.layout.dp * o.layout.ep, global_batch_tokens: B * T, steps_timed: o.steps.length - 2,
      tokens_per_s: tokS(o), step_s: stepS(o), ratio_vs_1_rank: tokS(o) / base,
    }));
    report(speed, opts.json, `Training tokens/s, mini model (${(psi / 1e6).toFixed(2)}M parameters), global batch ${B}×${T}; ratio = this layout / 1 rank (shared 2-core machine: indicative only)`);

    const comm = runs.slice(1).map((o) => {
      const W = o.layout.dp * o.layout.ep;
      const s = o.steps.slice(2);
      const dpBytes = s[0].dp!.bytes;
      const reduced = o.layout.ep > 1 ? psi - psiExperts : psi; // EP: experts are not all-reduced (DP 1)
      const ep = s.map((m) => m.ep).filter((x): x is NonNullable<StepMetrics['ep']> => !!x);
      const a2a = ep.length ? median(ep.map((e) => e.dispatch_bytes + e.combine_bytes + e.backward_bytes)) : 0;
      const rows = ep.length ? ep[0].rows : 0;
      const a2aFormula = ep.length ? 4 * rows * ((o.layout.ep - 1) / o.layout.ep) * D * 4 : 0;
      const wait = median(s.map((m) => m.dp!.wait_s));
      return {
        layout: o.layout.name,
        allreduce_bytes_per_rank: dpBytes, allreduce_formula: 4 * reduced, allreduce_ratio: dpBytes / (4 * reduced),
        ring_wire_bytes_per_rank: Math.round((2 * (W - 1) / W) * dpBytes),
        a2a_bytes_per_step: a2a, a2a_formula: Math.round(a2aFormula), a2a_ratio: a2aFormula ? a2a / a2aFormula : 0,
        buckets: s[0].dp!.buckets, posted_during_backward: s[0].dp!.posted_during_backward,
        allreduce_wait_s: wait, allreduce_blocking_s: o.allreduceS,
        allreduce_hidden_frac: o.allreduceS > 0 ? Math.max(0, Math.min(1, 1 - wait / o.allreduceS)) : 0,
        a2a_hidden_frac: 0, // the all-to-alls are blocking calls inside forward and backward
        a2a_s_per_rank: ep.length ? median(ep.map((e) => e.a2a_s)) / W : 0,
        a2a_share_of_step: ep.length ? median(ep.map((e) => e.a2a_s)) / W / stepS(o) : 0,
      };
    });
    report(comm, opts.json, 'Bytes per step against the formula (all-reduce: 4 B × reduced parameters per rank; all-to-all: 4 passes × rows × (W−1)/W × D × 4 B, balanced routing) and communication hidden behind compute');

    // Node-limited routing: EP 4 as 2 nodes of 2 ranks; n_group 2 = the nodes; top-4 experts.
    const nodeRuns = [1, 2].map((topkGroup) => runJob(dir, {
      name: `EP 4, 2 nodes, topk_group ${topkGroup}`, dp: 1, ep: 4, epGroups: 2, steps: 1,
      overrides: { n_group: 2, topk_group: topkGroup, num_experts_per_tok: 4 },
    }, (st, over) => baseRecipe(st, over, 32)));
    const v3 = { D: 7168, E: 256, k: 8, nodes: 8, M: 4 };
    const v3Node = v3.D + (v3.D / 128) * 4 + 2 * v3.D; // FP8 dispatch + its 1×128 scales, BF16 combine
    const nodes = nodeRuns.map((o) => {
      const e = o.steps[0].ep!;
      return {
        routing: o.layout.name, nodes_per_token: e.nodes_per_token, ranks_per_token: e.ranks_per_token,
        sent_bytes_per_token: (e.dispatch_bytes + e.combine_bytes) / e.tokens,
        remote_nodes_per_token: e.remote_nodes_per_token,
        // V3's dispatch: a token crosses to each other node once (then is forwarded inside it); fp32 here, both ways
        inter_node_bytes_per_token_sent_once_per_node: e.remote_nodes_per_token * D * 4 * 2,
      };
    });
    const limited = nodes[0], free = nodes[1];
    const v3Rows = [
      { routing: 'V3, node-limited (M = 4 of 8 nodes)', nodes_per_token_max: v3.M, nodes_per_token_expected: v3.M, ib_bytes_per_token: v3.M * v3Node },
      { routing: 'V3, unlimited (8 of 256 experts, uniform)', nodes_per_token_max: v3.k, nodes_per_token_expected: Number(expectedNodes(v3.E, v3.nodes, v3.k).toFixed(2)), ib_bytes_per_token: Math.round(expectedNodes(v3.E, v3.nodes, v3.k) * v3Node) },
    ];
    report(nodes, opts.json, 'Node-limited routing on EP 4 as 2 nodes (mini, n_group 2, top-4 of 8 experts): per token per MoE layer, forward');
    report(v3Rows, opts.json,
      'V3\'s analysis (D 7168; per node a token crosses IB once: FP8 dispatch + 1×128 scales, BF16 combine)');

    if (opts.out) {
      const result = {
        machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), shared with a training run and other engineers' jobs: speed figures are indicative only`,
        mpi: spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0],
        model: { preset: 'mini', parameters: psi, routed_expert_parameters: psiExperts, hidden_size: D, global_batch: [B, T] },
        commands: {
          bench: 'node dist/src/cli/index.js bench parallel --out docs/results',
          recipe: baseRecipe(steps),
          layouts: runs.concat(nodeRuns).map((o) => ({ layout: o.layout.name, command: o.command, overrides: o.layout.overrides ?? {}, steps: o.layout.steps })),
        },
        speed, comm, node_limited: nodes, v3: v3Rows,
        node_limit_reduction: { nodes: free.nodes_per_token / limited.nodes_per_token, sent_bytes: free.sent_bytes_per_token / limited.sent_bytes_per_token, inter_node_bytes: free.inter_node_bytes_per_token_sent_once_per_node / limited.inter_node_bytes_per_token_sent_once_per_node },
      };
      fs.mkdirSync(opts.out, { recursive: true });
      writeFileAtomic(path.join(opts.out, 'parallel.json'), JSON.stringify(result, null, 2) + '\n');
      writeFileAtomic(path.join(opts.out, 'parallel.md'), markdown(result));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function table(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]);
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(v >= 100 ? 0 : 3)) : String(v));
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${keys.map((k) => fmt(r[k])).join(' | ')} |`)].join('\n');
}

function markdown(r: Record<string, unknown> & { speed: Record<string, unknown>[]; comm: Record<string, unknown>[]; node_limited: Record<string, unknown>[]; v3: Record<string, unknown>[] }): string {
  return `# Data and expert parallelism: measured

Generated by \`${(r.commands as { bench: string }).bench}\` (Open MPI: ${r.mpi}).
Machine: ${r.machine}.

## Tokens/s, 1 vs 2 ranks

${table(r.speed)}

## Bytes per step against the formula, and communication hidden behind compute

${table(r.comm)}

How to read it. The all-reduce bytes are each rank's contribution (the gradients it reduces, 4 bytes each:
every parameter under DP; under EP 2 without DP the routed experts are not all-reduced at all — each
lives on one rank); a ring all-reduce puts 2(W−1)/W times that on the wire. The all-to-all bytes are
what all ranks sent to other ranks in one step: dispatch and combine in forward, both again in backward;
the formula assumes perfectly balanced routing, so the ratio is the routing's imbalance towards remote
experts. \`allreduce_hidden_frac\` = 1 − (wait after backward) / (a blocking all-reduce of the same bytes,
timed in the same job): the wait also contains the time the other rank is still computing its backward
(on this shared 2-core machine the ranks are time-sliced with other jobs and drift apart), so the measured
fraction is a lower bound and varies from run to run; all buckets were posted while backward was still running
(\`posted_during_backward\`). The EP all-to-alls are blocking calls inside forward and backward (nothing
hides them: DualPipe's overlap is the pipeline-parallel work); \`a2a_share_of_step\` is their share of the step.

## Node-limited routing

${table(r.node_limited)}

tinyseek's all-to-all sends one row per (token, routed expert) pair over a flat communicator, so the node
limit leaves its bytes per token unchanged (\`sent_bytes_per_token\`); what it bounds is the number of nodes a
token reaches, and with V3's dispatch — each token crosses to another node once and is forwarded inside it
— the inter-node bytes (\`inter_node_bytes_per_token_sent_once_per_node\`, fp32, dispatch + combine).
V3's own numbers for comparison:

${table(r.v3)}

## Commands

Each layout is one training run started by the benchmark through \`bench/_parallel-rank.ts\` (the trainer with
the same options the CLI passes); the equivalent commands, with RECIPE the JSON below (the node-limited runs
add their overrides to \`model.overrides\`, use \`seqLen\` 32 and 1 step):

${(r.commands as { layouts: { layout: string; command: string; overrides: object }[] }).layouts.map((l) => `- ${l.layout}: \`${l.command}\`${Object.keys(l.overrides).length ? ` with overrides \`${JSON.stringify(l.overrides)}\`` : ''}`).join('\n')}

RECIPE, where \`corpus.jsonl\` is 60,000 tokens of the default data recipe (seed 1) and \`tok\` a 1,024-token
byte-level BPE trained on it, both built by the benchmark in a temporary folder: \`${JSON.stringify((r.commands as { recipe: unknown }).recipe).replace(/"\/[^"]*\/(tok|corpus\.jsonl)"/g, '"$1"')}\`

The default run takes about a minute (five MPI jobs, two of them on 4 ranks over 2 cores), above the 30 s
of the other benchmarks.
`;
}
