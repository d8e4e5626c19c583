// Errno names: the addon (native/errors.h) and errnoName name them from one table, libuv's.
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { test } from 'node:test';
import { loadAddon } from '../../src/kernel/addon.js';
import { errnoName } from '../../src/kernel/errors.js';

test('the addon and errnoName name errnos from one table (libuv, through node)', () => {
  const errno = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
    assert.fail('no error');
  };
  for (const e of [
    errno(() => loadAddon().cgroupStats('/nonexistent/delaytop')), // ENOENT from open()
    errno(() => loadAddon().cgroupStats('/')), // not a cgroup v1 directory: the kernel's answer
  ]) {
    assert.equal(typeof e.errno, 'number');
    assert.match(e.code ?? '', /^E[A-Z0-9]+$/);
    assert.equal(errnoName(e.errno!), e.code);
  }
  assert.equal(errnoName(constants.errno.ESRCH), 'ESRCH');
  assert.equal(errnoName(constants.errno.ETIMEDOUT), 'ETIMEDOUT');
  assert.equal(errnoName(9999), 'errno 9999');
});
