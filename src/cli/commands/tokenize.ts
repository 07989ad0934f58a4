// `tinyseek tokenize DIR [--chat] [--json]`: text on stdin → token ids and their pieces, as
// llama.cpp's tokenize tool prints them ("id -> 'piece'" per line). DIR holds tokenizer.json (and
// tokenizer_config.json): a model directory, or any Hugging Face tokenizer directory of the
// DeepSeek, Qwen or Llama-3 families. --chat renders the text as one user message through the chat
// template (generation prompt appended) first; --json prints one object with ids, tokens, pieces.
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from '../errors.js';
import { Tokenizer, TokenizerError } from '../../tokenizer/index.js';
import { endsInsideThink } from '../../infer/load.js';

interface TokenizeOptions {
  chat: boolean;
  json: boolean;
  ids: boolean;
  addSpecial: boolean;
  parseSpecial: boolean;
  system?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Registers `tinyseek tokenize`. */
export function register(program: Command): void {
  program
    .command('tokenize')
    .description('tokenize text from stdin with a directory\'s tokenizer.json: ids and pieces (like llama.cpp\'s tokenize)')
    .argument('<dir>', 'a directory with tokenizer.json (and tokenizer_config.json): a model directory or a Hugging Face tokenizer')
    .option('--chat', 'render stdin as one user message through the chat template (generation prompt appended)', false)
    .option('--system <text>', 'a system message (with --chat)')
    .option('--json', 'print one JSON object: ids, tokens (vocabulary strings), pieces (decoded text)', false)
    .option('--ids', 'print only the ids, as one JSON array', false)
    .option('--add-special', 'add what the tokenizer adds around a text (BOS; not with --chat, whose template writes its own)', false)
    .option('--no-parse-special', 'encode special-token text such as <think> as plain text')
    .action(async (dir: string, o: TokenizeOptions) => {
      if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) throw new CliError(`${dir}: expected a directory with tokenizer.json; found none`);
      if (o.system !== undefined && !o.chat) throw new CliError('--system needs --chat');
      if (o.addSpecial && o.chat) throw new CliError('--add-special cannot be used with --chat (the chat template writes its own BOS)');
      let tok: Tokenizer;
      try {
        tok = Tokenizer.fromDir(dir);
      } catch (e) {
        if (e instanceof TokenizerError) throw new CliError(`cannot load the tokenizer of ${dir}: ${e.message}`);
        throw e;
      }
      let text = await readStdin();
      if (o.chat) {
        // A trailing newline from `echo` is not part of the message.
        const content = text.replace(/\r?\n$/, '');
        const messages = [...(o.system !== undefined ? [{ role: 'system' as const, content: o.system }] : []), { role: 'user' as const, content }];
        try {
          text = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
        } catch (e) {
          if (e instanceof TokenizerError) throw new CliError(`the chat template of ${dir} failed: ${e.message}`);
          throw e;
        }
      }
      const ids = tok.encode(text, { allowSpecial: o.chat || o.parseSpecial, addSpecialTokens: o.addSpecial });
      if (o.ids) {
        console.log(JSON.stringify(ids));
        return;
      }
      const pieces = ids.map((id) => tok.decode([id]));
      if (o.json) {
        const out: Record<string, unknown> = { ids, tokens: ids.map((id) => tok.tokenOf(id)), pieces, count: ids.length };
        if (o.chat) Object.assign(out, { text, opens_thinking: endsInsideThink(text) });
        console.log(JSON.stringify(out));
        return;
      }
      // Pieces are escaped as in JSON strings (newlines and tabs stay visible, one token per line).
      const lines = ids.map((id, i) => `${String(id).padStart(6)} -> '${JSON.stringify(pieces[i]).slice(1, -1)}'`);
      process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
      console.error(`${ids.length} tokens`);
    });
}
