// External tools some tests need (llama.cpp through node-llama-cpp, Chromium, the native addon).
// On a developer machine a missing tool skips those tests with the reason; with
// TINYSEEK_REQUIRE_TOOLS=1 (set by .ci/run) a missing tool FAILS instead, so CI cannot go green
// while silently skipping the strongest checks.
import { test } from 'node:test';
import type { TestContext } from 'node:test';

/** True when missing tools fail the run (TINYSEEK_REQUIRE_TOOLS=1). */
export const REQUIRE_TOOLS = process.env.TINYSEEK_REQUIRE_TOOLS === '1';

/** The error a test fails with when a required tool is missing. */
export function toolMissingError(tool: string, reason: string): Error {
  return new Error(`${tool} is required (TINYSEEK_REQUIRE_TOOLS=1) but unavailable: ${reason}`);
}

/**
 * Inside a test: skips it with `reason` — or, under TINYSEEK_REQUIRE_TOOLS=1, fails it.
 * Use as `if (!tool) return skipOrFail(t, 'Chromium', reason);`.
 */
export function skipOrFail(t: TestContext, tool: string, reason: string): void {
  if (REQUIRE_TOOLS) throw toolMissingError(tool, reason);
  t.skip(reason);
}

const reported = new Set<string>();

/**
 * For a test's `{ skip }` option: false when the tool is available (`reason` null), else the reason.
 * Under TINYSEEK_REQUIRE_TOOLS=1 a missing tool also registers one failing test naming it.
 */
export function toolSkip(tool: string, reason: string | null): string | false {
  if (reason === null) return false;
  if (REQUIRE_TOOLS && !reported.has(tool)) {
    reported.add(tool);
    test(`required tool: ${tool}`, () => {
      throw toolMissingError(tool, reason);
    });
  }
  return reason;
}
