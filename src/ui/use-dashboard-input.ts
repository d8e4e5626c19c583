// The dashboard's one input hook. Keys are applied one at a time to the latest state
// (held in a ref, not the last render's), because Ink delivers a paste or a burst of
// keys as a single event and the meaning of a key depends on the one before it
// ("/" starts a filter, so the "q" after it is text, not quit).
//
// Not Ink's useInput: it loses function keys (see terminal-keys.ts). This hook does what
// useInput does (raw mode while active, a listener on Ink's input events) and parses the
// sequences itself. Ink 6.8's stdin context exposes those events as internal_eventEmitter.
import { useStdin } from 'ink';
import { useEffect, useLayoutEffect, useRef } from 'react';
import { keyPressed } from './lazy-throttle.js';
import { keyEvents } from './terminal-keys.js';
import { applyKey, type Effect, type UiContext, type UiState } from './dashboard-reducer.js';

export interface DashboardInputOptions {
  /** false without a terminal on stdin (raw mode would throw) */
  isActive: boolean;
  state: UiState;
  setState: (s: UiState) => void;
  context: UiContext;
  /** with the state after the keys that asked for it (quit hands it on to be saved) */
  run: (effect: Effect, state: UiState) => void;
}

export function useDashboardInput({ isActive, state, setState, context, run }: DashboardInputOptions): void {
  const { setRawMode, internal_eventEmitter: inputEvents } = useStdin();
  const stateRef = useRef(state);
  const contextRef = useRef(context);
  const runRef = useRef(run);
  // After each commit, before any key can arrive (not during render, which React may discard).
  useLayoutEffect(() => {
    stateRef.current = state;
    contextRef.current = context;
    runRef.current = run;
  });
  useEffect(() => {
    if (!isActive) return;
    setRawMode(true);
    return () => setRawMode(false);
  }, [isActive, setRawMode]);
  useEffect(() => {
    if (!isActive) return;
    const onInput = (input: string) => {
      keyPressed(); // its frame is drawn at once (the bundle's Ink throttle: lazy-throttle.ts)
      let s = stateRef.current;
      const effects: Effect[] = [];
      for (const ev of keyEvents(input)) {
        const r = applyKey(s, ev, contextRef.current);
        s = r.state;
        effects.push(...r.effects);
      }
      if (s !== stateRef.current) {
        stateRef.current = s;
        setState(s);
      }
      for (const e of effects) runRef.current(e, s);
    };
    inputEvents.on('input', onInput);
    return () => {
      inputEvents.removeListener('input', onInput);
    };
  }, [isActive, inputEvents, setState]);
}
