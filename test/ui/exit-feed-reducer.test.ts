// The exit feed pane: a paused or scrolled-back view is a snapshot of what it showed, kept
// through a storm of any size; it counts the exits that arrived since; Home is live again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeedStore } from '../../src/model/exit-feed/store.js';
import {
  initialFeedPaneState,
  newerExits,
  reduceFeedPane,
  shownExits,
  type FeedPaneAction,
  type FeedPaneState,
  type FeedView,
} from '../../src/ui/exit-feed-reducer.js';
import { exitStorm } from '../fakes/dashboard-sources.js';

const PAGE = 9;

/** A feed with a 1,000-entry ring (the dashboard's) and the pids pushed so far. */
function feed() {
  const store = new FeedStore([0], 1000);
  let next = 1;
  return {
    /** `n` more exits, in batches of `batch` */
    storm(n: number, batch = n) {
      for (let done = 0; done < n; done += batch) {
        const k = Math.min(batch, n - done);
        store.fold(exitStorm(next, k));
        next += k;
      }
    },
    view(): FeedView {
      const { entries, pushedTotal } = store.snapshot();
      return { entries, pushedTotal, pageSize: PAGE };
    },
  };
}

const act = (state: FeedPaneState, view: FeedView, ...actions: FeedPaneAction[]) =>
  actions.reduce((s, a) => reduceFeedPane(s, a, view), state);

/** The pids the pane shows, top to bottom. */
const rows = (state: FeedPaneState, view: FeedView) =>
  shownExits(state, view)
    .entries.slice(state.start, state.start + PAGE)
    .map((e) => e.pid);

const range = (from: number, down: number) => Array.from({ length: down }, (_, i) => from - i);

test('paused, the pane keeps its rows through a storm five times the ring, and counts the newer exits', () => {
  const f = feed();
  f.storm(1200);
  const live = rows(initialFeedPaneState, f.view());
  assert.deepEqual(live, range(1200, PAGE));
  const paused = act(initialFeedPaneState, f.view(), { type: 'togglePause' });
  assert.equal(paused.paused, true);
  assert.deepEqual(rows(paused, f.view()), live, 'freezing shows what was shown');
  assert.equal(newerExits(paused, f.view()), 0);

  f.storm(5000, 37); // in batches, as the listener hands them over
  assert.deepEqual(rows(paused, f.view()), live, 'the same rows, all of them');
  assert.equal(newerExits(paused, f.view()), 5000);
  assert.deepEqual(rows(initialFeedPaneState, f.view()), range(6200, PAGE), 'while the live feed moved on');

  f.storm(5000); // one batch larger than the ring: most never become entries, all are counted
  assert.deepEqual(rows(paused, f.view()), live);
  assert.equal(newerExits(paused, f.view()), 10_000);
});

test('scrolling within the snapshot reaches what the ring held when it froze, and no further', () => {
  const f = feed();
  f.storm(1500);
  let s = act(initialFeedPaneState, f.view(), { type: 'togglePause' });
  f.storm(5000);
  const v = f.view();
  s = act(s, v, { type: 'scroll', delta: 3 });
  assert.deepEqual(rows(s, v), range(1497, PAGE));
  s = act(s, v, { type: 'scroll', delta: PAGE - 1 });
  assert.deepEqual(rows(s, v), range(1489, PAGE), 'a page older');
  s = act(s, v, { type: 'oldest' });
  assert.deepEqual(rows(s, v), range(501 + PAGE - 1, PAGE), 'End: the oldest of the 1,000 it held (501..1500)');
  assert.deepEqual(act(s, v, { type: 'scroll', delta: 50 }), s, 'nothing older');
  s = act(s, v, { type: 'scroll', delta: -Infinity });
  assert.deepEqual(rows(s, v), range(1500, PAGE), 'back up to its newest, still paused');
  assert.equal(s.paused, true);
  assert.equal(newerExits(s, v), 5000);
});

test('scrolling back freezes too; up to the top, Home or p returns to live', () => {
  const f = feed();
  f.storm(100);
  const s = act(initialFeedPaneState, f.view(), { type: 'scroll', delta: 2 });
  assert.equal(s.paused, false);
  assert.deepEqual(rows(s, f.view()), range(98, PAGE));
  f.storm(3000);
  assert.deepEqual(rows(s, f.view()), range(98, PAGE), 'scrolled back: a snapshot as well');
  assert.equal(newerExits(s, f.view()), 3000);

  // pausing a scrolled-back view keeps that snapshot and position
  const p = act(s, f.view(), { type: 'togglePause' });
  assert.deepEqual(rows(p, f.view()), range(98, PAGE));
  assert.equal(newerExits(p, f.view()), 3000);

  const v = f.view();
  for (const back of [
    act(s, v, { type: 'scroll', delta: -1 }, { type: 'scroll', delta: -1 }),
    act(s, v, { type: 'live' }),
    act(p, v, { type: 'live' }),
    act(p, v, { type: 'togglePause' }),
  ]) {
    assert.deepEqual(back, initialFeedPaneState);
    assert.deepEqual(rows(back, v), range(3100, PAGE), 'live: the newest exits');
    assert.equal(newerExits(back, v), 0);
  }
  // live, up at the top stays live
  assert.deepEqual(act(initialFeedPaneState, v, { type: 'scroll', delta: -1 }), initialFeedPaneState);
});
