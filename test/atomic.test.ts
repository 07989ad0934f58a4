// The one atomic-write helper (src/io/atomic.ts): what it does with outputs that are not regular files.
// Decision: a symbolic link is written through (the file it points to is replaced atomically, the link
// stays); devices, FIFOs, sockets, directories and dangling links are refused with a clear error and left
// untouched. The /dev/null and /dev/full cases write nothing even as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeFileAtomic, withAtomicFile, IoError } from '../src/io/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-atomic-'));
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => /\.tmp-\d+$/.test(f));

test('atomic writes go through a symlink: the file it names is replaced, the link stays a link', () => {
  const dir = tmp();
  const real = path.join(dir, 'real.json'), link = path.join(dir, 'link.json');
  fs.writeFileSync(real, 'old');
  fs.symlinkSync('real.json', link);
  writeFileAtomic(link, 'new');
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is still a symlink');
  assert.equal(fs.readlinkSync(link), 'real.json');
  assert.equal(fs.readFileSync(real, 'utf8'), 'new');
  assert.deepEqual(leftovers(dir), []);
});

test('atomic writes refuse FIFOs, device files, directories and dangling links, and leave them as they were', () => {
  const dir = tmp();
  const fifo = path.join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  const dangling = path.join(dir, 'dangling');
  fs.symlinkSync('no-such-file', dangling);
  const toNull = path.join(dir, 'to-null');
  fs.symlinkSync('/dev/null', toNull);
  const cases: [string, RegExp, () => boolean][] = [
    [fifo, /FIFO/, () => fs.lstatSync(fifo).isFIFO()],
    [sub, /directory/, () => fs.lstatSync(sub).isDirectory()],
    [dangling, /does not exist/, () => fs.lstatSync(dangling).isSymbolicLink() && !fs.existsSync(path.join(dir, 'no-such-file'))],
    [toNull, /character device/, () => fs.lstatSync(toNull).isSymbolicLink() && fs.statSync('/dev/null').isCharacterDevice()],
  ];
  // A character device of our own (same major/minor as /dev/null), where mknod is allowed (root).
  const dev = path.join(dir, 'nulldev');
  if (spawnSync('mknod', [dev, 'c', '1', '3']).status === 0) cases.push([dev, /character device/, () => fs.lstatSync(dev).isCharacterDevice()]);
  for (const [p, why, intact] of cases) {
    assert.throws(() => writeFileAtomic(p, 'x'), (e: Error) => e instanceof IoError && e.message.includes(p) && why.test(e.message) && /refus/.test(e.message), p);
    assert.throws(() => withAtomicFile(p, (f) => f.write(new Uint8Array(4))), IoError, p);
    assert.ok(intact(), `${p} is untouched`);
  }
  assert.deepEqual(leftovers(dir), [], 'no temporary file left behind');
});

test('atomic writes to /dev/null and /dev/full are refused and the devices stay devices', () => {
  for (const dev of ['/dev/null', '/dev/full']) {
    if (!fs.existsSync(dev)) continue;
    const before = fs.lstatSync(dev);
    assert.throws(() => writeFileAtomic(dev, 'x'), (e: Error) => e instanceof IoError && e.message.includes(dev) && /character device/.test(e.message), dev);
    const after = fs.lstatSync(dev);
    assert.ok(after.isCharacterDevice(), `${dev} is still a character device`);
    assert.equal(after.rdev, before.rdev);
    assert.equal(after.ino, before.ino);
  }
  assert.deepEqual(fs.readdirSync('/dev').filter((f) => /\.tmp-\d+$/.test(f)), [], 'no temporary file in /dev');
});

test('a write whose callback throws leaves the target absent and no temporary file', () => {
  const dir = tmp();
  const target = path.join(dir, 'out.bin');
  assert.throws(() => withAtomicFile(target, () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(fs.readdirSync(dir), []);
});
