// Stream one chat completion from a model directory with tinyseek used as a library, printing the
// reasoning and the answer separately. Run from a project that has tinyseek installed:
//   node chat-stream.mjs [MODEL_DIR] ["question"]
// MODEL_DIR defaults to the model shipped with tinyseek, models/tinyseek-r1-mini.
import path from 'node:path';
import { createRequire } from 'node:module';
import { loadModelDir, createGenerator, chatPrompt, samplingFrom, ReasoningSplitter } from 'tinyseek';

const tinyseekRoot = path.dirname(createRequire(import.meta.url).resolve('tinyseek/package.json'));
const dir = process.argv[2] ?? path.join(tinyseekRoot, 'models', 'tinyseek-r1-mini');
const question = process.argv[3] ?? 'What is 12 + 7?';

const lm = loadModelDir(dir); // weights + tokenizer + generation_config.json; the model is in eval mode
const prompt = chatPrompt(lm.tokenizer, [{ role: 'user', content: question }]);
const splitter = new ReasoningSplitter(lm.tokenizer, { startInThinking: prompt.opensThinking });
const generator = createGenerator(lm, { maxBatch: 1 });

process.stdout.write('reasoning: ');
let answering = false;
const result = await generator.generate({
  prompt: prompt.ids,
  maxNewTokens: 200,
  sampling: samplingFrom(lm, { temperature: 0 }), // greedy; omit to use the directory's defaults
  stopTokenIds: lm.stopTokenIds,
  onToken: (event) => {
    for (const delta of splitter.push(event.token)) {
      if (delta.kind === 'content' && !answering) {
        answering = true;
        process.stdout.write('\nanswer: ');
      }
      process.stdout.write(delta.text);
    }
  },
});
for (const delta of splitter.finish()) process.stdout.write(delta.text);
process.stdout.write('\n');
console.log(JSON.stringify({ reasoning: splitter.reasoning, answer: splitter.content, tokens: result.tokens.length, finish_reason: result.finishReason }));
