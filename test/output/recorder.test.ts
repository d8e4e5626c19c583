// -w FILE: private, never through a symlink, flushed within a second, survives a crash.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FLUSH_INTERVAL_MS, Recorder, RecordingError, systemFacts } from '../../src/output/recorder.js';
import { ProcSource } from '../../src/sources/proc.js';
import { ReplaySource } from '../../src/sources/replay/source.js';
import { delay } from '../helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-rec-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = () => path.join(dir, `r${++n}.jsonl`);
const here = path.dirname(fileURLToPath(import.meta.url));
const facts = () => systemFacts({ statsSource: 'proc', exitCpus: null, delayacct: { on: true, onSinceSec: null } });

function openError(file: string): RecordingError {
  try {
    new Recorder(file, facts()).close();
  } catch (e) {
    assert.ok(e instanceof RecordingError, String(e));
    return e;
  }
  assert.fail(`${file} was accepted`);
}

test('a new recording is created 0600 whatever the umask, and starts with a versioned header', () => {
  const file = tmp();
  const old = process.umask(0);
  try {
    new Recorder(file, facts()).close();
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const lines = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'header');
  assert.equal(lines[0].format, 'delaytop-recording');
  assert.equal(lines[0].version, 1);
  assert.equal(lines[0].kernelRelease, os.release());
  assert.equal(lines.at(-1).type, 'end');
});

test('an existing file is truncated and made private', () => {
  const file = tmp();
  writeFileSync(file, 'old contents '.repeat(1000));
  chmodSync(file, 0o644);
  new Recorder(file, facts()).close();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(!readFileSync(file, 'utf8').includes('old contents'));
});

test('a symlink is refused, and its target left untouched', () => {
  const target = tmp();
  writeFileSync(target, 'precious');
  const link = tmp();
  symlinkSync(target, link);
  const e = openError(link);
  assert.equal(e.code, 'ELOOP');
  assert.match(e.message, new RegExp(`refusing to record to ${link}: it is a symbolic link`));
  assert.match(e.advice, /never writes a recording through a symlink/);
  assert.equal(readFileSync(target, 'utf8'), 'precious');
  assert.ok(lstatSync(link).isSymbolicLink());
  // a dangling link too: O_NOFOLLOW|O_CREAT must not create the target
  const dangling = tmp();
  const nowhere = path.join(dir, 'nowhere');
  symlinkSync(nowhere, dangling);
  assert.equal(openError(dangling).code, 'ELOOP');
  assert.equal(existsSync(nowhere), false);
});

test('a directory, a missing directory and a FIFO are refused with a clear message (no hang)', () => {
  const d = path.join(dir, 'adir');
  mkdirSync(d);
  assert.match(openError(d).message, /it is a directory|not a regular file/);
  assert.match(openError(path.join(dir, 'no/such/file')).message, /no such directory/);
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  assert.match(openError(fifo).message, /not a regular file|ENXIO|No such device/);
});

test('lines reach the file within a second, before close', async () => {
  const file = tmp();
  const rec = new Recorder(file, facts());
  const src = rec.wrapStats(new ProcSource());
  await src.query([{ kind: 'pid', id: process.pid }]);
  await delay(FLUSH_INTERVAL_MS + 200);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 2, 'header and the query batch are on disk');
  assert.equal(JSON.parse(lines[1]!).type, 'query');
  rec.close();
});

test('a killed recorder loses at most the last second; the replay plays what is there', async () => {
  const file = tmp();
  const script = `import { Recorder, systemFacts } from ${JSON.stringify(path.resolve(here, '../../src/output/recorder.ts'))};
    import { ProcSource } from ${JSON.stringify(path.resolve(here, '../../src/sources/proc.ts'))};
    const rec = new Recorder(${JSON.stringify(file)}, systemFacts({ statsSource: 'proc', exitCpus: null, delayacct: { on: true, onSinceSec: null } }));
    const src = rec.wrapStats(new ProcSource());
    setInterval(() => { void src.query([{ kind: 'pid', id: process.pid }]); }, 100);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
  await delay(2500);
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const queries = lines.filter((l) => l.type === 'query');
  assert.ok(queries.length >= 5, `only ${queries.length} batches reached the file`);
  assert.equal(lines.at(-1).type === 'end', false, 'no end line: it was killed');
  const r = new ReplaySource(file, { speed: Infinity });
  let played = 0;
  for (;;) {
    try {
      await r.query([{ kind: 'pid', id: 1 }]);
      played++;
    } catch {
      break;
    }
  }
  assert.equal(played, queries.length);
  assert.equal(r.error, null, 'whole lines only: the file was flushed line by line');
  assert.equal(r.complete, false);
});

test('-w refuses a path through a directory symlink of another user (a planted /tmp/x -> /root)', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to plant a symlink of another user');
  const {
    lchownSync,
    mkdtempSync: mk,
    rmSync: rm,
    symlinkSync: ln,
    writeFileSync: wf,
    readFileSync: rf,
  } = await import('node:fs');
  const { openRecordingFile } = await import('../../src/output/recorder.js');
  const base = mk(path.join(os.tmpdir(), 'dt-wdir-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const victim = path.join(base, 'rootdir');
  (await import('node:fs')).mkdirSync(victim);
  wf(path.join(victim, 'precious'), 'keep me\n');
  const planted = path.join(base, 'x');
  ln(victim, planted);
  lchownSync(planted, 65534, 65534);
  assert.throws(() => openRecordingFile(path.join(planted, 'precious')), /x is a symbolic link of uid 65534/);
  assert.equal(rf(path.join(victim, 'precious'), 'utf8'), 'keep me\n', 'not truncated');
});
