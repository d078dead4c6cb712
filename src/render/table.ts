import Table from 'cli-table3';

/**
 * A kubectl-style table: upper-case headers, no borders, columns separated by three spaces. Cell text may
 * carry ANSI colour (cli-table3 measures it correctly).
 */
export function renderTable(headers: string[], rows: string[][]): string {
  const t = new Table({
    head: headers,
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
