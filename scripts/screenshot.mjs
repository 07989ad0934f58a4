#!/usr/bin/env node
// Regenerates the README's chat picture (docs/screenshot-chat.png) from a running server:
//   npx tinyseek serve &            # or: node dist/src/cli/index.js serve
//   node scripts/screenshot.mjs [--url http://127.0.0.1:8080] [--out docs/screenshot-chat.png]
//                               [--question "What is 12 + 7?"] [--width 1000] [--height 640]
// It drives Debian's Chromium (apt-get install -y chromium) through playwright-core with a fresh
// profile, asks the question in the chat page, waits for the answer, opens the reasoning block and
// saves the picture. test/serve-web.test.ts runs it too (into test-artifacts/).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Chromium flags that work on this kind of machine (see /work/shared/reference/ecosystem.md). */
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** The Chromium executable: $CHROMIUM_PATH, or Debian's. */
export function chromiumPath() {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/** Launches Chromium with a fresh profile; returns {context, close}. */
export async function launchChromium(opts = {}) {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: opts.width ?? 1000, height: opts.height ?? 640 },
    deviceScaleFactor: opts.scale ?? 1,
    isMobile: !!opts.mobile,
    hasTouch: !!opts.mobile,
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Asks `question` on the chat page at url and saves a screenshot with the reasoning block open. */
export async function screenshotChat({ url = 'http://127.0.0.1:8080', out = 'docs/screenshot-chat.png', question = 'What is 12 + 7?', width = 1000, height = 640, timeoutMs = 60_000 } = {}) {
  const { context, close } = await launchChromium({ width, height });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${url.replace(/\/$/, '')}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('model')?.textContent !== '…', null, { timeout: timeoutMs });
    await page.fill('#input', question);
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.assistant[data-state="done"]', { timeout: timeoutMs });
    // Open the (collapsed) reasoning so the picture shows it.
    const details = page.locator('.msg.assistant details.thinking').last();
    if ((await details.count()) && (await details.isVisible())) await details.locator('summary').click();
    await page.mouse.move(0, 0);
    await page.waitForTimeout(400); // let the chevron's transition finish
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    await page.screenshot({ path: out });
    return out;
  } finally {
    await close();
  }
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!fs.existsSync(chromiumPath())) {
    console.error(`screenshot: Chromium not found at ${chromiumPath()}; install it with: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    process.exit(2);
  }
  const out = await screenshotChat({
    url: arg('url', 'http://127.0.0.1:8080'),
    out: arg('out', 'docs/screenshot-chat.png'),
    question: arg('question', 'What is 12 + 7?'),
    width: Number(arg('width', '1000')),
    height: Number(arg('height', '640')),
  }).catch((e) => {
    console.error(`screenshot: ${e.message}`);
    process.exit(1);
  });
  console.log(`wrote ${out}`);
}
