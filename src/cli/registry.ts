// The list of tinyseek's commands. Each module exports `register(program)`.
import type { Command } from 'commander';
import * as bench from './commands/bench.js';
import * as trainCmd from './commands/train.js';
import * as rlCmd from './commands/rl.js';
import * as rolloutCmd from './commands/rollout.js';
import * as r1Cmd from './commands/r1.js';
import * as distillCmd from './commands/distill.js';
import * as distillStudyCmd from './commands/distill-study.js';
import * as params from './commands/params.js';
import * as cost from './commands/cost.js';
import * as kv from './commands/kv.js';
import * as bubble from './commands/bubble.js';
import * as data from './commands/data.js';
import * as generate from './commands/generate.js';
import * as chat from './commands/chat.js';
import * as exportCmd from './commands/export.js';
import * as serve from './commands/serve.js';
import * as tokenize from './commands/tokenize.js';
import * as ttc from './commands/ttc.js';
import * as scaling from './commands/scaling.js';

/** Registers every command on the program. */
export function registerAll(program: Command): void {
  trainCmd.register(program);
  rlCmd.register(program);
  rolloutCmd.register(program);
  r1Cmd.register(program);
  distillCmd.register(program);
  distillStudyCmd.register(program);
  bench.register(program);
  params.register(program);
  cost.register(program);
  kv.register(program);
  bubble.register(program);
  data.register(program);
  generate.register(program);
  chat.register(program);
  exportCmd.register(program);
  serve.register(program);
  tokenize.register(program);
  ttc.register(program);
  scaling.register(program);
}
