import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitFeedBlocked, inInitialNetns, INIT_NS_INO, type NsFacts } from '../../src/sources/namespaces.js';

const HOST = { '/proc/self/ns/user': INIT_NS_INO.user, '/proc/self/ns/pid': INIT_NS_INO.pid };

/** /proc/.../ns links by path (all on one nsfs device); a path left out cannot be read. */
function facts(inos: Record<string, number>, release = '6.18.4'): NsFacts {
  return { stat: (p) => (p in inos ? { dev: 4, ino: inos[p]! } : undefined), release };
}

test('the initial network namespace: by its fixed inode, else by pid 1, else by what the kernel version implies', () => {
  assert.equal(inInitialNetns(facts({ '/proc/self/ns/net': INIT_NS_INO.net })), true);
  // pid 1 readable (root, older kernel with dynamic numbers): compare with it
  assert.equal(inInitialNetns(facts({ '/proc/self/ns/net': 0xf0000000, '/proc/1/ns/net': 0xf0000000 }, '6.8.0')), true);
  assert.equal(
    inInitialNetns(facts({ '/proc/self/ns/net': 0xf0000123, '/proc/1/ns/net': 0xf0000000 }, '6.8.0')),
    false,
  );
  // pid 1 unreadable: a kernel that numbers init_net would have shown NET_NS_INIT_INO
  assert.equal(inInitialNetns(facts({ '/proc/self/ns/net': 0xf0000123 }, '6.18.44-fc')), false);
  assert.equal(inInitialNetns(facts({ '/proc/self/ns/net': 0xf0000123 }, '7.0.0')), false);
  // ... an older one could be either
  assert.equal(inInitialNetns(facts({ '/proc/self/ns/net': 0xf0000000 }, '6.8.0-45-generic')), undefined);
  assert.equal(inInitialNetns(facts({})), undefined);
});

test('exitFeedBlocked: user, pid and network namespaces each get a message and a remedy; unsure warns', () => {
  assert.equal(exitFeedBlocked(facts({ ...HOST, '/proc/self/ns/net': INIT_NS_INO.net })), null);

  const user = exitFeedBlocked(
    facts({ ...HOST, '/proc/self/ns/user': 0xf0000001, '/proc/self/ns/net': INIT_NS_INO.net }),
  )!;
  assert.equal(user.code, 'EUSERNS');
  assert.match(user.explain(), /user namespace other than the host's[\s\S]*Run delaytop on the host/);
  const pid = exitFeedBlocked(
    facts({ ...HOST, '/proc/self/ns/pid': 0xf0000002, '/proc/self/ns/net': INIT_NS_INO.net }),
  )!;
  assert.equal(pid.code, 'EPIDNS');
  assert.match(pid.explain(), /pid namespace other than the host's[\s\S]*nsenter -t 1 -p/);
  const net = exitFeedBlocked(facts({ ...HOST, '/proc/self/ns/net': 0xf0000003 }))!;
  assert.equal(net.code, 'ENETNS');
  assert.match(
    net.explain(),
    /network namespace other than the host's.*would hear nothing\)\n {2}Run it in the host's network namespace, e\.g\. sudo nsenter -t 1 -n delaytop/,
  );

  const warned: string[] = [];
  assert.equal(
    exitFeedBlocked(facts({ ...HOST, '/proc/self/ns/net': 0xf0000003 }, '6.1.0'), (w) => warned.push(w)),
    null,
  );
  assert.equal(warned.length, 1);
  assert.match(warned[0]!, /cannot tell whether this is the host's network namespace/);
});
