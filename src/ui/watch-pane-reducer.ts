// The watch pane's UI state: which pinned task is selected. Pure reducer.
export interface WatchPaneState {
  selectedKey: string | null;
  selectedIndex: number;
}

export const initialWatchPaneState: WatchPaneState = { selectedKey: null, selectedIndex: 0 };

export type WatchPaneAction = { type: 'move'; delta: number } | { type: 'home' } | { type: 'end' };

/** Index of the selected pinned task among `keys` (-1 when none is pinned). */
export function selectedPinned(state: WatchPaneState, keys: readonly string[]): number {
  if (keys.length === 0) return -1;
  const i = state.selectedKey === null ? -1 : keys.indexOf(state.selectedKey);
  return i >= 0 ? i : Math.max(0, Math.min(state.selectedIndex, keys.length - 1));
}

export function reduceWatchPane(
  state: WatchPaneState,
  action: WatchPaneAction,
  keys: readonly string[],
): WatchPaneState {
  if (keys.length === 0) return initialWatchPaneState;
  const cur = selectedPinned(state, keys);
  const to = action.type === 'home' ? 0 : action.type === 'end' ? keys.length - 1 : cur + action.delta;
  const i = Math.max(0, Math.min(keys.length - 1, to));
  return { selectedKey: keys[i]!, selectedIndex: i };
}
