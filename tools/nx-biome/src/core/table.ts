import Table from 'cli-table3';

/** The widest a table may print: a terminal of 120 columns shows it without wrapping lines. */
export const MAX_TABLE_WIDTH = 120;

/** Columns are never squeezed below this (padding included), so a header stays readable. */
const MIN_COLUMN_WIDTH = 8;

function longestLine(text: string): number {
  return Math.max(0, ...text.split('\n').map((l) => [...l].length));
}

/**
 * Column widths (padding included) that fit `maxWidth` with the borders:
 * the natural widths when they fit, else the widest columns narrowed first.
 * Undefined when the natural widths fit.
 */
export function fitColumnWidths(cells: string[][], maxWidth: number): number[] | undefined {
  const columns = cells[0]?.length ?? 0;
  const natural = Array.from(
    { length: columns },
    (_, i) => Math.max(...cells.map((row) => longestLine(row[i] ?? ''))) + 2,
  );
  const budget = maxWidth - (columns + 1);
  const widths = [...natural];
  let total = widths.reduce((a, b) => a + b, 0);
  if (total <= budget) return undefined;
  while (total > budget) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest] <= MIN_COLUMN_WIDTH) break;
    widths[widest]--;
    total--;
  }
  return widths;
}

/**
 * A plain box table (no colours, so logs and tests read the same) at most
 * `maxWidth` columns wide: wide cells wrap at word boundaries, and a single
 * word longer than its column (a URL, a hash) is cut with "…". Callers that
 * may cut something offer the full detail elsewhere (`--json`).
 */
export function renderTable(head: string[], rows: (string | number)[][], maxWidth = MAX_TABLE_WIDTH): string {
  const cells = [head, ...rows.map((row) => row.map(String))];
  const colWidths = fitColumnWidths(cells, maxWidth);
  const table = new Table({
    head,
    style: { head: [], border: [], compact: true },
    ...(colWidths ? { colWidths, wordWrap: true, wrapOnWordBoundary: true } : {}),
  });
  for (const row of cells.slice(1)) table.push(row);
  return table.toString();
}
