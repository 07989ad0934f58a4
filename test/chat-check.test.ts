// scripts/chat-check.mjs, the measurement behind the shipped model's chat targets (issue #13), run
// as its users run it: it starts `npm start` on a model directory (the serving fixture), asks through
// the official `openai` client, and writes its report. The fixture's scores are whatever they are;
// the test checks that every question was asked and that the verdicts follow from the replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveFixtureDir } from './helpers/serve-fixture.js';

interface Turn { question: string; answer: string; reply: string; correct: boolean }
interface General { text: string; reply: string; problem: string | null }

test('chat-check: asks held-out phrasings (first and second turn) and general prompts against npm start, and scores the replies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-chat-check-'));
  try {
    const out = path.join(dir, 'report');
    const stdout = execFileSync(process.execPath, ['scripts/chat-check.mjs', serveFixtureDir(), '--n', '1', '--out', out], { encoding: 'utf8', timeout: 240_000 });
    const r = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8')) as {
      first_turn: { prompts: number; accuracy: number }; second_turn: { prompts: number; accuracy: number }; general: { prompts: number; sensible: number };
      targets: Record<string, boolean>; first_replies: Turn[]; second_replies: Turn[]; general_replies: General[];
    };
    // 1 problem per family × the held-out phrasings of add (6) and sub (5).
    assert.equal(r.first_turn.prompts, 11, stdout);
    assert.equal(r.second_replies.length, 11);
    for (const t of [...r.first_replies, ...r.second_replies]) {
      const nums = t.reply.match(/-?\d+/g);
      assert.equal(t.correct, nums !== null && nums.at(-1) === t.answer, `${t.question} → ${t.reply}`);
    }
    const acc = r.first_replies.filter((t) => t.correct).length / 11;
    assert.equal(r.first_turn.accuracy, acc);
    assert.equal(r.targets.first_turn_at_least_60pct, acc >= 0.6);
    assert.ok(r.general_replies.some((g) => g.text === 'Hello, who are you?'));
    for (const g of r.general_replies) {
      if (/\d/.test(g.reply) || g.reply.trim() === '') assert.notEqual(g.problem, null, `"${g.reply}" to "${g.text}" is not a reply in words`);
    }
    assert.equal(r.targets.every_general_reply_sensible, r.general_replies.every((g) => g.problem === null));
    assert.match(fs.readFileSync(`${out}.md`, 'utf8'), /\| First turn, held-out phrasings \| [\d.]+% \(\d+\/11\) \| ≥ 60%/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
