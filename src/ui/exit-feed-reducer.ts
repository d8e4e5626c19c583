// The exit feed pane's UI state: live, paused, or scrolled back. A frozen view is
// anchored to the feed's pushed-total count, so new exits do not move it. Pure reducer.
export interface FeedPaneState {
  paused: boolean;
  /** pushedTotal when the view froze; null while live */
  anchorTotal: number | null;
  /** rows scrolled back from the anchor */
  offset: number;
}

export const initialFeedPaneState: FeedPaneState = { paused: false, anchorTotal: null, offset: 0 };

export interface FeedView {
  /** exits ever pushed (FeedSnapshot.pushedTotal) */
  pushedTotal: number;
  /** entries the ring holds now */
  size: number;
  pageSize: number;
}

export type FeedPaneAction =
  { type: 'togglePause' } | { type: 'scroll'; delta: number } | { type: 'live' } | { type: 'oldest' };

/** Index (0 = newest) of the first entry to show. */
export function feedStart(state: FeedPaneState, view: FeedView): number {
  if (state.anchorTotal === null) return 0;
  const start = view.pushedTotal - state.anchorTotal + state.offset;
  return Math.max(0, Math.min(start, Math.max(0, view.size - 1)));
}

export function isFrozen(state: FeedPaneState): boolean {
  return state.anchorTotal !== null;
}

export function reduceFeedPane(state: FeedPaneState, action: FeedPaneAction, view: FeedView): FeedPaneState {
  const anchor = state.anchorTotal ?? view.pushedTotal;
  const lastStart = Math.max(0, view.size - view.pageSize);
  switch (action.type) {
    case 'togglePause':
      return state.paused ? initialFeedPaneState : { paused: true, anchorTotal: anchor, offset: state.offset };
    case 'live':
      return initialFeedPaneState;
    case 'oldest':
      return { paused: state.paused, anchorTotal: anchor, offset: lastStart - (view.pushedTotal - anchor) };
    case 'scroll': {
      const start = feedStart(state, view) + action.delta;
      const clamped = Math.max(0, Math.min(start, lastStart));
      const offset = clamped - (view.pushedTotal - anchor);
      // scrolled back to the newest and not paused: live again
      if (!state.paused && clamped === 0 && action.delta < 0) return initialFeedPaneState;
      return { paused: state.paused, anchorTotal: anchor, offset };
    }
  }
}
