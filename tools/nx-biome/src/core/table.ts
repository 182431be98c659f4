import Table from 'cli-table3';

/** A plain box table (no colours, so logs and tests read the same). */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  const table = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}
