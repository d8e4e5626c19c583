// The frame every pane of the dashboard draws in: its box, a rounded border, cyan with focus.
import { Box } from 'ink';
import type { ReactNode } from 'react';
import type { PaneBox } from './layout.js';

export function PaneFrame({ box, focused, children }: { box: PaneBox; focused: boolean; children: ReactNode }) {
  return (
    <Box
      flexDirection="column"
      width={box.width}
      height={box.height}
      borderStyle="round"
      borderColor={focused ? 'cyan' : 'gray'}
    >
      {children}
    </Box>
  );
}
