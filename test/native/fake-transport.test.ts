// The addon's N-API-free core (native/nl.cc, transport.cc, query-engine.cc, exit-reader.cc)
// over a scripted fake kernel (fake-kernel.h), without root or taskstats: cases.cc is built
// here with the system's C++ compiler (the one node-gyp builds the addon with), and each of
// its cases runs as its own subtest, so a failing case fails npm test by name.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const native = path.resolve(here, '../../native');
const SOURCES = [
  ...['nl.cc', 'transport.cc', 'query-engine.cc', 'exit-reader.cc'].map((f) => path.join(native, f)),
  path.join(here, 'cases.cc'),
];
const CXX = process.env.CXX || 'c++';
const FLAGS = ['-std=c++17', '-g', '-O1', '-Wall', '-Wextra', '-Wno-unused-parameter', '-pthread'];
// Where the toolchain has them (glibc's gcc and clang do; a musl one may not), a read out of
// bounds or undefined behaviour fails the case that caused it.
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];
// Leak checks off: LeakSanitizer needs ptrace, which some containers deny.
const RUN_ENV = { ...process.env, ASAN_OPTIONS: 'detect_leaks=0', UBSAN_OPTIONS: 'print_stacktrace=1' };

const dir = mkdtempSync(path.join(tmpdir(), 'delaytop-native-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = path.join(dir, 'cases');

const compile = (extra: string[]): SpawnSyncReturns<string> =>
  spawnSync(CXX, [...FLAGS, ...extra, ...SOURCES, '-o', bin], { encoding: 'utf8' });

let build = compile(SANITIZE);
let sanitized = true;
if (!build.error && build.status !== 0) {
  const plain = compile([]);
  if (plain.status === 0) [build, sanitized] = [plain, false];
}

if ((build.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
  test('native core over a fake kernel', (t) => {
    t.skip(`needs a C++ compiler (${CXX}, or set CXX), as building the addon does`);
  });
} else if (build.status !== 0) {
  test('native core over a fake kernel: the test program builds', () => {
    assert.fail(`${CXX} failed:\n${build.stderr || build.error}`);
  });
} else {
  const list = spawnSync(bin, ['--list'], { encoding: 'utf8', env: RUN_ENV });
  const names = list.status === 0 ? list.stdout.split('\n').filter(Boolean) : [];
  test('native core over a fake kernel: the test program lists its cases', () => {
    assert.equal(list.status, 0, list.stderr);
    assert.ok(names.length > 0, 'no cases');
  });
  for (const name of names) {
    test(name, (t) => {
      if (!sanitized) t.diagnostic(`${CXX} has no -fsanitize=address,undefined here: built without sanitizers`);
      const r = spawnSync(bin, [name], { encoding: 'utf8', env: RUN_ENV, timeout: 60_000 });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}${r.error ?? ''}`);
    });
  }
}
