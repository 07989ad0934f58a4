// The web UI in Debian's Chromium driven by playwright-core: ask a question on the chat page and see
// the thinking block ("Thought for … s", open while streaming, collapsed after) and the rendered
// answer; history survives a reload; the layout fits a phone; an empty chat offers example prompts; the runs page draws SVG charts, the
// expert-load heatmaps and the eval table from a fake run. Screenshots go to test-artifacts/.
// Skipped, with the reason, only when Chromium is not installed (a failure under TINYSEEK_REQUIRE_TOOLS=1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveFixtureDir, longRunningModel } from './helpers/serve-fixture.js';
import { toolSkip } from './helpers/tools.js';
import { loadModelDir } from '../src/infer/load.js';
import { startServer } from '../src/serve/server.js';
import type { RunningServer } from '../src/serve/server.js';
import type { ModelCard } from '../src/serve/model-card.js';

/** The page's way of writing a parameter count (web/js/chat.js). */
function fmtCount(n: number): string {
  for (const [v, s] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']] as const) {
    if (n >= v) return `${Number((n / v).toFixed(n >= 100 * v ? 0 : 1))}${s}`;
  }
  return String(n);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = path.join(root, 'test-artifacts');
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const skip = toolSkip('Chromium', fs.existsSync(chromium) ? null : `Chromium not found at ${chromium}: install it with "apt-get install -y chromium chromium-driver" (or set CHROMIUM_PATH)`);

interface Shot {
  launchChromium(o?: { width?: number; height?: number; mobile?: boolean }): Promise<{ context: import('playwright-core').BrowserContext; close(): Promise<void> }>;
  screenshotChat(o: { url: string; out: string; question?: string }): Promise<string>;
}
let shot: Shot;
let srv: RunningServer;
let runsDir: string;

/** A fake GRPO-style run: loss, reward ± std, completion length, KL, lr, expert load for 3 MoE layers, eval.json. */
function writeFakeRun(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let step = 1; step <= 60; step++) {
    const t = step / 60;
    const expert_load = [1, 2, 3].map((layer) => Array.from({ length: 8 }, (_, e) => Math.round(100 * (1 + (1 - t) * Math.sin(e * 1.7 + layer)) + e)));
    lines.push(JSON.stringify({
      step, loss: 3 * Math.exp(-3 * t) + 0.3 + 0.05 * Math.sin(step), mtp_loss: 3.4 * Math.exp(-2.5 * t) + 0.4, lr: step < 10 ? step * 1e-4 : 1e-3 * (1 - t),
      grad_norm: 1 + Math.cos(step / 3) * 0.3, tokens_per_s: 4000 + 10 * step, expert_load,
      reward: t * 0.8, reward_std: 0.2 + 0.1 * (1 - t), 'completions/mean_length': 60 + 100 * t, 'completions/max_length': 120 + 100 * t, kl: 0.01 * step,
    }));
  }
  lines.push('{"step": 61, "loss": 0.3'); // a line still being written: skipped
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'eval.json'), JSON.stringify({
    greedy_accuracy: { addition: { accuracy: 0.82, format: 0.99, n: 200 }, countdown: { accuracy: 0.31, format: 0.95, n: 200 } },
    model: 'tinyseek-r1-mini', step: 60,
  }, null, 2));
}

before(async () => {
  if (skip) return;
  shot = (await import(path.join(root, 'scripts', 'screenshot.mjs'))) as Shot;
  runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-runs-'));
  writeFakeRun(path.join(runsDir, 'demo-grpo'));
  fs.mkdirSync(path.join(runsDir, 'not-a-run'));
  fs.mkdirSync(artifacts, { recursive: true });
  srv = await startServer({ model: loadModelDir(serveFixtureDir()), port: 0, runsDir, id: 'tinyseek-test' });
});

after(async () => {
  await srv?.close();
  if (runsDir) fs.rmSync(runsDir, { recursive: true, force: true });
});

test('chat page: ask a question, see the thinking block and the answer; history persists; fits a phone', { skip, timeout: 120_000 }, async () => {
  const { context, close } = await shot.launchChromium({ width: 1000, height: 700 });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Greedy decoding for a stable answer; record whether the reasoning block was open while streaming.
    await page.addInitScript(() => {
      if (!localStorage.getItem('tinyseek.settings')) localStorage.setItem('tinyseek.settings', JSON.stringify({ temperature: 0, maxTokens: 120 }));
      const w = window as unknown as { __openWhileStreaming: boolean };
      w.__openWhileStreaming = false;
      new MutationObserver(() => {
        if (document.querySelector('.msg.assistant[data-state="streaming"] details.thinking[open]')) w.__openWhileStreaming = true;
      }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await page.goto(`${srv.url}/`);
    await page.waitForFunction(() => document.getElementById('model')?.textContent === 'tinyseek-test');
    assert.equal(await page.isVisible('#empty'), true);
    await page.fill('#input', 'What is 3 + 4?');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.assistant[data-state="done"]', { timeout: 60_000 });

    const view = await page.evaluate(() => {
      const msg = document.querySelector('.msg.assistant')!;
      const d = msg.querySelector('details.thinking') as HTMLDetailsElement;
      return {
        user: document.querySelector('.msg.user .bubble')?.textContent,
        summary: d.querySelector('summary')!.textContent,
        open: d.open,
        hidden: d.hidden,
        reasoning: d.querySelector('.reasoning')!.textContent,
        answerText: msg.querySelector('.answer')!.textContent,
        answerHtml: msg.querySelector('.answer')!.innerHTML,
        meta: msg.querySelector('.meta')!.textContent,
        openWhileStreaming: (window as unknown as { __openWhileStreaming: boolean }).__openWhileStreaming,
      };
    });
    assert.equal(view.user, 'What is 3 + 4?');
    assert.equal(view.hidden, false, 'the thinking block is shown');
    assert.match(view.summary ?? '', /^Thought for \d+\.\d s$/);
    assert.equal(view.open, false, 'collapsed after the reasoning ended');
    assert.equal(view.openWhileStreaming, true, 'expanded while the reasoning streamed');
    assert.ok((view.reasoning ?? '').length > 0, 'reasoning text');
    assert.ok(!(view.reasoning ?? '').includes('</think>'));
    assert.ok((view.answerText ?? '').trim().length > 0, 'answer text');
    assert.match(view.answerHtml, /<strong>/, 'markdown rendered (**bold** → <strong>)');
    assert.match(view.meta ?? '', /\d+ tokens/);
    await page.locator('details.thinking summary').click();
    assert.equal(await page.locator('details.thinking').evaluate((d) => (d as HTMLDetailsElement).open), true, 'the block opens on click');
    await page.screenshot({ path: path.join(artifacts, 'chat.png') });

    // Markdown is sanitized.
    const html = await page.evaluate(async () => {
      const m = await import('/js/markdown.js' as string);
      return m.renderMarkdown('<img src=x onerror="alert(1)"><script>alert(2)</script> **bold** [a](javascript:alert(3))', await m.loadMarkdown()) as string;
    });
    assert.ok(!/onerror|<script|javascript:/i.test(html), `sanitized: ${html}`);
    assert.match(html, /<strong>bold<\/strong>/);

    // History is kept in the browser.
    await page.reload();
    await page.waitForSelector('.msg.assistant[data-state="done"]');
    assert.equal(await page.locator('.msg').count(), 2);
    assert.equal(await page.locator('#conversations li').count(), 1);
    assert.match((await page.locator('#conversations li').first().textContent()) ?? '', /What is 3 \+ 4\?/);

    // A second turn goes through with the history (the answer only, not the reasoning).
    await page.fill('#input', 'Hello!');
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant[data-state="done"]').length === 2, null, { timeout: 60_000 });

    // New chat empties the page; the old one stays in the list.
    await page.click('#new-chat');
    assert.equal(await page.locator('.msg').count(), 0);
    assert.equal(await page.isVisible('#empty'), true);
    await page.locator('#conversations li .open').first().click();
    assert.equal(await page.locator('.msg').count(), 4);

    // Phone-sized screen: no horizontal overflow, the sidebar is a drawer behind the menu button.
    await page.setViewportSize({ width: 390, height: 780 });
    await page.waitForFunction(() => document.getElementById('sidebar')!.getBoundingClientRect().right <= 1, null, { timeout: 5000 }).catch(() => {});
    const layout = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      sidebarLeft: document.getElementById('sidebar')!.getBoundingClientRect().right,
      composerBottom: document.getElementById('composer')!.getBoundingClientRect().bottom,
      height: window.innerHeight,
    }));
    assert.ok(layout.overflow <= 0, `no horizontal scrolling (${layout.overflow}px)`);
    assert.ok(layout.sidebarLeft <= 1, 'the sidebar is off-screen');
    assert.ok(layout.composerBottom <= layout.height, 'the composer is on screen');
    assert.equal(await page.isVisible('#menu'), true);
    await page.click('#menu');
    await page.waitForFunction(() => document.getElementById('sidebar')!.getBoundingClientRect().left >= 0);
    await page.click('#scrim', { position: { x: 370, y: 400 } });
    await page.waitForFunction(() => document.getElementById('sidebar')!.getBoundingClientRect().right <= 1);
    await page.screenshot({ path: path.join(artifacts, 'chat-mobile.png') });
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await close();
  }
});

test('empty chat: the model line and example prompts from /api/model; a click sends one and a reply with a thinking block arrives; they come back on new chat', { skip, timeout: 120_000 }, async () => {
  const card = (await (await fetch(`${srv.url}/api/model`)).json()) as ModelCard;
  assert.deepEqual(card.examples.map((e) => e.family), ['add', 'sort', 'countdown', 'sub']);
  const { context, close } = await shot.launchChromium({ width: 390, height: 780, mobile: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript(() => {
      if (!localStorage.getItem('tinyseek.settings')) localStorage.setItem('tinyseek.settings', JSON.stringify({ temperature: 0, maxTokens: 120 }));
    });
    await page.goto(`${srv.url}/`);
    await page.waitForSelector('#examples .example');
    const shown = await page.evaluate(() => ({
      examples: [...document.querySelectorAll('#examples .example')].map((b) => b.textContent),
      line: document.getElementById('model-line')!.textContent ?? '',
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      inside: [...document.querySelectorAll('#examples .example')].every((b) => b.getBoundingClientRect().right <= window.innerWidth),
    }));
    assert.deepEqual(shown.examples, card.examples.map((e) => e.prompt), 'one button per example, in the task wording');
    assert.ok(shown.line.startsWith(`tinyseek-test · ${fmtCount(card.parameters.total)} parameters (${fmtCount(card.parameters.activated)} active per token) · solves small arithmetic, sorting and countdown problems; it is tiny, so expect mistakes`), shown.line);
    assert.ok(shown.overflow <= 0 && shown.inside, `the examples fit a phone (${shown.overflow}px)`);
    await page.screenshot({ path: path.join(artifacts, 'chat-empty-mobile.png') });

    await page.locator('#examples .example').first().click();
    await page.waitForSelector('.msg.assistant[data-state="done"]', { timeout: 60_000 });
    const view = await page.evaluate(() => ({
      user: document.querySelector('.msg.user .bubble')?.textContent,
      thinkingHidden: (document.querySelector('.msg.assistant details.thinking') as HTMLElement).hidden,
      summary: document.querySelector('.msg.assistant details.thinking summary')?.textContent,
      reasoning: document.querySelector('.msg.assistant .reasoning')?.textContent ?? '',
    }));
    assert.equal(view.user, card.examples[0].prompt, 'the click sent the example');
    assert.equal(view.thinkingHidden, false, 'the reply has a thinking block');
    assert.match(view.summary ?? '', /^Thought for \d+\.\d s$/);
    assert.ok(view.reasoning.length > 0);
    assert.equal(await page.isVisible('#examples'), false, 'no examples once the conversation has begun');
    assert.equal(await page.isVisible('#model-line'), false);

    await page.click('#menu');
    await page.click('#new-chat');
    assert.equal(await page.locator('.msg').count(), 0);
    assert.equal(await page.isVisible('#examples'), true, 'the examples are back on a new chat');
    assert.equal(await page.locator('#examples .example').count(), card.examples.length);
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await close();
  }
});

test('the stop button aborts the reply and the server frees its slot', { skip, timeout: 120_000 }, async () => {
  const lm = loadModelDir(serveFixtureDir());
  const tok = lm.tokenizer;
  const question = 'Please go on and on.';
  const prompt = tok.encode(tok.applyChatTemplate([{ role: 'user', content: question }], { addGenerationPrompt: true }), { allowSpecial: true });
  const slow = await startServer({ model: await longRunningModel(lm, prompt, 1500), port: 0, maxBatch: 1 });
  const { context, close } = await shot.launchChromium();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.addInitScript(() => localStorage.setItem('tinyseek.settings', JSON.stringify({ temperature: 0, maxTokens: 1500 })));
    await page.goto(`${slow.url}/`);
    await page.waitForFunction(() => document.getElementById('model')?.textContent === 'random');
    await page.fill('#input', question);
    await page.press('#input', 'Enter');
    await page.waitForSelector('#stop:not([hidden])');
    const gen = slow.host.generator;
    const t0 = Date.now();
    while (gen.stats.generatedTokens < 3 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 5));
    await page.click('#stop');
    await page.waitForSelector('.msg.assistant[data-state="done"]');
    assert.match((await page.locator('.msg.assistant .meta').textContent()) ?? '', /stopped/);
    assert.equal(await page.isVisible('#send'), true, 'Send is back');
    const t1 = Date.now();
    while (gen.activeCount() !== 0 && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 5));
    assert.equal(gen.activeCount(), 0, 'the slot is freed');
    assert.ok(gen.stats.generatedTokens < 1500, `the generation stopped early (${gen.stats.generatedTokens} tokens)`);
  } finally {
    await close();
    await slow.close();
  }
});

test('runs page: SVG charts of loss, reward, completion length and KL, expert-load heatmaps, eval table; the result reports\' figures', { skip, timeout: 120_000 }, async () => {
  const api = (await (await fetch(`${srv.url}/api/runs`)).json()) as { runs: { name: string; lines: number; lastStep: number | null; hasEval: boolean }[] };
  assert.deepEqual(api.runs.map((r) => r.name), ['demo-grpo'], 'only directories with metrics.jsonl are runs');
  assert.equal(api.runs[0].lastStep, 60, 'the last complete row');
  assert.equal(api.runs[0].hasEval, true);
  const m = (await (await fetch(`${srv.url}/api/runs/demo-grpo/metrics`)).json()) as { rows: unknown[]; skipped: number };
  assert.equal(m.rows.length, 60);
  assert.equal(m.skipped, 1);
  for (const bad of ['..', '..%2F..%2Fetc', '.hidden', 'a%00b']) {
    const r = await fetch(`${srv.url}/api/runs/${bad}/metrics`);
    assert.ok(r.status === 400 || r.status === 404, `${bad}: ${r.status}`);
  }
  assert.equal((await fetch(`${srv.url}/api/runs/nope/metrics`)).status, 404);

  const { context, close } = await shot.launchChromium({ width: 1200, height: 900 });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/runs#demo-grpo`);
    await page.waitForSelector('svg.chart path.series');
    const info = await page.evaluate(() => ({
      titles: [...document.querySelectorAll('.card h4 span:first-child')].map((e) => e.textContent),
      series: document.querySelectorAll('svg.chart path.series').length,
      heatmaps: document.querySelectorAll('svg.heatmap').length,
      cells: document.querySelector('svg.heatmap')?.querySelectorAll('rect').length ?? 0,
      band: document.querySelectorAll('svg.chart path.band').length,
      evalRows: [...document.querySelectorAll('table.eval tbody tr td:first-child')].map((e) => e.textContent),
      pathLen: (document.querySelector('svg.chart path.series') as SVGPathElement).getTotalLength(),
    }));
    for (const t of ['Loss', 'Reward', 'Completion length', 'KL', 'Layer 0', 'Layer 1', 'Layer 2', 'lr', 'grad_norm']) assert.ok(info.titles.includes(t), `a "${t}" panel (${info.titles.join(', ')})`);
    assert.ok(info.series >= 8, `line series drawn (${info.series})`);
    assert.ok(info.pathLen > 100, 'the line has a length');
    assert.equal(info.heatmaps, 3, 'one heatmap per MoE layer');
    assert.equal(info.cells, 60 * 8, '60 steps × 8 experts');
    assert.equal(info.band, 1, 'the reward ± std band');
    assert.ok(info.evalRows.includes('addition') && info.evalRows.includes('countdown'), `eval table rows: ${info.evalRows.join(', ')}`);
    await page.screenshot({ path: path.join(artifacts, 'runs.png'), fullPage: true });
    // the result reports of docs/results with figures, below the runs: the scaling report's SVGs load
    await page.click('#reports a[href="#report:scaling"]');
    await page.waitForFunction(() => document.querySelectorAll('.figures img').length > 0 && [...document.querySelectorAll<HTMLImageElement>('.figures img')].every((i) => i.complete));
    const rep = await page.evaluate(() => ({
      listed: [...document.querySelectorAll('#reports a')].map((a) => a.getAttribute('href')),
      title: document.querySelector('#run h2')?.textContent,
      images: [...document.querySelectorAll<HTMLImageElement>('.figures img')].map((i) => ({ src: i.getAttribute('src'), w: i.naturalWidth })),
    }));
    assert.ok(rep.listed.includes('#report:scaling') && rep.listed.includes('#report:test-time'), rep.listed.join(', '));
    assert.equal(rep.title, 'Scaling laws measured on tinyseek: sweep');
    assert.ok(rep.images.some((i) => i.src === '/api/reports/scaling-frontier.svg'), JSON.stringify(rep.images));
    for (const i of rep.images) assert.ok(i.w > 100, `${i.src} drawn (${i.w} px wide)`);
    await page.screenshot({ path: path.join(artifacts, 'runs-report.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await close();
  }
});

test('scripts/screenshot.mjs regenerates the README picture from a running server', { skip, timeout: 120_000 }, async () => {
  const out = path.join(artifacts, 'screenshot-chat.png');
  fs.rmSync(out, { force: true });
  await shot.screenshotChat({ url: srv.url, out, question: 'What is 12 + 7?' });
  const png = fs.readFileSync(out);
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG file');
  assert.ok(png.length > 10_000);
});
