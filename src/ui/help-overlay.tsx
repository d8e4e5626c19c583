// The help: every binding of the keymap, by where it applies. Nothing here is written by hand.
import { Box, Text } from 'ink';
import { helpSections } from './keymap.js';

export function HelpOverlay({ width, height }: { width: number; height: number }) {
  const sections = helpSections();
  // two columns: what you use most on the left
  const left = sections.filter((s) => s.scope === 'global' || s.scope === 'procs');
  const right = sections.filter((s) => s.scope !== 'global' && s.scope !== 'procs');
  const colW = Math.floor((width - 4) / 2);
  const keysW = Math.min(
    Math.max(...sections.flatMap((s) => s.rows.map((r) => r.keys.length))) + 2,
    Math.floor(colW / 2),
  );
  const column = (secs: typeof sections) => (
    <Box flexDirection="column" width={colW} marginRight={1}>
      {secs.map((s) => (
        <Box key={s.scope} flexDirection="column" marginBottom={1}>
          <Text bold color="cyan">
            {s.title}
          </Text>
          {s.rows.map((r, i) => (
            <Box key={i} flexDirection="row">
              <Box width={keysW} flexShrink={0}>
                <Text bold wrap="truncate">
                  {r.keys}
                </Text>
              </Box>
              <Text wrap="wrap">{r.help}</Text>
            </Box>
          ))}
        </Box>
      ))}
    </Box>
  );
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor="cyan" overflow="hidden">
      <Text bold wrap="truncate">
        delaytop help · ? or Esc closes · delay % = time spent waiting / wall time of the interval
      </Text>
      <Text dimColor wrap="truncate">
        Watch: delay%, avg = last interval; count, max, total = since the task started; max* = largest of a process's
        threads.
      </Text>
      <Text dimColor wrap="truncate">
        ~ a first sample (lifetime average) · ! impossible (a wait longer than the task lived, or timed from a stale
        stamp across a delayacct switch-on): never sorted on top, left out of sums, the reason in Watch
      </Text>
      <Box flexDirection="row">
        {column(left)}
        {column(right)}
      </Box>
    </Box>
  );
}
