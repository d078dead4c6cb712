import Table from 'cli-table3';

/**
 * A kubectl-style table: upper-case headers, no borders, columns separated by three spaces. Cell text may
 * carry ANSI colour (cli-table3 measures it correctly).
 */
export function renderTable(headers: string[], rows: string[][], o: { headers?: boolean } = {}): string {
  const t = new Table({
    // kubectl's --no-headers: the rows alone.
    head: o.headers === false ? [] : headers,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  t.push(...rows);
  return `${t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')}\n`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** The width a cell takes on screen (colour codes take none). */
export const cellWidth = (s: string): number => [...s.replace(ANSI, '')].length;

/** Cuts plain text to `width`, ending with `…` when cut. */
export const narrow = (s: string, width: number): string => {
  const chars = [...s];
  return chars.length <= width ? s : `${chars.slice(0, Math.max(1, width - 1)).join('')}…`;
};

/** The separator `renderTable` puts between columns. */
export const COLUMN_GAP = 3;
