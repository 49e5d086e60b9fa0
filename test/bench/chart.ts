import { CONTENDER_LABELS, type ContenderName } from './contenders.js';
import { RATIO_FLOORS } from './floors.js';
import { getReportedMedian, isPassFigure } from './pass-ratios.js';
import { getMetric, summarize, type Results } from './results.js';
import type { Spread } from './stats.js';

/** The figures the chart shows, one panel each. */
export const CHART_METRICS = [
  'rps1',
  'rps32',
  'p50_1',
  'p99_1',
  'wsP50',
  'wsRate',
  'download',
  'idleRss',
  'kbPerWs',
] as const;

const COLORS: Record<ContenderName, string> = {
  direct: '#8c8c8c',
  nginx: '#2f9e44',
  bare: '#adb5bd',
  httpProxy: '#f59f00',
  adapter: '#1c7ed6',
  serve: '#7048e8',
};

const PANEL = { width: 320, height: 200, label: 92, bar: 16, gap: 7, top: 34 };
const COLUMNS = 3;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function formatValue(value: number, digits: number): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

// Where the adapter's floor lies on a panel: a value of this run (serve's are looser). A request
// floor is drawn from the reference's median in the back-to-back passes, which the floor is
// checked against, when the run has them.
function getFloor(results: Results, key: string): { value: number; label: string } | undefined {
  const floor = RATIO_FLOORS.adapter.find((candidate) => candidate.key === key);
  if (floor !== undefined) {
    const reference = getReportedMedian(results, floor.reference, key);
    if (reference === undefined) return undefined;
    const bound = floor.kind === 'min' ? `${Math.round(floor.bound * 100)}% of` : `${floor.bound}×`;
    const inPasses = isPassFigure(key) && (results.paired ?? []).length > 0 ? ' in the passes' : '';
    return {
      value: floor.bound * reference,
      label: `adapter's floor: ${bound} ${CONTENDER_LABELS[floor.reference]}${inPasses}`,
    };
  }
  if (key === 'kbPerWs') return { value: 30, label: 'floor: 30 KB' };
  if (key === 'idleRss') return { value: 60, label: "floor (serve's): 60 MB" };
  return undefined;
}

// One panel: a bar per contender at its median, a whisker from the smallest to the largest
// repeat, the median written after the bar.
function renderPanel(results: Results, key: string, x: number, y: number): string {
  const metric = getMetric(key);
  const figures = results.contenders.map((name) => ({
    name,
    figure: summarize(results, name, key),
  }));
  const floor = getFloor(results, key);
  const scaleMax =
    Math.max(floor?.value ?? 0, ...figures.map(({ figure }) => figure?.max ?? 0)) || 1;
  const barWidth = PANEL.width - PANEL.label - 70;
  const parts = [
    `<text x="${x}" y="${y + 14}" class="title">${escapeXml(metric.label)}</text>`,
    `<text x="${x}" y="${y + 27}" class="note">${escapeXml(`${metric.unit}, ${metric.better} is better`)}</text>`,
  ];
  figures.forEach(({ name, figure }, index) => {
    const rowY = y + PANEL.top + index * (PANEL.bar + PANEL.gap);
    const barX = x + PANEL.label;
    parts.push(
      `<text x="${barX - 6}" y="${rowY + 12}" class="name">${CONTENDER_LABELS[name]}</text>`,
    );
    if (figure === undefined) {
      parts.push(`<text x="${barX}" y="${rowY + 12}" class="note">n/a</text>`);
      return;
    }
    const scale = (value: number) => (value / scaleMax) * barWidth;
    parts.push(
      `<rect x="${barX}" y="${rowY}" width="${scale(figure.median).toFixed(1)}" height="${PANEL.bar}" fill="${COLORS[name]}"/>`,
      renderWhisker(figure, barX, rowY, scale),
      `<text x="${(barX + scale(figure.max) + 5).toFixed(1)}" y="${rowY + 12}" class="value">${formatValue(figure.median, metric.digits)}</text>`,
    );
  });
  if (floor !== undefined) {
    const floorX = (x + PANEL.label + (floor.value / scaleMax) * barWidth).toFixed(1);
    const top = y + PANEL.top - 4;
    const bottom = y + PANEL.top + figures.length * (PANEL.bar + PANEL.gap);
    parts.push(
      `<path d="M${floorX} ${top}V${bottom}" class="floor"/>`,
      `<text x="${floorX}" y="${bottom + 10}" class="floor-label">${escapeXml(floor.label)}</text>`,
    );
  }
  return parts.join('\n');
}

function renderWhisker(
  figure: Spread,
  barX: number,
  rowY: number,
  scale: (value: number) => number,
): string {
  const middle = rowY + PANEL.bar / 2;
  const from = (barX + scale(figure.min)).toFixed(1);
  const to = (barX + scale(figure.max)).toFixed(1);
  return `<path d="M${from} ${middle - 4}v8M${from} ${middle}H${to}M${to} ${middle - 4}v8" class="whisker"/>`;
}

// The comparison as an SVG image, drawn from the results alone (no chart library).
export function renderChart(results: Results): string {
  const rows = Math.ceil(CHART_METRICS.length / COLUMNS);
  const width = COLUMNS * PANEL.width + 20;
  const height = rows * PANEL.height + 60;
  const panels = CHART_METRICS.map((key, index) =>
    renderPanel(
      results,
      key,
      10 + (index % COLUMNS) * PANEL.width,
      50 + Math.floor(index / COLUMNS) * PANEL.height,
    ),
  );
  const title = `rsession-proxy against nginx and direct: medians of ${results.settings.repeats} rounds, whiskers from min to max, the issue's floors dashed`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
.title { font-size: 12px; font-weight: 600; fill: #212529; }
.note { font-size: 10px; fill: #868e96; }
.name { font-size: 11px; fill: #495057; text-anchor: end; }
.value { font-size: 11px; fill: #212529; }
.whisker { stroke: #212529; stroke-width: 1; fill: none; }
.floor { stroke: #e03131; stroke-width: 1.5; stroke-dasharray: 4 3; fill: none; }
.floor-label { font-size: 10px; fill: #e03131; text-anchor: middle; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="24" class="title" style="font-size: 14px">${escapeXml(title)}</text>
<text x="10" y="40" class="note">${escapeXml(`${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}, nginx ${results.machine.nginx ?? '-'}; ${results.generatedAt.slice(0, 10)}`)}</text>
${panels.join('\n')}
</svg>
`;
}
