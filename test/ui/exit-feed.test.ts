// The exit feed pane's title: at any width the loss counter and the count of exits that
// arrived since the view froze keep every digit; the hint and the rate give way first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeedStore } from '../../src/model/exit-feed/store.js';
import { feedTitle } from '../../src/ui/exit-feed.js';
import { initialFeedPaneState, reduceFeedPane } from '../../src/ui/exit-feed-reducer.js';
import { MIN_COLUMNS } from '../../src/ui/layout.js';
import { counters, exitStorm } from '../fakes/dashboard-sources.js';

test('the title says how many exits arrived since a pause, in full, down to the narrowest pane', () => {
  const store = new FeedStore([0], 1000);
  store.fold(exitStorm(1, 10));
  const view = { ...store.snapshot(), pageSize: 5 };
  const paused = reduceFeedPane(initialFeedPaneState, { type: 'togglePause' }, view);
  const back = reduceFeedPane(initialFeedPaneState, { type: 'scroll', delta: 1 }, view);
  // a long storm later (its counts; building its million entries would prove nothing more)
  store.fold({ records: [], counters: [counters(0, 1_234_577)] });
  const feed = { ...store.snapshot(), pushedTotal: 1_234_577 };
  const line = (t: ReturnType<typeof feedTitle>) => `Exit feed ${t.counts}${t.lost} · ${t.mode}`;

  assert.equal(line(feedTitle(feed, initialFeedPaneState, 118)), 'Exit feed 1234577 exits · 0.0/s · lost 0 · LIVE');
  assert.equal(
    line(feedTitle(feed, paused, 118)),
    'Exit feed 1234577 exits · 0.0/s · lost 0 · PAUSED · 1,234,567 newer (Home: live)',
  );
  assert.equal(
    line(feedTitle(feed, back, 118)),
    'Exit feed 1234577 exits · 0.0/s · lost 0 · SCROLLED BACK · 1,234,567 newer (Home: live)',
  );
  for (let width = MIN_COLUMNS - 2; width <= 118; width++) {
    for (const state of [paused, back]) {
      const text = line(feedTitle(feed, state, width));
      assert.ok(text.length <= width, `fits ${width}: ${text}`);
      assert.match(text, /1,234,567/, `every digit at ${width}`);
      assert.match(text, /lost 0/);
    }
  }
});

test('a storm past the listener queue: the title says how many exits were counted but not listed', () => {
  const store = new FeedStore([0, 1], 1000);
  store.fold(exitStorm(1, 10));
  store.fold({
    records: [],
    counters: [
      { ...counters(0, 600_000), summarized: 480_000 },
      { ...counters(1, 400_000), summarized: 350_000 },
    ],
  });
  const t = feedTitle(store.snapshot(), initialFeedPaneState, 118);
  assert.equal(`${t.counts}${t.lost}`, '1000000 exits (830000 counted, not listed) · 0.0/s · lost 0');
});
