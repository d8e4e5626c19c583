// Lines of a pane as one Text node: the lines before the highlighted one, the highlighted
// one, and those after it. Ink lays out, walks and squashes a node per Text at every frame
// (through Yoga's WebAssembly); one node draws the same picture as a node a line. That
// holds while every line fits `width` as Ink measures it, which is certain only for lines
// of one-column characters: any other line makes the lines a node each, each cut by Ink.
import { Text } from 'ink';
import { displayWidth } from '../output/text.js';
import { narrowWidth } from './narrow-text.js';

export interface LineBlockProps {
  lines: readonly string[];
  /** the line drawn highlighted (padded to `width`), or -1 for none */
  highlight: number;
  width: number;
  /** highlighted in reverse video with focus, in cyan without */
  focused: boolean;
}

const fits = (line: string, width: number): boolean => {
  const w = narrowWidth(line);
  return w !== undefined && w <= width;
};

export function LineBlock({ lines, highlight, width, focused }: LineBlockProps) {
  const look = { inverse: focused, ...(focused ? {} : { color: 'cyan' }) };
  const lit = (line: string) => line + ' '.repeat(Math.max(0, width - (narrowWidth(line) ?? width)));
  if (!lines.every((l) => fits(l, width))) {
    return (
      <>
        {lines.map((l, i) =>
          i === highlight ? (
            <Text key={i} wrap="truncate" {...look}>
              {l + ' '.repeat(Math.max(0, width - displayWidth(l)))}
            </Text>
          ) : (
            <Text key={i} wrap="truncate">
              {l}
            </Text>
          ),
        )}
      </>
    );
  }
  if (highlight < 0 || highlight >= lines.length) return <Text>{lines.join('\n')}</Text>;
  return (
    <Text>
      {highlight > 0 ? lines.slice(0, highlight).join('\n') + '\n' : ''}
      <Text {...look}>{lit(lines[highlight]!)}</Text>
      {highlight < lines.length - 1 ? '\n' + lines.slice(highlight + 1).join('\n') : ''}
    </Text>
  );
}
