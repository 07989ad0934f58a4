// The rewards of R1's RL stages, over both kinds of prompt (task problems, and general prompts whose
// Problem has family "chat"):
//   accuracy     tasks: the verifier on the summary's answer in a well-formed R1 response (chat: 0)
//   format       tasks: r1FormatOk; chat: r1ReplyOk (closed reasoning, a clean non-empty reply)
//   readability  tasks: the share of readable reasoning steps when the reasoning closes (stage 2's
//                language-consistency reward; chat: 0)
//   preference   chat: σ(RM score of the final answer only) when the reasoning closes (tasks: 0)
// Groups hold one prompt each, so a function that is 0 for the other kind adds nothing to its advantages.
import type { Problem } from '../../tasks/index.js';
import type { CompletionInfo, RewardFn } from '../rewards.js';
import { parseR1, r1FormatOk, r1ReplyOk, r1Verify } from './format.js';
import { readability } from './readability.js';
import type { RewardModel } from './reward-model.js';

/** The family of general (non-task) prompts. */
export const CHAT_FAMILY = 'chat';

/** Whether a problem is a general prompt. */
export const isChat = (p: Problem): boolean => p.family === CHAT_FAMILY;

/** Reward weights of an R1 RL stage. */
export interface R1RewardWeights {
  accuracy: number;
  format: number;
  readability: number;
  preference: number;
}

/** σ(x). */
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The readability reward of a completion (0 unless its reasoning closes). */
export function readabilityReward(info: CompletionInfo): number {
  const p = parseR1(info.text);
  return p.closed ? readability(p.thinking) : 0;
}

/** The reward functions of an R1 stage (those with weight 0 are left out; accuracy and format always run). */
export function r1RewardFunctions(w: R1RewardWeights, rm: RewardModel | null): RewardFn[] {
  const fns: RewardFn[] = [
    { name: 'accuracy', weight: w.accuracy, fn: (i) => (isChat(i.problem) ? 0 : r1Verify(i.problem, i.text).correct ? 1 : 0) },
    { name: 'format', weight: w.format, fn: (i) => ((isChat(i.problem) ? r1ReplyOk(i.text) : r1FormatOk(i.text)) ? 1 : 0) },
  ];
  if (w.readability) fns.push({ name: 'readability', weight: w.readability, fn: (i) => (isChat(i.problem) ? 0 : readabilityReward(i)) });
  if (w.preference && rm) {
    fns.push({
      name: 'preference', weight: w.preference,
      fn: (i) => {
        if (!isChat(i.problem)) return 0;
        const p = parseR1(i.text);
        return p.closed ? sigmoid(rm.score(i.problem.prompt, p.summary)) : 0;
      },
    });
  }
  return fns;
}
