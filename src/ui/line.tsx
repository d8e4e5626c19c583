// One preformatted line of a pane. Memoised: a line whose text and look are those of the
// last frame is not rendered again, and React leaves Ink's node for it as it was (most lines
// of the process table and the feed do not change from one refresh to the next).
import { Text } from 'ink';
import { memo } from 'react';

export interface LineProps {
  text: string;
  inverse?: boolean;
  color?: string | undefined;
  dimColor?: boolean;
}

export const Line = memo(function Line({ text, inverse = false, color, dimColor = false }: LineProps) {
  return (
    <Text inverse={inverse} color={color} dimColor={dimColor} wrap="truncate">
      {text}
    </Text>
  );
});
