// The reports API behind the runs page (src/serve/reports.ts): which Markdown reports have figures,
// which figure belongs to which report (the longest stem), their titles, and the figure files, with
// bad names refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultReportsDir, listReports, reportsRoutes } from '../src/serve/reports.js';

test('reports with figures: the longest stem owns a figure, titles from the first heading, files served as SVG, bad names refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-reports-'));
  try {
    const put = (f: string, text: string) => fs.writeFileSync(path.join(dir, f), text);
    put('r1-zero.md', 'intro\n# R1-Zero on `base`\n');
    put('r1-zero-length.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>');
    put('r1-zero-grow.md', 'no heading here\n');
    put('r1-zero-grow-reward.svg', '<svg/>');
    put('r1-zero-grow-length.svg', '<svg/>');
    put('plain.md', '# No figures\n');
    put('orphan-figure.svg', '<svg/>');
    put('r1-zero.json', '{}');
    assert.deepEqual(listReports(dir), [
      { name: 'r1-zero', title: 'R1-Zero on base', figures: ['r1-zero-length.svg'] },
      { name: 'r1-zero-grow', title: 'r1-zero-grow', figures: ['r1-zero-grow-length.svg', 'r1-zero-grow-reward.svg'] },
    ]);
    assert.deepEqual(listReports(path.join(dir, 'missing')), []);
    const app = reportsRoutes(dir);
    const list = await app.request('/reports');
    assert.equal(list.status, 200);
    assert.deepEqual(((await list.json()) as { reports: { name: string }[] }).reports.map((r) => r.name), ['r1-zero', 'r1-zero-grow']);
    const fig = await app.request('/reports/r1-zero-length.svg');
    assert.equal(fig.status, 200);
    assert.equal(fig.headers.get('content-type'), 'image/svg+xml');
    assert.match(fig.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(await fig.text(), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    for (const bad of ['r1-zero.md', 'r1-zero.json', 'nope.svg', '..%2Fr1-zero-length.svg', '.hidden.svg']) {
      const r = await app.request(`/reports/${bad}`);
      assert.equal(r.status, 404, bad);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /^No report figure .* \(expected the name of an \.svg file in tinyseek-reports-\w+\/\)\.$/, bad);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // the default is the repository's docs/results, which holds the scaling and test-time reports
  const names = listReports(defaultReportsDir()).map((r) => r.name);
  for (const n of ['scaling', 'test-time']) assert.ok(names.includes(n), names.join(', '));
});
