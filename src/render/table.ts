import Table from 'cli-table3';

/**
 * A kubectl-style table: upper-case headers, no borders, columns separated by three spaces. Cell text may
 * carry ANSI colour (cli-table3 measures it correctly).
 */
export function renderTable(headers: string[], rows: string[][], o: { headers?: boolean } = {}): string {
  const lines = o.headers === false ? rows : [headers, ...rows];
  const cols = lines[0]?.length ?? 0;
  if (cols > 0 && lines.every((r) => r.length === cols && r.every(isPlainAscii))) return renderAscii(lines);
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

/**
 * Printable ASCII and colour codes only: each character is one column, so the table is laid out here.
 * cli-table3 measures every cell with string-width's emoji regular expression, several times a cell:
 * 45-140 ms for a dozen rows, more than `egress stat` spends on a pod's whole scrape. Anything else
 * (wide or combining characters, tabs, line breaks, ragged or empty tables) goes to cli-table3.
 */
function isPlainAscii(cell: string): boolean {
  const s = cell.includes('\x1b') ? cell.replace(ANSI, '') : cell;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126) return false;
  }
  return true;
}

/** cli-table3's layout for `renderTable`'s options: cells padded to their column, three spaces apart. */
function renderAscii(lines: string[][]): string {
  const widths: number[] = [];
  // A column is at least one wide, as in cli-table3, even when all its cells are empty.
  for (const r of lines) r.forEach((cell, k) => (widths[k] = Math.max(widths[k] ?? 1, cellWidth(cell))));
  let out = '';
  for (const r of lines) {
    const line = widths.map((w, k) => {
      const cell = r[k] ?? '';
      return cell + ' '.repeat(w - cellWidth(cell));
    });
    out += `${line.join(' '.repeat(COLUMN_GAP)).trimEnd()}\n`;
  }
  return out;
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
