// The dashboard's one input hook. Keys are applied one at a time to the latest state
// (held in a ref, not the last render's), because Ink delivers a paste or a burst of
// keys as a single event and the meaning of a key depends on the one before it
// ("/" starts a filter, so the "q" after it is text, not quit).
import { useInput } from 'ink';
import { useLayoutEffect, useRef } from 'react';
import { keyEvents } from './keymap.js';
import { applyKey, type Effect, type UiContext, type UiState } from './dashboard-reducer.js';

export interface DashboardInputOptions {
  /** false without a terminal on stdin (useInput would throw trying raw mode) */
  isActive: boolean;
  state: UiState;
  setState: (s: UiState) => void;
  context: UiContext;
  /** with the state after the keys that asked for it (quit hands it on to be saved) */
  run: (effect: Effect, state: UiState) => void;
}

export function useDashboardInput({ isActive, state, setState, context, run }: DashboardInputOptions): void {
  const stateRef = useRef(state);
  const contextRef = useRef(context);
  // After each commit, before any key can arrive (not during render, which React may discard).
  useLayoutEffect(() => {
    stateRef.current = state;
    contextRef.current = context;
  });
  useInput(
    (input, key) => {
      let s = stateRef.current;
      const effects: Effect[] = [];
      for (const ev of keyEvents(input, key)) {
        const r = applyKey(s, ev, contextRef.current);
        s = r.state;
        effects.push(...r.effects);
      }
      if (s !== stateRef.current) {
        stateRef.current = s;
        setState(s);
      }
      for (const e of effects) run(e, s);
    },
    { isActive },
  );
}
