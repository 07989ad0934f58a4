// Child process of serveFixtureDir(): trains the serving fixture into argv[2]. It runs apart from the
// test process so that OpenBLAS's kernel and the thread counts can be pinned before OpenBLAS loads
// (see serveFixtureDir).
import { trainFixture } from './serve-fixture.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: serve-fixture-main.js DIR');
  process.exit(2);
}
trainFixture(dir);
