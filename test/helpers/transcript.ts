import assert from 'node:assert/strict';
import fs from 'node:fs';
import { renderTable } from '../../src/render/table.js';

/** Where transcripts are checked in. */
export const TRANSCRIPTS = new URL('../transcripts/', import.meta.url);

/** With UPDATE_TRANSCRIPTS=1 (`npm run transcripts`, docs/testing.md) they are rewritten, not compared. */
export const UPDATE = process.env.UPDATE_TRANSCRIPTS === '1';

/** One command as a user typed it, what it printed and how it exited. */
export interface TranscriptEntry {
  /** The line as typed after `$ `: `egressctl ARGS`, with the step's `| grep` when it has one. */
  command: string;
  /** What the whole line printed on stdout (after its grep). */
  stdout: string;
  stderr: string;
  code: number | null;
}

const N = '<n>';
/** Stat table columns whose values count traffic, so depend on how many ticks fell in the window. */
const COUNTED = new Set(['RATE', 'REQ/CONN', 'DENIED']);

/**
 * Replaces what varies from run to run in the guide's output with `<n>`, and nothing else:
 * - `egress stat`: the measured window (`Egress over the last 2.013s`), and the RATE, REQ/CONN and
 *   DENIED cells other than `0`. The table is laid out again with the CLI's own renderTable, since the
 *   width of a counted column depends on its values. Which rows exist, their verdicts, SUCCESS (each
 *   simulated destination gets one verdict at a time) and the latency percentiles (the simulated
 *   latencies never leave one histogram bucket) are exact.
 * - `proxy-metrics`: every sample value other than `0`. Which series exist, their labels in the
 *   proxy's order, and which of them are still zero are exact; how far a counter has counted is timing.
 * The sandbox gives nothing else that varies (no ports, paths, ages or timestamps reach these outputs).
 */
export function normaliseOutput(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^NETWORK {3,}PORT {3,}PROTO /.test(line)) {
      const end = lines.findIndex((l, j) => j > i && l === '');
      const rows = lines.slice(i, end === -1 ? lines.length : end);
      out.push(...normaliseStatTable(rows));
      i += rows.length - 1;
      continue;
    }
    out.push(
      line
        .replace(/^(Egress over the last )\d+(?:\.\d+)?s( across )/, `$1${N}s$2`)
        .replace(
          /^([a-zA-Z_:][\w:]*(?:\{.*\})?) ([-+]?(?:\d[\d.eE+-]*|NaN|Inf))$/,
          (all, series: string, value: string) =>
            all.startsWith('#') || /^0(?:\.0)?$/.test(value) ? all : `${series} ${N}`,
        ),
    );
  }
  return out.join('\n');
}

/** Cuts each row at the header's column starts (cells are left-aligned and never hold spaces). */
function normaliseStatTable(lines: string[]): string[] {
  const header = lines[0] ?? '';
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
  const names = [...header.matchAll(/\S+/g)].map((m) => m[0]);
  const cells = (l: string) => starts.map((s, k) => l.slice(s, starts[k + 1]).trim());
  const rows = lines.slice(1).map((l) =>
    cells(l).map((c, k) => {
      if (!COUNTED.has(names[k] ?? '') || c === '0') return c;
      return c.endsWith('/s') ? `${N}/s` : N;
    }),
  );
  return renderTable(names, rows).trimEnd().split('\n');
}

/**
 * A step's transcript, as attw's test/snapshots/*.md: per command the line as typed, its stdout then
 * its stderr (normalised), and `Exit code: N`.
 */
export function renderTranscript(title: string, entries: TranscriptEntry[]): string {
  const blocks = entries.map((e) => {
    const output = normaliseOutput(`${e.stdout}${e.stderr}`).trimEnd();
    return `\`\`\`\n$ ${e.command}\n${output}\n\`\`\`\n\nExit code: ${e.code}\n`;
  });
  return `# ${title}\n\n${blocks.join('\n')}`;
}

/** Compares `text` with the checked-in transcript `name` (or writes it, with UPDATE_TRANSCRIPTS=1). */
export function assertTranscript(name: string, text: string): void {
  const file = new URL(name, TRANSCRIPTS);
  if (UPDATE) {
    fs.mkdirSync(TRANSCRIPTS, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  assert.ok(
    fs.existsSync(file),
    `test/transcripts/${name} is missing: run npm run transcripts and review it`,
  );
  assert.equal(
    text,
    fs.readFileSync(file, 'utf8'),
    `test/transcripts/${name} differs: if the change is intended, run npm run transcripts and review the diff`,
  );
}
