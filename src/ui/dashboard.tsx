// The dashboard's root: reads the engine's snapshot, lays the panes out for the terminal
// size, and routes keys. Everything it shows comes from one snapshot per refresh.
import { Box, Text } from 'ink';
import { useCallback, useMemo, useState, useSyncExternalStore } from 'react';
import { viewRows } from '../model/scan.js';
import type { DashboardController } from '../engine/refresh.js';
import { ExitFeed, feedPageSize } from './exit-feed.js';
import { bannerLines, Header, headerBanners } from './header.js';
import { printable } from '../output/text.js';
import { HelpOverlay } from './help-overlay.js';
import { keyHints, type ActiveScope } from './keymap.js';
import { layoutFor, MIN_COLUMNS, MIN_ROWS } from './layout.js';
import { ProcessTable, tablePageSize } from './process-table.js';
import { useDashboardInput } from './use-dashboard-input.js';
import { activeScopes, initialUiState, type Effect, type UiContext, type UiState } from './dashboard-reducer.js';
import { useTerminalSize } from './use-terminal-size.js';
import { WatchPane } from './watch-pane.js';

export interface DashboardProps {
  controller: DashboardController;
  /** stdin is a terminal: take keys (raw mode) */
  interactive: boolean;
  /** the user quit (q), leaving the UI in this state */
  onQuit: (ui: UiState) => void;
  initialState?: UiState;
  /** the real terminal, when Ink writes through a wrapper (its size is followed) */
  sizeSource?: NodeJS.WriteStream;
}

function Footer({ scopes }: { scopes: readonly ActiveScope[] }) {
  const hints = keyHints(scopes);
  return (
    <Text wrap="truncate">
      {hints.map((h, i) => (
        <Text key={i}>
          <Text bold color="cyan">
            {h.keys}
          </Text>
          <Text>
            {' '}
            {h.help}
            {i < hints.length - 1 ? '  ' : ''}
          </Text>
        </Text>
      ))}
    </Text>
  );
}

// module-level, not made per render: see comparatorFor in model/scan.ts
const keyOf = (r: { key: string }): string => r.key;

export function Dashboard({ controller, interactive, onQuit, initialState, sizeSource }: DashboardProps) {
  const snap = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const size = useTerminalSize(sizeSource);
  const [ui, setUi] = useState<UiState>(initialState ?? initialUiState);
  const layout = layoutFor(
    size.columns,
    size.rows,
    bannerLines(headerBanners(snap.header).map(printable), Math.max(60, size.columns)).length,
  );

  const { sort, descending, filter } = ui.table;
  const rows = useMemo(() => viewRows(snap.rows, sort, descending, filter), [snap.rows, sort, descending, filter]);
  const rowKeys = useMemo(() => rows.map(keyOf), [rows]);
  const pinnedKeys = useMemo(() => snap.pinned.map((e) => e.key), [snap.pinned]);
  const pinnedSet = useMemo(() => new Set(pinnedKeys), [pinnedKeys]);
  const context: UiContext = {
    rows,
    rowKeys,
    tablePageSize: tablePageSize(layout.procs),
    pinnedKeys,
    feed: {
      pushedTotal: snap.feed?.pushedTotal ?? 0,
      size: snap.feed?.entries.length ?? 0,
      pageSize: feedPageSize(layout.feed),
    },
  };

  const run = useCallback(
    (e: Effect, latest: UiState) => {
      switch (e.type) {
        case 'quit':
          onQuit(latest);
          break;
        case 'togglePin':
          controller.togglePin(e.target, e.comm);
          break;
        case 'unpin':
          controller.unpin(e.key);
          break;
        case 'toggleThreads':
          controller.toggleMode();
          break;
        case 'interval':
          controller.changeInterval(e.dir);
          break;
        case 'toggleDelayacct':
          controller.toggleDelayacct();
          break;
      }
    },
    [controller, onQuit],
  );
  useDashboardInput({ isActive: interactive, state: ui, setState: setUi, context, run });

  if (size.columns < MIN_COLUMNS || size.rows < MIN_ROWS) {
    // drawn at the minimum size it would scroll the terminal: say so instead
    return (
      <Box width={size.columns} height={Math.max(1, size.rows - 1)} overflow="hidden">
        <Text wrap="wrap">
          delaytop needs a terminal of at least {MIN_COLUMNS}x{MIN_ROWS} (this one is {size.columns}x{size.rows}); q
          quits
        </Text>
      </Box>
    );
  }
  const bodyHeight = layout.height - layout.headerLines - 1;
  return (
    <Box flexDirection="column" width={layout.width} height={layout.height}>
      <Header snap={snap} width={layout.width} taskCount={snap.rows.length} />
      {ui.help ? (
        <HelpOverlay width={layout.width} height={bodyHeight} />
      ) : (
        <Box flexDirection="column" height={bodyHeight}>
          <Box flexDirection="row" height={layout.procs.height}>
            <ProcessTable
              rows={rows}
              rowKeys={rowKeys}
              total={snap.rows.length}
              state={ui.table}
              mode={snap.mode}
              box={layout.procs}
              focused={ui.focus === 'procs'}
              pinnedKeys={pinnedSet}
              lifetime={snap.lifetime}
              waiting={snap.atMs === 0}
            />
            <WatchPane entries={snap.pinned} state={ui.watch} box={layout.watch} focused={ui.focus === 'watch'} />
          </Box>
          <ExitFeed
            feed={snap.feed}
            offReason={snap.header.exitsOffReason}
            state={ui.feed}
            box={layout.feed}
            cpuWidth={layout.cpuWidth}
            focused={ui.focus === 'feed'}
          />
        </Box>
      )}
      <Footer scopes={activeScopes(ui)} />
    </Box>
  );
}
