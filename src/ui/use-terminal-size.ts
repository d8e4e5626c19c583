// The terminal's size, updated on resize (Ink 6.8 has no useWindowSize).
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** Defaults when stdout is not a terminal (a benchmark piping to /dev/null, tests). */
export const DEFAULT_SIZE: TerminalSize = { columns: 120, rows: 40 };

/** `source`: the stream to follow, when Ink writes through a wrapper (FullScreenStdout). */
export function useTerminalSize(source?: NodeJS.WriteStream): TerminalSize {
  const { stdout: inkStdout } = useStdout();
  const stdout = source ?? inkStdout;
  const read = (): TerminalSize => ({
    columns: stdout.columns || DEFAULT_SIZE.columns,
    rows: stdout.rows || DEFAULT_SIZE.rows,
  });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
    // read() only closes over stdout
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stdout]);
  return size;
}
