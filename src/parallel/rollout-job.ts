// A rollout job on the queue: one prompt group, the policy version that must sample it and the
// run's settings → the group sampled (rollout role) and scored (reward role) by a worker. The
// processor keeps one model per publish directory and reloads weights only when a job needs
// another version.
import os from 'node:os';
import { Generator } from '../infer/generator.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { rollout } from '../rl/rollout.js';
import type { PromptGroup, SamplingSettings } from '../rl/rollout.js';
import { ruleScorer, score } from '../rl/reward.js';
import type { RewardSpec, ScoredGroup } from '../rl/reward.js';
import { loadVersion, openPublishedModel } from './policy-store.js';

/** Default queue name. */
export const ROLLOUT_QUEUE = 'tinyseek-rollouts';

/** What a job carries (JSON). */
export interface RolloutJobData {
  /** The run it belongs to (random per run, kept across resumes). */
  run: string;
  /** The learner's publish directory (shared with the workers). */
  publishDir: string;
  /** The policy version that must sample this group. */
  version: number;
  group: PromptGroup;
  sampling: SamplingSettings;
  reward: RewardSpec;
}

/** What a job returns (JSON). */
export interface RolloutJobResult {
  group: ScoredGroup;
  /** Completion tokens generated. */
  tokens: number;
  /** Seconds the worker spent on it (weights loading included). */
  seconds: number;
  worker: string;
}

/** The id of the job of group `index` of attempt `attempt` of step `step` (BullMQ ids may not hold ':'). */
export function rollJobId(run: string, step: number, attempt: number, index: number): string {
  return `${run}_s${step}_a${attempt}_g${index}`;
}

/** A worker's name: host and process id. */
export function workerName(): string {
  return `${os.hostname()}-${process.pid}`;
}

interface Loaded {
  dir: string;
  model: CausalLM;
  tok: Tokenizer;
  gen: Generator;
  version: number;
  G: number;
}

/** Runs rollout jobs in a worker process. */
export class RolloutProcessor {
  private loaded: Loaded | null = null;
  /** Versions loaded so far (weights reloads). */
  loads = 0;

  constructor(readonly name = workerName()) {}

  /** Samples and scores the job's group with the weights of its version. */
  async process(d: RolloutJobData): Promise<RolloutJobResult> {
    const t0 = performance.now();
    const m = this.ensure(d);
    const tokens0 = m.gen.stats.generatedTokens;
    const sampled = await rollout(m.gen, { version: d.version, groups: [d.group] }, d.sampling);
    const [group] = score(sampled, ruleScorer(d.reward, (ids) => m.tok.decode(ids), m.tok.eosId));
    return { group, tokens: m.gen.stats.generatedTokens - tokens0, seconds: (performance.now() - t0) / 1000, worker: this.name };
  }

  /** The model of the job's run holding the job's version. */
  private ensure(d: RolloutJobData): Loaded {
    const G = d.sampling.numGenerations;
    let m = this.loaded;
    if (!m || m.dir !== d.publishDir) {
      const { model, tok } = openPublishedModel(d.publishDir);
      m = { dir: d.publishDir, model, tok, gen: this.generator(model, tok, G), version: -1, G };
      this.loaded = m;
    }
    if (m.G !== G) Object.assign(m, { gen: this.generator(m.model, m.tok, G), G });
    if (m.version !== d.version) {
      loadVersion(d.publishDir, d.version, m.model);
      m.version = d.version;
      this.loads++;
    }
    return m;
  }

  private generator(model: CausalLM, tok: Tokenizer, G: number): Generator {
    return new Generator(model, { maxBatch: G, maxLen: Math.min(model.cfg.maxPositionEmbeddings, 512), decode: (ids) => tok.decode(ids) });
  }
}
