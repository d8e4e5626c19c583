// The dashboard's root: reads the engine's snapshot, lays the panes out for the terminal
// size, and routes keys. Everything it shows comes from one snapshot per refresh.
import { Box, Text } from 'ink';
import { memo, useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { shownTable, usersOf, windowRows } from '../model/table-view.js';
import { ColumnChooser } from './column-chooser.js';
import { GroupTable } from './group-table.js';
import { columnsFor } from './columns.js';
import type { TableState } from './process-table-reducer.js';
import type { DashboardController } from '../engine/refresh.js';
import { viewportRows } from '../engine/details.js';
import { ExitFeed, feedPageSize } from './exit-feed.js';
import { bannerLines, Header, headerBanners } from './header.js';
import { printable } from '../output/text.js';
import { HelpOverlay, helpLines, helpPageSize } from './help-overlay.js';
import { keyHints, type ActiveScope } from './keymap.js';
import { promptParts, type PromptPart } from './action-dialog-reducer.js';
import { layoutFor, MIN_COLUMNS, MIN_ROWS } from './layout.js';
import { ProcessTable, tablePageSize } from './process-table.js';
import { useDashboardInput } from './use-dashboard-input.js';
import {
  activeScopes,
  initialUiState,
  watchShown,
  type Effect,
  type UiContext,
  type UiState,
} from './dashboard-reducer.js';
import { NO_EXITS } from './exit-feed-reducer.js';
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

/** The key hints (memoised: they change with the focus, a prompt or a hint, not with a refresh). */
const Footer = memo(function Footer({
  scopes,
  hint,
  prompt,
}: {
  scopes: readonly ActiveScope[];
  hint: string | null;
  prompt?: readonly PromptPart[];
}) {
  // in a prompt: its question, then the keys of its own scope (y/n are in the question)
  const hints = keyHints(prompt ? scopes.filter((s) => s.scope !== 'confirm' && s.scope !== 'global') : scopes);
  return (
    <Text wrap="truncate">
      {prompt?.map((p, i) => (
        <Text key={`p${i}`} bold color="yellow" inverse={p.chosen}>
          {p.text}
        </Text>
      ))}
      {prompt ? '  ' : null}
      {hint ? <Text color="yellow">{printable(hint)} · </Text> : null}
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
});

/** The filters besides the typed one, in words, for the process pane's title. */
function filterWords(t: TableState, users: ReadonlyMap<number, string>): string {
  const words: string[] = [];
  if (t.uid !== null) words.push(`user ${printable(users.get(t.uid) ?? String(t.uid))}`);
  if (t.hideKernel) words.push('no kernel threads');
  if (t.hideIdle) words.push('no idle tasks');
  if (t.tree) words.push('tree');
  return words.join(', ');
}

export function Dashboard({ controller, interactive, onQuit, initialState, sizeSource }: DashboardProps) {
  const snap = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const size = useTerminalSize(sizeSource);
  const [chosen, setUi] = useState<UiState>(initialState ?? initialUiState);
  const showWatch = watchShown(chosen, snap.pinned.length);
  // focus on a watch pane that is not shown (its last task unpinned) is on the process pane
  const ui: UiState = chosen.focus === 'watch' && !showWatch ? { ...chosen, focus: 'procs' } : chosen;
  const layout = layoutFor(
    size.columns,
    size.rows,
    bannerLines(headerBanners(snap.header).map(printable), Math.max(60, size.columns)).length,
    { watch: showWatch, feedOff: snap.feed ? null : (snap.header.exitsOffReason ?? 'Exit feed off.') },
  );
  const bodyHeight = layout.height - layout.headerLines - 1;
  const helpLength = useMemo(() => helpLines(layout.width - 2).length, [layout.width]);

  const { sort, descending, filter, hideKernel, hideIdle, uid, tree } = ui.table;
  const shown = useMemo(
    () => shownTable(snap.rows, snap.mode, { sort, descending, filter, hideKernel, hideIdle, uid, tree }),
    [snap.rows, snap.mode, sort, descending, filter, hideKernel, hideIdle, uid, tree],
  );
  const { rows, keys: rowKeys } = shown;
  const users = useMemo(() => usersOf(snap.rows), [snap.rows]);
  const columns = useMemo(
    () => columnsFor(layout.procs.width - 2, snap.mode, ui.table.columns),
    [layout.procs.width, snap.mode, ui.table.columns],
  );
  const page = tablePageSize(layout.procs);
  // The engine reads state and command line for the rows on screen; told what decides them,
  // it reads a refresh's before publishing it (one frame a refresh, not two).
  const { top, selectedKey, selectedIndex } = ui.table;
  const tableWindow = { top, selectedKey, selectedIndex, pageSize: page };
  const onScreen = windowRows(rows, rowKeys, tableWindow);
  useEffect(() => {
    controller.setViewport(viewportRows(onScreen, snap.mode), {
      view: { sort, descending, filter, hideKernel, hideIdle, uid, tree },
      window: tableWindow,
    });
  });
  const pinnedKeys = useMemo(() => snap.pinned.map((e) => e.key), [snap.pinned]);
  const pinnedSet = useMemo(() => new Set(pinnedKeys), [pinnedKeys]);
  const exits = snap.feed ?? NO_EXITS;
  const context: UiContext = {
    rows,
    rowKeys,
    tablePageSize: page,
    pinnedKeys,
    feed: {
      entries: exits.entries,
      pushedTotal: exits.pushedTotal,
      pageSize: feedPageSize(layout.feed),
    },
    help: { lines: helpLength, pageSize: helpPageSize(bodyHeight) },
    columns: columns.map((c) => c.id),
    sortable: [...columns.flatMap((c) => (c.sort ? [c.sort] : [])), 'COMMAND'],
    users,
    actionsOff: snap.actionsOff,
    inspected: snap.inspected,
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
        case 'cycleView':
          controller.cycleView();
          break;
        case 'interval':
          controller.changeInterval(e.dir);
          break;
        case 'toggleDelayacct':
          controller.toggleDelayacct();
          break;
        case 'notice':
          controller.notice(e.text);
          break;
        case 'inspect':
          controller.inspect(e.target, e.comm);
          break;
        case 'renice':
          controller.renice(e.target, e.delta);
          break;
        case 'ionice':
          controller.ionice(e.target, e.choice);
          break;
        case 'signal':
          controller.sendSignal(e.target, e.signal);
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
  return (
    <Box flexDirection="column" width={layout.width} height={layout.height}>
      <Header snap={snap} width={layout.width} taskCount={snap.rows.length} />
      {ui.help ? (
        <HelpOverlay width={layout.width} height={bodyHeight} top={ui.helpTop} />
      ) : ui.chooser !== null ? (
        <ColumnChooser
          width={layout.width}
          height={bodyHeight}
          selected={ui.chooser}
          shown={context.columns}
          automatic={ui.table.columns === null}
        />
      ) : (
        <Box flexDirection="column" height={bodyHeight}>
          <Box flexDirection="row" height={layout.procs.height}>
            {snap.groups ? (
              <GroupTable
                rows={snap.groups}
                box={layout.procs}
                focused={ui.focus === 'procs'}
                sort={ui.table.sort}
                descending={ui.table.descending}
              />
            ) : (
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
                columns={columns}
                details={snap.details}
                users={snap.users}
                {...(shown.depth ? { depth: shown.depth } : {})}
                filters={filterWords(ui.table, snap.users)}
              />
            )}
            {showWatch ? (
              <WatchPane entries={snap.pinned} state={ui.watch} box={layout.watch} focused={ui.focus === 'watch'} />
            ) : null}
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
      <Footer
        scopes={activeScopes(ui)}
        hint={ui.hint}
        {...(ui.dialog ? { prompt: promptParts(ui.dialog, snap.inspected, layout.width) } : {})}
      />
    </Box>
  );
}
