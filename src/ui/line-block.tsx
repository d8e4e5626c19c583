// Lines of a pane as one Text node: the lines before the highlighted one, the highlighted
// one, and those after it. Ink lays out, walks and squashes a node per Text at every frame
// (through Yoga's WebAssembly), so a table of 30 lines as 30 nodes cost most of a frame;
// one node draws the same picture. Each line must fit `width` already (a line wider than
// the node would be cut by Ink as if the block were one line).
import { Text } from 'ink';
import { displayWidth } from '../output/text.js';

export interface LineBlockProps {
  lines: readonly string[];
  /** the line drawn highlighted (padded to `width`), or -1 for none */
  highlight: number;
  width: number;
  /** highlighted in reverse video with focus, in cyan without */
  focused: boolean;
}

export function LineBlock({ lines, highlight, width, focused }: LineBlockProps) {
  if (highlight < 0 || highlight >= lines.length) return <Text>{lines.join('\n')}</Text>;
  const before = lines.slice(0, highlight).join('\n');
  const after = lines.slice(highlight + 1).join('\n');
  const line = lines[highlight]!;
  return (
    <Text>
      {before ? before + '\n' : ''}
      <Text inverse={focused} color={focused ? undefined : 'cyan'}>
        {line + ' '.repeat(Math.max(0, width - displayWidth(line)))}
      </Text>
      {after ? '\n' + after : ''}
    </Text>
  );
}
