// The Markdown the reports are written in: their tables and the cells of a figure's spread.
import { formatValue } from './chart.js';
import type { Spread } from './stats.js';

// A figure as the median in bold and the smallest and largest value beside it.
export const cell = (figure: Spread | undefined, digits: number) =>
  figure === undefined || !Number.isFinite(figure.median)
    ? 'n/a'
    : `**${formatValue(figure.median, digits)}** (${formatValue(figure.min, digits)}–${formatValue(figure.max, digits)})`;

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
