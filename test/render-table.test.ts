import { test } from 'node:test';
import assert from 'node:assert/strict';
import Table from 'cli-table3';
import fc from 'fast-check';
import { renderTable } from '../src/render/table.js';

/** The table as cli-table3 lays it out with renderTable's options: what the ASCII path must equal. */
function viaCliTable3(headers: string[], rows: string[][], o: { headers?: boolean } = {}): string {
  const none = Object.fromEntries(
    ['top', 'top-mid', 'top-left', 'top-right', 'bottom', 'bottom-mid', 'bottom-left', 'bottom-right']
      .concat(['left', 'left-mid', 'mid', 'mid-mid', 'right', 'right-mid'])
      .map((k) => [k, '']),
  );
  const t = new Table({
    head: o.headers === false ? [] : headers,
    chars: { ...none, middle: '   ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  t.push(...rows);
  return `${t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')}\n`;
}

test('renderTable: kubectl layout, colour codes take no width, an empty column is one wide, no trailing blanks', () => {
  const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
  assert.equal(
    renderTable(
      ['NAME', 'VERDICT', 'NOTE'],
      [
        ['a', red('denied'), ''],
        ['longer-name', 'allowed', ''],
      ],
    ),
    `NAME          VERDICT   NOTE\na             ${red('denied')}\nlonger-name   allowed\n`,
  );
  assert.equal(renderTable(['A', 'B'], [['', 'x']], { headers: false }), '    x\n');
});

test('renderTable lays out ASCII tables exactly as cli-table3 does', () => {
  const cell = fc.oneof(
    fc.constantFrom('', ' ', '*', '-', '100.0%', '\x1b[31mdenied\x1b[39m', 'egress-test/all-egress-traffic'),
    fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '/', '-'), maxLength: 12 }),
  );
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 6 })
        .chain((cols) =>
          fc.tuple(
            fc.array(cell, { minLength: cols, maxLength: cols }),
            fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { maxLength: 6 }),
            fc.boolean(),
          ),
        ),
      ([headers, rows, withHeaders]) => {
        const o = { headers: withHeaders };
        assert.equal(renderTable(headers, rows, o), viaCliTable3(headers, rows, o));
      },
    ),
    { numRuns: 500 },
  );
});
