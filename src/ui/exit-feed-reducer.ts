// The exit feed pane's UI state: live, paused, or scrolled back. A frozen view (paused or
// scrolled back) keeps the snapshot's exits it froze on (an immutable view of the ring,
// not a copy), so new exits neither move nor evict what it shows: they are only counted.
// Pure reducer.
import type { FeedEntry } from '../model/exit-feed/entries.js';
import { Ring, type RingView } from '../model/exit-feed/ring.js';

/** The feed's exits as of one snapshot (FeedSnapshot's entries and pushedTotal). */
export interface FeedExits {
  /** newest first; never changes */
  entries: RingView<FeedEntry>;
  /** exits ever folded into the feed */
  pushedTotal: number;
}

/** No feed (exits off) or none yet. */
export const NO_EXITS: FeedExits = { entries: new Ring<FeedEntry>(1).view(), pushedTotal: 0 };

export interface FeedPaneState {
  paused: boolean;
  /** the exits the pane showed when it froze (paused or scrolled back); null while live */
  frozen: FeedExits | null;
  /** first row shown (0 = the newest of what is shown) */
  start: number;
}

export const initialFeedPaneState: FeedPaneState = { paused: false, frozen: null, start: 0 };

/** The feed as the last snapshot has it, and the rows the pane has room for. */
export interface FeedView extends FeedExits {
  pageSize: number;
}

export type FeedPaneAction =
  { type: 'togglePause' } | { type: 'scroll'; delta: number } | { type: 'live' } | { type: 'oldest' };

export function isFrozen(state: FeedPaneState): boolean {
  return state.frozen !== null;
}

/** The exits the pane shows: the ones it froze on, or the live ones. */
export function shownExits(state: FeedPaneState, live: FeedExits): FeedExits {
  return state.frozen ?? live;
}

/** Exits that arrived since the view froze (0 while live), however many the ring could not keep. */
export function newerExits(state: FeedPaneState, live: FeedExits): number {
  return state.frozen ? Math.max(0, live.pushedTotal - state.frozen.pushedTotal) : 0;
}

export function reduceFeedPane(state: FeedPaneState, action: FeedPaneAction, view: FeedView): FeedPaneState {
  // freezing keeps what is on screen now: the last snapshot's view, which no later exit changes
  const frozen = state.frozen ?? { entries: view.entries, pushedTotal: view.pushedTotal };
  const lastStart = Math.max(0, frozen.entries.size - view.pageSize);
  switch (action.type) {
    case 'togglePause':
      return state.paused ? initialFeedPaneState : { paused: true, frozen, start: state.start };
    case 'live':
      return initialFeedPaneState;
    case 'oldest':
      return { paused: state.paused, frozen, start: lastStart };
    case 'scroll': {
      const start = Math.max(0, Math.min(state.start + action.delta, lastStart));
      // scrolled back to the newest and not paused: live again
      if (!state.paused && start === 0 && action.delta < 0) return initialFeedPaneState;
      return { paused: state.paused, frozen, start };
    }
  }
}
